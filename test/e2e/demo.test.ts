import { describe, expect, it } from 'vitest';
import { createFleet } from './harness.js';

describe('demo', () => {
  it('starts the stub fleet, restarts one agent, stops it; a second run and a second stop say what they found', async () => {
    const fleet = createFleet();
    try {
      const first = await fleet.mosaic(['demo']);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/alpha: started/);
      expect(first.stdout).toMatch(/beta: pane pid \d+ -> \d+ \(restarted\)/);
      const again = await fleet.mosaic(['demo']);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/ {3}alpha: already running\n/);
      const stop = await fleet.mosaic(['demo', '--stop']);
      expect(stop.status, stop.stderr).toBe(0);
      expect(stop.stdout).toBe('alpha: stopped\nbeta: stopped\ngamma: stopped\n');
      const stopAgain = await fleet.mosaic(['demo', '--stop']);
      expect(stopAgain.status, stopAgain.stderr).toBe(0);
      expect(stopAgain.stdout).toBe('alpha: not running\nbeta: not running\ngamma: not running\n');
    } finally {
      await fleet.mosaic(['demo', '--stop']); // the demo's own socket: the harness knows only the fleet's
    }
  }, 60_000);
});
