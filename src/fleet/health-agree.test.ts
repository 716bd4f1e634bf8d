import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatHeartbeat, heartbeatFile, readHeartbeatSync } from '../heartbeat/heartbeat.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import { observeAgent, type PaneRow } from '../supervisor/panes.js';
import type { AgentRunState } from '../supervisor/state.js';
import { ProcessTable } from '../system/proc.js';
import type { SupervisedFleet } from './open.js';
import { joinFleet } from './ps.js';
import { fleetStatus } from './status.js';

/*
 * `fleet ps` (joinFleet) and `fleet status` / `agent status` (fleetStatus) must give every agent the
 * same heartbeat health and age, whatever its pane and beat: both call heartbeatHealth with the same
 * facts. Real /proc: this process is the pane and the live writer; an unused pid is the dead writer.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const NOW = Date.now();
const LIVE = process.pid;
const GONE = 2 ** 22 + 7; // above the largest pid_max: no such process

type PaneCase = 'alive' | 'dead' | 'none' | 'alive, in backoff';
type BeatCase = 'fresh' | 'old' | 'missing' | 'writer dead';
const paneCases: PaneCase[] = ['alive', 'dead', 'none', 'alive, in backoff'];
const beatCases: BeatCase[] = ['fresh', 'old', 'missing', 'writer dead'];

const agents: AgentSpec[] = paneCases.flatMap((p, i) =>
  beatCases.map((b, j) => ({
    name: `a${i}${j}`,
    session: `a${i}${j}`,
    runtime: 'stub',
    workingDirectory: '/w',
    args: [],
    mode: 'safe' as const,
    line: 1,
    // for the test's messages
    class: `${p} / ${b}`,
  })),
);

const roster: Roster = {
  file: '/r.yaml',
  version: 1,
  tenantId: 'acme',
  supervisor: 'builtin',
  socketName: 'sock',
  holderSession: '_holder',
  heartbeatIntervalSeconds: 10,
  restart: { backoffInitialMs: 1, backoffMaxMs: 1, maxCrashes: 1, windowSeconds: 1 },
  defaultWorkingDirectory: '/w',
  runtimes: {},
  agents,
};

function paneFor(session: string, kind: PaneCase): PaneRow | undefined {
  if (kind === 'none') return undefined; // stopped: no session
  const dead = kind === 'dead';
  return {
    session,
    agent: session,
    paneId: `%${session}`,
    panePid: LIVE,
    dead,
    deadStatus: dead ? 1 : null,
    deadSignal: null,
    deadTime: dead ? NOW / 1000 - 2 : null,
    activity: NOW / 1000 - 1,
    currentCommand: 'sh',
    pipe: true,
  };
}

function runStateFor(agent: AgentSpec, kind: PaneCase): AgentRunState | undefined {
  if (kind === 'dead')
    return { restarts: 1, failed: true, failedReason: 'crash loop', lastExitStatus: 1, nextStartAt: null } as AgentRunState;
  if (kind === 'alive, in backoff') return { restarts: 1, failed: false, lastExitStatus: 1, nextStartAt: NOW + 5000 } as AgentRunState;
  return undefined;
}

describe('fleet ps and fleet status agree on heartbeat health', () => {
  it('for every pane (alive, dead, none, in backoff) and beat (fresh, old, missing, writer dead)', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-health-'));
    dirs.push(runDir);
    const panes = new Map<string, PaneRow | undefined>();
    const runStates = new Map<string, AgentRunState | undefined>();
    agents.forEach((agent, index) => {
      const paneCase = paneCases[Math.floor(index / beatCases.length)]!;
      const beatCase = beatCases[index % beatCases.length]!;
      panes.set(agent.session, paneFor(agent.session, paneCase));
      runStates.set(agent.name, runStateFor(agent, paneCase));
      if (beatCase === 'missing') return;
      const age = beatCase === 'old' ? 31 : 2;
      const pid = beatCase === 'writer dead' ? GONE : LIVE;
      writeFileSync(heartbeatFile(runDir, agent.name), formatHeartbeat({ ts: new Date(NOW - age * 1000), pid, status: 'ok' }));
    });

    const ps = joinFleet({
      roster,
      host: 'h1',
      socket: 'sock',
      nowMs: NOW,
      panes: [...panes.values()].filter((pane): pane is PaneRow => pane !== undefined),
      runState: (name) => runStates.get(name),
      heartbeat: (name) => readHeartbeatSync(runDir, name),
      table: new ProcessTable(),
      systemd: null,
    });
    const ctx = {
      roster,
      paths: { runDir },
      host: { now: () => NOW, identity: { host: 'h1' } },
      tmux: {},
      supervisor: {
        kind: 'builtin',
        observe: async (list: readonly AgentSpec[]) =>
          list.map((agent) => observeAgent(agent, panes.get(agent.session), runStates.get(agent.name), NOW)),
      },
    } as unknown as SupervisedFleet;
    const status = await fleetStatus(ctx, agents);

    const byPs = Object.fromEntries(ps.records.map((r) => [r.class, { health: r.heartbeat.health, age: r.heartbeat.age_seconds }]));
    const byStatus = Object.fromEntries(status.map((r) => [r.class, { health: r.heartbeat.health, age: r.heartbeat.age_seconds }]));
    expect(byStatus).toEqual(byPs);
    // And what that one answer is (see heartbeatHealth): only a fresh beat from a live writer under a live pane is healthy.
    expect(Object.fromEntries(ps.records.map((r) => [r.class, r.heartbeat.health]))).toEqual({
      'alive / fresh': 'healthy',
      'alive / old': 'stale',
      'alive / missing': 'unknown',
      'alive / writer dead': 'stale',
      'dead / fresh': 'stale',
      'dead / old': 'stale',
      'dead / missing': 'unknown',
      'dead / writer dead': 'stale',
      'none / fresh': 'stale',
      'none / old': 'stale',
      'none / missing': 'unknown',
      'none / writer dead': 'stale',
      'alive, in backoff / fresh': 'healthy',
      'alive, in backoff / old': 'stale',
      'alive, in backoff / missing': 'unknown',
      'alive, in backoff / writer dead': 'stale',
    });
    expect(status.map((r) => r.state)).toEqual(ps.records.map((r) => r.state));
  });
});
