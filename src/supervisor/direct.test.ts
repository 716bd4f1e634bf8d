import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandError } from '../core/errors.js';
import { localHost } from '../host/local.js';
import { parseRoster } from '../roster/load.js';
import { resolveFleetPaths } from '../roster/paths.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import type { CommandRunner, RunResult } from '../system/runner.js';
import { DirectSupervisor } from './direct.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The built-in supervisor against a scripted tmux server holding every agent's session and the holder's. */
function world(agentCount: number, failingCall?: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-direct-unit-'));
  dirs.push(dir);
  const env = { HOME: dir, PATH: '/nonexistent', MOSAIC_FLEET_HOME: path.join(dir, 'home') };
  const agents = Array.from({ length: agentCount }, (_, i) => `  - {name: a${i}, runtime: stub}\n`).join('');
  const roster = parseRoster(
    `version: 1\ntransport: tmux\ntmux:\n  socket_name: unit\ndefaults:\n  working_directory: ${dir}\nagents:\n${agents}`,
    path.join(dir, 'home', 'roster.yaml'),
    { env, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 't' },
  );
  const sessions = new Set([roster.holderSession, ...roster.agents.map((agent) => agent.session)]);
  const kills: string[][] = [];
  const ok = (argv: readonly string[], stdout = ''): RunResult => ({ argv, status: 0, signal: null, stdout, stderr: '', durationMs: 1 });
  const runner: CommandRunner = async (argv) => {
    const args = argv.slice(6); // tmux -u -L unit -f /dev/null
    if (args[0] === 'list-panes') {
      return ok(argv, [...sessions].map((s) => `${s}\t${s}\t%1\t100\t0\t\t\t\t0\tsh\t0`).join('\n'));
    }
    if (args[0] === 'kill-session') {
      kills.push(args.filter((arg) => arg.startsWith('=')));
      if (kills.length === failingCall) throw new CommandError(argv, 1, null, 'server busy', 1);
      for (const target of kills.at(-1)!) sessions.delete(target.slice(1));
      return ok(argv);
    }
    return ok(argv);
  };
  const host = localHost({ env, runner, now: () => 1_000 });
  const supervisor = new DirectSupervisor({ host, roster, paths: resolveFleetPaths(env), tmux: host.tmux('unit') });
  return { supervisor, roster, sessions, kills };
}

describe('DirectSupervisor.stop', () => {
  it('kills the sessions 100 per tmux call, then the holder', async () => {
    const w = world(250);
    const outcomes = await w.supervisor.stop(w.roster.agents);
    expect(outcomes.every((outcome) => outcome.result === 'stopped')).toBe(true);
    expect(w.kills.map((call) => call.length)).toEqual([100, 100, 50, 1]);
    expect(w.kills.slice(0, 3).flat()).toEqual(w.roster.agents.map((agent) => `=${agent.session}`));
    expect(w.kills.at(-1)).toEqual([`=${w.roster.holderSession}`]);
    expect(w.sessions.size).toBe(0);
  });

  it('goes on after a failed call, reports the sessions still running, and keeps the holder', async () => {
    const w = world(250, 2);
    const outcomes = await w.supervisor.stop(w.roster.agents);
    expect(w.kills.map((call) => call.length)).toEqual([100, 100, 50]);
    const failed = outcomes.filter((outcome) => outcome.result === 'error');
    expect(failed.map((outcome) => outcome.agent)).toEqual(w.roster.agents.slice(100, 200).map((agent) => agent.name));
    expect(failed[0]).toMatchObject({ error: expect.stringContaining('still running after kill-session') });
    expect(outcomes.filter((outcome) => outcome.result === 'stopped')).toHaveLength(150);
    expect(w.sessions.has(w.roster.holderSession)).toBe(true);
  });
});
