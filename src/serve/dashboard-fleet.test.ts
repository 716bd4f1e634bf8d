import { describe, expect, it } from 'vitest';
import type { FleetContext } from '../context/context.js';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { DashboardFleet } from './dashboard-fleet.js';

const roster = parseRoster(
  `version: 1
transport: tmux
hosts:
  gpu1: {ssh: alice@gpu1.lan}
agents:
  - {name: here1, runtime: stub, working_directory: /tmp}
  - {name: far1, runtime: stub, host: gpu1, working_directory: /srv}
`,
  '/r/roster.yaml',
  { env: { HOME: '/home/u' }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 'u', localHost: 'box' },
);
const fleet = new DashboardFleet(async () => ({ roster }) as unknown as FleetContext, undefined);

describe('DashboardFleet: an agent another host runs', () => {
  it('is 404 saying where it runs (it was "no agent in roster"), by plain or host/ name', async () => {
    for (const name of ['far1', 'gpu1/far1']) {
      await expect(fleet.paneOf(name)).rejects.toMatchObject({
        status: 404,
        message: 'agent "far1" runs on host "gpu1": this dashboard serves this machine\'s agents only',
        hint: 'run `mosaic fleet serve` on gpu1, or `mosaic agent send gpu1/far1` from here',
      });
    }
    await expect(fleet.paneOf('nobody')).rejects.toMatchObject({ status: 404, message: 'no agent "nobody" in roster /r/roster.yaml' });
    expect(await fleet.paneOf('here1')).toEqual({ session: 'here1', agent: 'here1' });
  });
});
