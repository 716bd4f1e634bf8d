import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveFleetPaths, rosterStateDir } from './paths.js';

describe('per-roster state directories', () => {
  const env = { HOME: '/home/u', MOSAIC_FLEET_HOME: '/cfg' };

  it('the default roster keeps <root>/run, logs and agents, as before', () => {
    for (const paths of [
      resolveFleetPaths(env),
      resolveFleetPaths(env, '/cfg/roster.yaml'),
      resolveFleetPaths(env, '/cfg/./roster.yaml'),
    ]) {
      expect(paths).toEqual({
        root: '/cfg',
        roster: '/cfg/roster.yaml',
        stateDir: '/cfg',
        runDir: '/cfg/run',
        logsDir: '/cfg/logs',
        agentsDir: '/cfg/agents',
        worktreesDir: '/cfg/worktrees',
      });
    }
  });

  it('another roster file gets its own subtree, named after it and a hash of its absolute path', () => {
    const paths = resolveFleetPaths(env, '/work/team/usc.yaml');
    expect(paths.root).toBe('/cfg');
    expect(paths.stateDir).toMatch(/^\/cfg\/rosters\/usc-[0-9a-f]{10}$/);
    expect(paths.runDir).toBe(path.join(paths.stateDir, 'run'));
    expect(paths.logsDir).toBe(path.join(paths.stateDir, 'logs'));
    expect(paths.agentsDir).toBe(path.join(paths.stateDir, 'agents'));
    // Stable for the same file, however it is named on the command line.
    expect(resolveFleetPaths({ ...env, PWD: '/x' }, '/work/team/../team/usc.yaml').stateDir).toBe(paths.stateDir);
  });

  it('two rosters sharing one config root never share a directory (same file name, other folder too)', () => {
    const dirs = ['/a/roster.yaml', '/b/roster.yaml', '/a/other.yaml', '/cfg/roster.yaml', '/cfg/rosters/x.yml'].map((file) =>
      rosterStateDir('/cfg', file),
    );
    expect(new Set(dirs).size).toBe(dirs.length);
    expect(rosterStateDir('/cfg', '/a/we ird$name.yaml')).toMatch(/^\/cfg\/rosters\/we_ird_name-[0-9a-f]{10}$/);
    expect(rosterStateDir('/cfg', '/a/..yaml')).toMatch(/^\/cfg\/rosters\/roster-[0-9a-f]{10}$/);
  });
});
