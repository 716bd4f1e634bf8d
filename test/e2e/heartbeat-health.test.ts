import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, roster, type TestFleet } from './harness.js';

interface PsRow {
  agent: string;
  state: string;
  pane: string;
  heartbeat: { health: string; age_seconds: number | null; status: string | null; pid: number | null };
}

interface StatusRow {
  agent: string;
  state: string;
  heartbeat: { health: string; age_seconds: number | null; status: string | null };
}

const psRows = async (fleet: TestFleet): Promise<Record<string, PsRow>> =>
  Object.fromEntries((await fleet.json<PsRow[]>(['fleet', 'ps'])).map((row) => [row.agent, row]));

describe('heartbeat health on real tmux', () => {
  it('is the same in fleet ps, fleet status and agent status for a stopped agent whose beat file is left behind', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: alpha, runtime: stub}\n  - {name: beta, runtime: stub}\n',
        'supervisor: builtin\n',
      ),
    );
    const started = await fleet.mosaic(['fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);
    await eventually(
      async () => {
        const rows = await psRows(fleet);
        return rows.alpha!.heartbeat.health === 'healthy' && rows.beta!.heartbeat.health === 'healthy' ? rows : undefined;
      },
      15_000,
      'both agents to beat',
    );

    const stopped = await fleet.mosaic(['fleet', 'stop', 'alpha']);
    expect(stopped.status, stopped.stderr).toBe(0);
    // The case at issue: no session, but the last beat is still on disk.
    expect(existsSync(path.join(fleet.home, 'run', 'alpha.hb'))).toBe(true);

    const ps = await psRows(fleet);
    const status = Object.fromEntries((await fleet.json<StatusRow[]>(['fleet', 'status'])).map((row) => [row.agent, row]));
    const one = await fleet.json<StatusRow>(['agent', 'status', 'alpha']);

    expect(ps.alpha).toMatchObject({ state: 'stopped', pane: 'missing' });
    expect(status.alpha!.state).toBe('stopped');
    // One rule: a beat that nothing writes any more is stale, with its age; `unknown` is for no beat at all.
    expect(ps.alpha!.heartbeat.health).toBe('stale');
    expect(status.alpha!.heartbeat.health).toBe(ps.alpha!.heartbeat.health);
    expect(one.heartbeat.health).toBe(ps.alpha!.heartbeat.health);
    expect(ps.alpha!.heartbeat.age_seconds).not.toBeNull();
    expect(status.alpha!.heartbeat.age_seconds).not.toBeNull();
    // The running agent reads the same in both too.
    expect(status.beta!.heartbeat.health).toBe(ps.beta!.heartbeat.health);

    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  });
});
