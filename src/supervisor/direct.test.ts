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
import { DirectSupervisor, startReviving } from './direct.js';
import type { AgentOutcome } from './types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A roster of `agentCount` stub agents (a0, a1, …) on socket "unit", in a temp dir removed after the test. */
function stubFleet(agentCount: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-direct-unit-'));
  dirs.push(dir);
  const env = { HOME: dir, PATH: '/nonexistent', MOSAIC_FLEET_HOME: path.join(dir, 'home') };
  const agents = Array.from({ length: agentCount }, (_, i) => `  - {name: a${i}, runtime: stub}\n`).join('');
  const roster = parseRoster(
    `version: 1\ntransport: tmux\ntmux:\n  socket_name: unit\ndefaults:\n  working_directory: ${dir}\nagents:\n${agents}`,
    path.join(dir, 'home', 'roster.yaml'),
    { env, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 't' },
  );
  return { env, roster };
}

/** The built-in supervisor against a scripted tmux server holding every agent's session and the holder's. */
function world(agentCount: number, failingCall?: number) {
  const { env, roster } = stubFleet(agentCount);
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

/**
 * The built-in supervisor's start against a scripted tmux server that keeps tmux's rule for command lists:
 * the commands run in order and the list ends at the first that fails. `taken` are sessions someone else
 * makes between mosaic's listing and its call (without mosaic's mark); `answerless` is a session whose
 * creation never comes back (a timeout). `othersStart` are sessions a concurrent mosaic start makes (marked
 * as their agent, or as the holder) between mosaic's listing and its calls.
 */
function startWorld(agentCount: number, options: { taken?: string[]; answerless?: string; othersStart?: string[] } = {}) {
  const { env, roster } = stubFleet(agentCount);
  const marks = new Map<string, string>(); // session -> @mosaic_agent ('' without the mark)
  const calls: string[][] = [];
  let listed = false;
  const ok = (argv: readonly string[], stdout = ''): RunResult => ({ argv, status: 0, signal: null, stdout, stderr: '', durationMs: 1 });
  const runner: CommandRunner = async (argv, runOptions) => {
    const args = argv.slice(6); // tmux -u -L unit -f /dev/null
    if (args[0] === 'list-panes') {
      // The first listing is mosaic's look before it starts anything; the sessions of others appear after it.
      if (!listed) listed = true;
      else for (const session of options.taken ?? []) if (!marks.has(session)) marks.set(session, '');
      return ok(argv, [...marks].map(([s, mark]) => `${s}\t${mark}\t%1\t100\t0\t\t\t\t0\tsh\t1`).join('\n'));
    }
    calls.push([...args]);
    const commands: string[][] = [[]];
    for (const arg of args) {
      if (arg === ';') commands.push([]);
      else commands.at(-1)!.push(arg);
    }
    // As tmux: what the commands before a failed one printed (new-session -P) is output too; a failure throws
    // unless the caller allows it (then its status says it).
    let stdout = '';
    const failure = (status: number | null, signal: string | null, stderr: string, durationMs: number): RunResult => {
      if (!runOptions?.allowFailure) throw new CommandError(argv, status, signal, stderr, durationMs);
      return { argv, status, signal, stdout, stderr, durationMs };
    };
    for (const session of options.othersStart ?? []) if (!marks.has(session)) marks.set(session, session);
    for (const command of commands) {
      if (command[0] === 'new-session') {
        const session = command[command.indexOf('-s') + 1]!;
        if (session === options.answerless) return failure(null, 'SIGTERM', 'timed out after 120 s and was killed', 120_000);
        for (const other of options.taken ?? []) if (listed && !marks.has(other)) marks.set(other, '');
        if (marks.has(session)) return failure(1, null, `duplicate session: ${session}`, 1);
        marks.set(session, '');
        if (command.includes('-P')) stdout += `${session}\n`;
      } else if (command[0] === 'set-option' && command[3] === '@mosaic_agent') {
        marks.set(command[2]!.replace(/^=/, '').replace(/:$/, ''), command[4]!);
      }
    }
    return ok(argv, stdout);
  };
  const host = localHost({ env, runner, now: () => 1_000 });
  const supervisor = new DirectSupervisor({ host, roster, paths: resolveFleetPaths(env), tmux: host.tmux('unit') });
  /** The sessions each call asked for, in order (the arguments after `new-session … -s`). */
  const newSessions = () =>
    calls.map((call) => call.filter((arg, i) => call[i - 1] === '-s' && call.lastIndexOf('new-session', i) > call.lastIndexOf(';', i)));
  return { supervisor, roster, marks, newSessions };
}

describe('DirectSupervisor.start', () => {
  it('starts every agent with a few calls: the server set-up, then the sessions', async () => {
    const w = startWorld(120);
    const outcomes = await w.supervisor.start(w.roster.agents);
    expect(outcomes.every((outcome) => outcome.result === 'started')).toBe(true);
    const calls = w.newSessions();
    expect(calls[0]).toEqual([w.roster.holderSession]);
    expect(calls.slice(1).flat()).toEqual(w.roster.agents.map((agent) => agent.session));
    expect(calls.length).toBeLessThan(12);
    for (const agent of w.roster.agents) expect(w.marks.get(agent.session)).toBe(agent.name);
  });

  it('a session someone else made meanwhile fails only its agent: the rest of its call and the calls after it still start', async () => {
    const w = startWorld(120, { taken: ['a7'] });
    const outcomes = await w.supervisor.start(w.roster.agents);
    const failed = outcomes.filter((outcome) => outcome.result === 'error');
    expect(failed).toEqual([
      expect.objectContaining({
        agent: 'a7',
        error: expect.stringContaining('session "a7" on socket unit was made meanwhile, not by mosaic'),
      }),
    ]);
    expect(outcomes.filter((outcome) => outcome.result === 'started')).toHaveLength(119);
    expect(w.marks.get('a7')).toBe(''); // left alone
    // a8 … a49 were cut off with a7's call, then made one by one; a50 on go in batches again.
    expect(w.newSessions().filter((call) => call.length === 1 && call[0] === 'a8')).toHaveLength(1);
    expect(w.newSessions().some((call) => call.includes('a50') && call.length > 1)).toBe(true);
  });

  it('sessions a concurrent start made meanwhile (the holder too) are already running, not started by this one', async () => {
    const w = startWorld(120, { othersStart: ['_holder', 'a3', 'a70'] });
    const outcomes = await w.supervisor.start(w.roster.agents);
    const byResult = (result: string) => outcomes.filter((outcome) => outcome.result === result).map((outcome) => outcome.agent);
    expect(byResult('already-running')).toEqual(['a3', 'a70']);
    expect(byResult('started')).toHaveLength(118);
    expect(byResult('error')).toEqual([]);
  });

  it('a call tmux does not answer ends the start: the agents after it report that error, none is called a success', async () => {
    const w = startWorld(120, { answerless: 'a60' });
    const outcomes = await w.supervisor.start(w.roster.agents);
    const byResult = (result: string) => outcomes.filter((outcome) => outcome.result === result).map((outcome) => outcome.agent);
    expect(byResult('started')).toEqual(w.roster.agents.slice(0, 60).map((agent) => agent.name));
    expect(byResult('error')).toEqual(w.roster.agents.slice(60).map((agent) => agent.name));
    expect(outcomes.find((outcome) => outcome.agent === 'a60')).toMatchObject({ error: expect.stringContaining('timed out') });
    // Nothing after the unanswered call was tried: no call for a61 on its own, no batch beyond a60's chunk.
    expect(w.newSessions().flat()).not.toContain('a100');
  });
});

describe('startReviving', () => {
  it('a restart of the down agents that throws fails those agents; the others keep the outcome of their start', async () => {
    const agents = stubFleet(3).roster.agents;
    const outcomes = await startReviving(
      agents,
      new Set(['a1']),
      async (rest) => rest.map((agent): AgentOutcome => ({ agent: agent.name, result: 'started' })),
      async () => {
        throw new Error('no systemd user manager is reachable');
      },
    );
    expect(outcomes).toEqual([
      { agent: 'a0', result: 'started' },
      { agent: 'a1', result: 'error', error: 'no systemd user manager is reachable' },
      { agent: 'a2', result: 'started' },
    ]);
  });
});
