import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Heartbeat } from '../heartbeat/heartbeat.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import type { PaneRow } from '../supervisor/panes.js';
import type { AgentRunState } from '../supervisor/state.js';
import { ProcessTable } from '../system/proc.js';
import { unitNames } from '../systemd/names.js';
import { joinFleet, type PsInputs } from './ps.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fakeProc(processes: Record<number, [string, number, string[]]>): ProcessTable {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mosaic-ps-'));
  dirs.push(root);
  for (const [pid, [comm, ppid, argv]] of Object.entries(processes)) {
    mkdirSync(path.join(root, pid));
    writeFileSync(path.join(root, pid, 'stat'), `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1\n`);
    writeFileSync(path.join(root, pid, 'cmdline'), `${argv.join('\0')}\0`);
  }
  return new ProcessTable(root);
}

const agent = (name: string, runtime = 'stub'): AgentSpec => ({
  name,
  session: name.replace(/\./g, '_'),
  runtime,
  workingDirectory: '/w',
  args: [],
  mode: 'safe',
  line: 1,
});

const roster = (agents: AgentSpec[], supervisor: Roster['supervisor'] = 'builtin'): Roster => ({
  file: '/r.yaml',
  version: 1,
  tenantId: 'acme',
  supervisor,
  socketName: 'sock',
  holderSession: '_holder',
  heartbeatIntervalSeconds: 10,
  restart: { backoffInitialMs: 1, backoffMaxMs: 1, maxCrashes: 1, windowSeconds: 1 },
  defaultWorkingDirectory: '/w',
  runtimes: {},
  agents,
});

const NOW = Date.parse('2026-01-01T00:00:00Z');
const pane = (session: string, over: Partial<PaneRow> = {}): PaneRow => ({
  session,
  agent: session,
  paneId: `%${session.length}`,
  panePid: null,
  dead: false,
  deadStatus: null,
  deadSignal: null,
  deadTime: null,
  activity: NOW / 1000 - 30,
  currentCommand: 'sh',
  pipe: true,
  ...over,
});
const beat = (pid: number, ageSeconds: number): Heartbeat => ({ ts: new Date(NOW - ageSeconds * 1000), pid, status: 'ok', fields: {} });

function inputs(over: Partial<PsInputs>): PsInputs {
  return {
    roster: roster([]),
    host: 'h1',
    socket: 'sock',
    nowMs: NOW,
    panes: [],
    runState: () => undefined,
    heartbeat: () => undefined,
    table: fakeProc({}),
    systemd: null,
    ...over,
  };
}

describe('joinFleet', () => {
  const STUB = ['sh', '/opt/mosaic/framework/bin/mosaic-stub-agent'];

  it('joins pane, process tree, run state and heartbeat per agent; flags drift, missing, foreign and orphans', () => {
    const table = fakeProc({
      100: ['sh', 1, STUB],
      200: ['sh', 1, STUB], // roster says pi: drift
      300: ['sh', 1, ['sh', '-c', 'run pi']], // pi is a child of the pane's shell: found in the tree
      301: ['pi', 300, ['pi']],
      400: ['sleep', 1, ['sleep', '600']],
      500: ['sh', 1, ['sh', '/opt/mosaic/framework/bin/mosaic-launch', '/run/x.launch', '0.5']],
    });
    const report = joinFleet(
      inputs({
        roster: roster([agent('a'), agent('canary', 'pi'), agent('wrapped', 'pi'), agent('gone'), agent('theirs'), agent('backoff', 'pi')]),
        table,
        panes: [
          pane('a', { panePid: 100 }),
          pane('canary', { panePid: 200 }),
          pane('wrapped', { panePid: 300 }),
          pane('theirs', { panePid: 400, agent: 'someone-else' }),
          pane('backoff', { panePid: 500 }),
          pane('_holder', { panePid: 600 }),
          pane('stray', { panePid: 400, currentCommand: 'sleep' }),
        ],
        runState: (name) => (name === 'a' ? ({ restarts: 2, failed: false } as AgentRunState) : undefined),
        heartbeat: (name) => (name === 'a' ? beat(100, 3) : name === 'canary' ? beat(999, 3) : undefined),
      }),
    );
    const rows = Object.fromEntries(report.records.map((r) => [r.agent, r]));
    expect(report.records.map((r) => r.agent)).toEqual(['a', 'canary', 'wrapped', 'gone', 'theirs', 'backoff', 'stray']);
    expect(report).toMatchObject({ tenant_id: 'acme', host: 'h1', socket: 'sock', holder: 'alive', systemd_error: null });
    expect(rows.a).toMatchObject({
      tenant_id: 'acme',
      host: 'h1',
      state: 'running',
      pane: 'alive',
      pane_pid: 100,
      agent_pid: 100,
      idle_seconds: 30,
      restarts: 2,
      flags: [],
      heartbeat: { health: 'healthy', age_seconds: 3, status: 'ok', pid: 100 },
    });
    expect(rows.canary!.flags).toEqual(['drift']);
    expect(rows.canary!.reasons.drift).toBe(
      'roster runtime "pi" expects pi or <interpreter> …/pi, but the pane runs "sh …/mosaic-stub-agent" (pid 200)',
    );
    expect(rows.canary!.heartbeat.health).toBe('stale'); // its writer (pid 999) is gone
    expect(rows.wrapped).toMatchObject({ agent_pid: 301, flags: [] });
    expect(rows.gone).toMatchObject({ state: 'stopped', pane: 'missing', flags: ['missing'], restarts: null });
    expect(rows.theirs!.flags).toEqual(['foreign', 'drift']); // someone else's session, running sleep
    expect(rows.backoff!.flags).toEqual([]); // the launcher sleeping a backoff is not drift
    expect(rows.stray).toMatchObject({ state: 'orphan', runtime: null, flags: ['orphan'], current_command: 'sleep' });
    expect(table.fullyScanned).toBe(true);
  });

  it('reads only the panes processes when every runtime is where it should be', () => {
    const table = fakeProc({ 100: ['sh', 1, STUB], 101: ['sh', 1, STUB] });
    joinFleet(
      inputs({ roster: roster([agent('a'), agent('b')]), table, panes: [pane('a', { panePid: 100 }), pane('b', { panePid: 101 })] }),
    );
    expect(table.fullyScanned).toBe(false);
  });

  it("takes a runtime's report only from a writer alive under the pane: not a gone process's while the launcher sleeps a backoff", () => {
    const LAUNCH = ['sh', '/opt/mosaic/framework/bin/mosaic-launch', '/run/x.launch', '0.2'];
    const table = fakeProc({ 500: ['sh', 1, LAUNCH], 600: ['pi', 1, ['pi']] });
    const reported = (pid: number): Heartbeat => ({
      ...beat(pid, 1),
      status: 'idle',
      fields: { source: 'runtime', event: 'agent_end', status_ts: new Date(NOW - 5000).toISOString() },
    });
    const report = joinFleet(
      inputs({
        roster: roster([agent('restarting', 'pi'), agent('running', 'pi')]),
        table,
        panes: [pane('restarting', { panePid: 500 }), pane('running', { panePid: 600 })],
        // The restarting agent's last beat is its killed process's (pid 499): idle, from before the kill.
        heartbeat: (name) => (name === 'restarting' ? reported(499) : reported(600)),
      }),
    );
    const rows = Object.fromEntries(report.records.map((r) => [r.agent, r]));
    expect(rows.running).toMatchObject({ activity: 'idle', status_source: 'runtime' });
    expect(rows.restarting).toMatchObject({ activity: 'unknown', status_source: 'none' });
  });

  it('shows a dead pane with its exit status, no pids, and a stale heartbeat', () => {
    const report = joinFleet(
      inputs({
        roster: roster([agent('a')]),
        panes: [pane('a', { panePid: 100, dead: true, deadStatus: null, deadSignal: 9 })],
        runState: () => ({ failed: true, restarts: 0 }) as AgentRunState,
        heartbeat: () => beat(100, 1),
      }),
    );
    expect(report.records[0]).toMatchObject({ state: 'failed', pane: 'dead', exit_status: 137, pane_pid: null, agent_pid: null });
    expect(report.records[0]!.heartbeat).toMatchObject({ health: 'stale', age_seconds: 1 });
  });

  it('in systemd mode, flags boot for active units that will not come back after a reboot', () => {
    const names = unitNames({ MOSAIC_SYSTEMD_UNIT_PREFIX: 'm' });
    const units = new Map(
      ['a', 'b', 'c'].map((n) => [names.agent(n), { unit: names.agent(n), load: 'loaded', active: 'active', sub: 'exited' }]),
    );
    const report = joinFleet(
      inputs({
        roster: roster([agent('a'), agent('b'), agent('c'), agent('d')], 'systemd'),
        systemd: {
          available: true,
          error: null,
          units,
          enablement: new Map([
            [names.agent('a'), 'enabled'],
            [names.agent('c'), 'enabled-runtime'],
          ]),
          names,
        },
      }),
    );
    const rows = Object.fromEntries(report.records.map((r) => [r.agent, r]));
    expect(rows.a!.unit).toEqual({
      name: 'm-agent@a.service',
      load_state: 'loaded',
      active_state: 'active',
      sub_state: 'exited',
      unit_file_state: 'enabled',
    });
    expect(rows.a!.flags).toEqual(['missing']);
    expect(rows.b!.flags).toEqual(['missing', 'boot']);
    expect(rows.b!.reasons.boot).toMatch(/^m-agent@b.service is active but not enabled: it will not come back after a reboot/);
    expect(rows.c!.reasons.boot).toMatch(/enabled only until the next reboot/);
    expect(rows.d!.unit).toMatchObject({ load_state: 'not-loaded', active_state: 'inactive', unit_file_state: 'disabled' });
    expect(rows.d!.flags).toEqual(['missing']);
  });

  it('in systemd mode without a reachable manager, says so and flags nothing it cannot know', () => {
    const names = unitNames({});
    const report = joinFleet(
      inputs({
        roster: roster([agent('a')], 'systemd'),
        systemd: { available: false, error: 'systemctl --user list-units failed: no bus', units: new Map(), enablement: new Map(), names },
      }),
    );
    expect(report.systemd_error).toBe('systemctl --user list-units failed: no bus');
    expect(report.records[0]!.unit).toMatchObject({ active_state: null, load_state: null });
    expect(report.records[0]!.flags).toEqual(['missing']);
  });
});
