import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRoster } from '../roster/load.js';
import { resolveFleetPaths } from '../roster/paths.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { checkUnitFiles } from './inspect.js';
import { systemdSetup, unitContext } from './setup.js';
import type { CommandRunner, RunResult } from '../system/runner.js';
import { localHost } from '../host/local.js';
import { SystemdSupervisor } from './supervisor.js';
import { CommandError } from '../core/errors.js';

/**
 * The supervisor against a scripted systemctl and tmux: what matters here is how many
 * external calls it makes and with which units (the real manager is exercised in
 * test/e2e/systemd.test.ts).
 */
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function world(agentCount: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-sd-unit-'));
  dirs.push(dir);
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['systemctl', 'tmux', 'sh']) {
    writeFileSync(path.join(bin, tool), '#!/bin/false\n');
    chmodSync(path.join(bin, tool), 0o755);
  }
  const env = { HOME: dir, PATH: bin, XDG_CONFIG_HOME: path.join(dir, 'config'), MOSAIC_FLEET_HOME: path.join(dir, 'home') };
  const agents = Array.from({ length: agentCount }, (_, i) => `  - {name: a${i}, runtime: stub}\n`).join('');
  const roster = parseRoster(
    `version: 1\ntransport: tmux\nsupervisor: systemd\ntmux:\n  socket_name: unit\ndefaults:\n  working_directory: ${dir}/work\nagents:\n${agents}`,
    path.join(dir, 'home', 'roster.yaml'),
    { env, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 't' },
  );
  const paths = resolveFleetPaths(env);
  const calls: string[][] = [];
  const active = new Set<string>();
  const sessions = new Set<string>();
  const behaviour = { holderFails: false, respawnFails: false, holderActivating: false };
  const handedOff: string[][] = [];
  const setupForPaths = systemdSetup({ env, runner: async () => ok('') });
  const ok = (stdout: string, status = 0): RunResult => ({ argv: [], status, signal: null, stdout, stderr: '', durationMs: 1 });
  const runner: CommandRunner = async (argv) => {
    calls.push([...argv]);
    const [tool, ...rest] = argv;
    if (tool === 'npm') return ok('', 1);
    if (tool === 'tmux') {
      if (rest.includes('list-panes')) return ok([...sessions].map((s) => `${s}\t${s}\t%1\t100\t0\t\t\t\t0\tsh`).join('\n'));
      if (rest.includes('kill-session')) sessions.delete(rest.at(-1)!.slice(1));
      // As the real runner does for a call that is not allowed to fail.
      if (rest.includes('respawn-pane') && behaviour.respawnFails) throw new CommandError([...argv], 1, null, "can't find pane", 1);
      // The handoff's creation calls: each new-session -P prints its session's name (session = agent here).
      const made = rest.flatMap((arg, i) => (arg === 'new-session' ? [rest[rest.indexOf('-s', i) + 1]!] : []));
      for (const session of made) sessions.add(session);
      return ok(made.map((session) => `${session}\n`).join(''));
    }
    const args = rest.slice(2); // --user --no-pager
    const units = args.slice(args.indexOf('--') + 1);
    // The agents whose unit steps would find a handoff file now (framework/bin/mosaic-systemd-agent).
    if (args[0] === 'start' || args[0] === 'stop' || args[0] === 'restart')
      handedOff.push(
        readdirSync(paths.runDir)
          .filter((name) => name.endsWith('.handoff'))
          .map((name) => name.slice(0, -'.handoff'.length)),
      );
    switch (args[0]) {
      case 'show':
        if (args[1] === '--property=Version') return ok(`Version=252\nUnitPath=/nowhere\n`);
        return ok(
          units
            .map((unit) => {
              const file = unit === setupForPaths.names.holder ? setupForPaths.holderFile : setupForPaths.templateFile;
              return `Id=${unit}\nLoadState=loaded\nActiveState=${active.has(unit) ? 'active' : 'inactive'}\nSubState=x\nFragmentPath=${file}\nNeedDaemonReload=no\nUnitFileState=disabled\nMainPID=0\nControlGroup=\n`;
            })
            .join('\n'),
        );
      case 'start':
      case 'restart':
        if (behaviour.holderFails && units.includes(setupForPaths.names.holder)) return ok('', 1);
        if (units.includes(setupForPaths.names.holder)) behaviour.holderActivating = false;
        for (const unit of units) {
          active.add(unit);
          const agent = /@(.*)\.service$/.exec(unit)?.[1];
          if (agent) sessions.add(agent);
        }
        return ok('');
      case 'stop':
        for (const unit of units) {
          active.delete(unit);
          sessions.delete(/@(.*)\.service$/.exec(unit)?.[1] ?? '');
        }
        return ok('');
      case 'list-units':
        return ok(
          JSON.stringify(
            [...active]
              .filter((u) => units.some((glob) => new RegExp(`^${glob.replace(/[.@]/g, '\\$&').replace(/\*/g, '.*')}$`).test(u)))
              .map((unit) => {
                const activating = behaviour.holderActivating && unit === setupForPaths.names.holder;
                return { unit, load: 'loaded', active: activating ? 'activating' : 'active', sub: activating ? 'auto-restart' : 'exited' };
              }),
          ),
        );
      default:
        return ok('');
    }
  };
  const host = localHost({ env, runner, now: () => 1_000 });
  const deps = { host, roster, paths, tmux: host.tmux('unit') };
  const setup = systemdSetup(host);
  // Install the unit files the way install-systemd renders them.
  for (const check of await checkUnitFiles(setup, await unitContext(setup, roster, paths))) {
    mkdirSync(path.dirname(check.file), { recursive: true });
    writeFileSync(check.file, check.rendered);
  }
  const supervisor = new SystemdSupervisor(deps, setup);
  const systemctlCalls = (verb: string) => calls.filter((c) => c[0] === 'systemctl' && c[3] === verb);
  return { supervisor, roster, paths, setup, calls, systemctlCalls, sessions, active, behaviour, handedOff };
}

describe('SystemdSupervisor', () => {
  it("starts 50 agents: the holder, then their sessions in tmux calls of many, each call's units in one systemctl start", async () => {
    const w = await world(50);
    const outcomes = await w.supervisor.start(w.roster.agents);
    expect(outcomes.every((o) => o.result === 'started')).toBe(true);
    const starts = w.systemctlCalls('start').map((c) => c.slice(5));
    const creations = w.calls.filter((c) => c[0] === 'tmux' && c.includes('new-session'));
    // The holder alone first (overlapped with preparing the agents), then one start per creation call.
    expect(starts[0]).toEqual([w.setup.names.holder]);
    expect(starts.length - 1).toBe(creations.length);
    expect(creations.length).toBeLessThan(10);
    // None of them can start a tmux server: the fleet's is the holder unit's.
    expect(creations.every((c) => c.slice(0, 3).join(' ') === 'tmux -u -N')).toBe(true);
    expect(starts.slice(1).flat()).toEqual(w.roster.agents.map((a) => w.setup.names.agent(a.name)));
    // Each call's units found their handoff files (they adopt the sessions), and none is left after.
    starts.slice(1).forEach((units, call) => {
      const agents = units.map((unit) => /@(.*)\.service$/.exec(unit)![1]!);
      expect(w.handedOff[call + 1]).toEqual(expect.arrayContaining(agents));
    });
    expect(readdirSync(w.paths.runDir).filter((name) => name.endsWith('.handoff'))).toEqual([]);
    expect(w.calls.filter((c) => c[0] === 'systemctl').length).toBeLessThanOrEqual(4 + creations.length);
  });

  it('a holder still activating (waiting out RestartSec after a server crash, say) is started and waited for before any session is made', async () => {
    const w = await world(3);
    w.active.add(w.setup.names.holder);
    w.behaviour.holderActivating = true;
    const outcomes = await w.supervisor.start(w.roster.agents);
    expect(outcomes.map((o) => o.result)).toEqual(['started', 'started', 'started']);
    // A new-session before the holder's server runs would start a server outside the holder unit.
    const holderStart = w.calls.findIndex((c) => c[0] === 'systemctl' && c[3] === 'start' && c.includes(w.setup.names.holder));
    const firstCreation = w.calls.findIndex((c) => c[0] === 'tmux' && c.includes('new-session'));
    expect(holderStart).toBeGreaterThanOrEqual(0);
    expect(firstCreation).toBeGreaterThan(holderStart);
    expect(w.systemctlCalls('stop')).toEqual([]);
  });

  it('a session that outlived its unit is not made again: its unit adopts it, with no handoff file', async () => {
    const w = await world(2);
    w.sessions.add('a1');
    const outcomes = await w.supervisor.start(w.roster.agents);
    expect(outcomes.map((o) => o.result)).toEqual(['started', 'started']);
    const creations = w.calls.filter((c) => c[0] === 'tmux' && c.includes('new-session'));
    expect(creations.map((c) => c.flatMap((arg, i) => (arg === '-s' ? [c[i + 1]] : [])))).toEqual([['a0']]);
    expect(w.systemctlCalls('start').map((c) => c.slice(5))).toEqual([
      [w.setup.names.holder],
      [w.setup.names.agent('a0')],
      [w.setup.names.agent('a1')],
    ]);
    // a0's unit found its handoff file; a1's had none (its unit adopts the session it finds, by its mark).
    expect(w.handedOff.map((agents) => agents.includes('a1'))).toEqual([false, false, false]);
    expect(w.handedOff[1]).toEqual(['a0']);
  });

  it('leaves running agents alone and restarts an active unit whose session vanished', async () => {
    const w = await world(3);
    await w.supervisor.start(w.roster.agents);
    w.sessions.delete('a1');
    const before = w.calls.length;
    const outcomes = await w.supervisor.start(w.roster.agents);
    expect(outcomes.map((o) => o.result)).toEqual(['already-running', 'started', 'already-running']);
    // Only the first start's two calls (holder, then all): the second start restarts a1 and starts nothing.
    expect(w.systemctlCalls('start')).toHaveLength(2);
    expect(w.systemctlCalls('restart').map((c) => c.slice(5))).toEqual([[w.setup.names.agent('a1')]]);
    // The CLI made a1's session (the holder is up), and a1's unit found its handoff file.
    const creations = w.calls.slice(before).filter((c) => c[0] === 'tmux' && c.includes('new-session'));
    expect(creations).toHaveLength(1);
    expect(creations[0]!.filter((arg) => arg === 'new-session')).toHaveLength(1);
    expect(creations[0]).toContain('a1');
    expect(w.handedOff.at(-1)).toEqual(['a1']);
  });

  it('stops some agents in one call and takes the holder down with the last one', async () => {
    const w = await world(3);
    await w.supervisor.start(w.roster.agents);
    await w.supervisor.stop(w.roster.agents.slice(0, 2));
    expect(w.systemctlCalls('stop').map((c) => c.slice(5))).toEqual([[w.setup.names.agent('a0'), w.setup.names.agent('a1')]]);
    const last = await w.supervisor.stop(w.roster.agents.slice(2));
    expect(last).toEqual([{ agent: 'a2', result: 'stopped' }]);
    expect(w.systemctlCalls('stop')[1]!.slice(5)).toEqual([w.setup.names.agent('a2'), w.setup.names.holder]);
  });

  it("kills the agents' own sessions in one tmux call before the units stop", async () => {
    const w = await world(3);
    await w.supervisor.start(w.roster.agents);
    w.calls.length = 0;
    await w.supervisor.stop(w.roster.agents);
    const kill = w.calls.findIndex((c) => c[0] === 'tmux' && c.includes('kill-session'));
    const stop = w.calls.findIndex((c) => c[0] === 'systemctl' && c[3] === 'stop');
    expect(w.calls.filter((c) => c[0] === 'tmux' && c.includes('kill-session'))).toHaveLength(1);
    expect(w.calls[kill]).toEqual([
      'tmux',
      '-u',
      '-L',
      'unit',
      '-f',
      '/dev/null',
      'kill-session',
      '-t',
      '=a0',
      ';',
      'kill-session',
      '-t',
      '=a1',
      ';',
      'kill-session',
      '-t',
      '=a2',
    ]);
    expect(kill).toBeLessThan(stop);
    // The kills succeeded: the units' ExecStop steps find their handoff files and start no tmux client.
    expect(w.handedOff.at(-1)).toEqual(['a0', 'a1', 'a2']);
    expect(readdirSync(w.paths.runDir).filter((name) => name.endsWith('.handoff'))).toEqual([]);
    expect(w.calls.filter((c) => c[0] === 'systemctl' && c[3] === 'show')).toHaveLength(0);
  });

  it('does not start a failed holder twice, and reports every agent', async () => {
    const w = await world(2);
    w.behaviour.holderFails = true;
    const outcomes = await w.supervisor.start(w.roster.agents);
    expect(outcomes.map((o) => o.result)).toEqual(['error', 'error']);
    expect(outcomes[0]).toMatchObject({ error: expect.stringMatching(/holder unit .* is inactive/) });
    expect(w.systemctlCalls('start').map((c) => c.slice(5))).toEqual([[w.setup.names.holder]]);
  });

  it('stops the holder again when no agent could be prepared', async () => {
    const w = await world(1);
    mkdirSync(w.paths.agentsDir, { recursive: true });
    writeFileSync(path.join(w.paths.agentsDir, 'a0.env'), 'MOSAIC_AGENT_NAME=mine\n');
    const outcomes = await w.supervisor.start(w.roster.agents);
    expect(outcomes.map((o) => o.result)).toEqual(['error']);
    expect(w.systemctlCalls('start').map((c) => c.slice(5))).toEqual([[w.setup.names.holder]]);
    expect(w.systemctlCalls('stop').map((c) => c.slice(5))).toEqual([[w.setup.names.holder]]);
    expect(w.active.size).toBe(0);
  });

  it('restarts many agents with one systemctl restart', async () => {
    const w = await world(4);
    await w.supervisor.start(w.roster.agents);
    w.calls.length = 0;
    const outcomes = await w.supervisor.restart(w.roster.agents);
    expect(outcomes.every((o) => o.result === 'restarted')).toBe(true);
    expect(w.systemctlCalls('restart')).toHaveLength(1);
    // The handoff: one tmux call gives every pane a new process (as the built-in restart does), so the units'
    // ExecStop and ExecStart find their files and start no tmux client; no session is killed or made.
    const tmuxCalls = w.calls.filter((c) => c[0] === 'tmux');
    const respawns = tmuxCalls.filter((c) => c.includes('respawn-pane'));
    expect(respawns).toHaveLength(1);
    expect(respawns[0]!.filter((arg) => arg === 'respawn-pane')).toHaveLength(4);
    expect(tmuxCalls.filter((c) => c.includes('kill-session') || c.includes('new-session'))).toEqual([]);
    expect(w.handedOff.at(-1)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(readdirSync(w.paths.runDir).filter((name) => name.endsWith('.handoff'))).toEqual([]);
  });

  it('leaves the whole restart to the units when the respawn call fails', async () => {
    const w = await world(2);
    await w.supervisor.start(w.roster.agents);
    w.behaviour.respawnFails = true;
    const outcomes = await w.supervisor.restart(w.roster.agents);
    expect(outcomes.map((o) => o.result)).toEqual(['restarted', 'restarted']);
    // Which panes the failed call restarted is not known: no handoff file, each unit kills and makes its session.
    expect(w.handedOff.at(-1)).toEqual([]);
  });

  it('makes no tmux call of its own when the holder is down, after ending the sessions of ours it finds', async () => {
    const w = await world(2);
    await w.supervisor.start(w.roster.agents);
    // The units are gone (the manager restarted, say) but a server outside the holder still has a0's session.
    w.active.clear();
    w.sessions.delete('a1');
    w.calls.length = 0;
    const outcomes = await w.supervisor.restart(w.roster.agents);
    expect(outcomes.map((o) => o.result)).toEqual(['started', 'started']);
    const tmuxCalls = w.calls.filter((c) => c[0] === 'tmux' && !c.includes('list-panes'));
    // Only the kill: a new-session here would start a tmux server outside the holder unit.
    expect(tmuxCalls).toHaveLength(1);
    expect(tmuxCalls[0]!.slice(-3)).toEqual(['kill-session', '-t', '=a0']);
    expect(w.handedOff.at(-1)).toEqual([]);
  });

  it('refuses to start when the unit files are not installed', async () => {
    const w = await world(1);
    rmSync(w.setup.holderFile);
    await expect(w.supervisor.start(w.roster.agents)).rejects.toThrow(/not ready: .*is not installed/);
    expect(w.systemctlCalls('start')).toHaveLength(0);
  });
});
