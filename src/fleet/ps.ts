import { straySessionReason } from './stray.js';
import { listDirectory } from '../system/fs.js';
import { beatWriterAlive, heartbeatHealth, readHeartbeatSync, type Heartbeat, type HeartbeatHealth } from '../heartbeat/heartbeat.js';
import type { AgentMode, AgentSpec, Roster } from '../roster/model.js';
import { listPanes, observeAgent, type PaneRow } from '../supervisor/panes.js';
import { readRunStateSync, type AgentRunState } from '../supervisor/state.js';
import type { SupervisorState } from '../supervisor/types.js';
import { ProcessTable } from '../system/proc.js';
import { maintainTranscripts } from '../supervisor/transcript.js';
import { expectedDescription, findAgentProcess, runtimeMatcher, type RuntimeMatcher } from './drift.js';
import { unitNames, type UnitNames } from '../systemd/names.js';
import { querySystemdUnits, type Enablement, type SystemdView } from '../systemd/unit-states.js';
import type { FleetContext } from '../context/context.js';
import { captureByAgent } from '../messaging/screen.js';
import type { Screen } from '../runtimes/detectors/types.js';
import {
  combineActivity,
  needsScreen,
  notRunningActivity,
  reportedActivity,
  type Activity,
  type ActivityReading,
  type ActivitySource,
  type WaitReason,
} from '../attention/activity.js';
import { chooseModel } from '../launch/model.js';
import { listPending, pendingDir, type PendingRequest } from '../attention/pending.js';
import { readBellSync, readLimitSync, type LimitReport } from '../attention/signals.js';
import { deriveAttention, type Attention } from '../attention/state.js';
import { screenLimit } from '../runtimes/detectors/limit.js';
import { readSessionId } from '../launch/session.js';

export type PsFlag = 'drift' | 'boot' | 'orphan' | 'missing' | 'foreign' | 'stale';

/** One row of `fleet ps`: every plane joined for one agent (or one stray session). Stable JSON. */
export interface PsRecord {
  tenant_id: string;
  host: string;
  /** Roster name; for an orphan, its session name. */
  agent: string;
  session: string;
  runtime: string | null;
  class: string | null;
  supervisor: 'builtin' | 'systemd';
  /** mosaic's view: running, restarting, failed, dead, stopped; `orphan` for a stray session. */
  state: SupervisorState | 'orphan' | 'unreachable';
  /** systemd mode only: the agent's user unit. */
  unit: {
    name: string;
    load_state: string | null;
    active_state: string | null;
    sub_state: string | null;
    unit_file_state: Enablement | null;
  } | null;
  pane: 'alive' | 'dead' | 'missing';
  pane_id: string | null;
  pane_pid: number | null;
  /** Exit status of a dead pane (128 + signal when killed by a signal). */
  exit_status: number | null;
  /** The runtime's process in the pane's process tree. */
  agent_pid: number | null;
  /** tmux's pane_current_command: the pane's foreground program. */
  current_command: string | null;
  /** The pane's own process as started, for drift messages. */
  pane_command: string | null;
  /** Seconds since the pane last produced output. */
  idle_seconds: number | null;
  heartbeat: { health: HeartbeatHealth; age_seconds: number | null; status: string | null; pid: number | null };
  restarts: number | null;
  /** Why the supervisor gave up (crash loop, fleet-wide crash storm) when state is failed, else null. */
  failed_reason: string | null;
  /** busy / waiting / idle: the runtime's own report (status_source runtime) or the screen's. */
  activity: Activity;
  status_source: ActivitySource;
  activity_detail: string;
  /** Why a waiting agent waits (permission prompt, dialog), else null. */
  reason: WaitReason | null;
  /** Does the agent need its operator now (permission, question, done, error, limit), since when, why. */
  attention: Attention;
  /** yolo (unattended) or safe; null for an orphan. */
  mode: AgentMode | null;
  /** The model passed to the runtime (roster `model:`, or a resolved `model_hint`), else null. */
  model: string | null;
  /** The runtime's own session id, as its hooks (or the launcher, for claude) recorded it. */
  session_id: string | null;
  flags: PsFlag[];
  /** false when the row's host did not answer: the row is its last known state (flag `stale`). */
  reachable: boolean;
  /** How old a `stale` row is, in seconds; null for a fresh row. */
  stale_seconds: number | null;
  /** Why each flag is set, in words. */
  reasons: Partial<Record<PsFlag, string>>;
}

export interface PsReport {
  tenant_id: string;
  host: string;
  socket: string;
  supervisor: 'builtin' | 'systemd';
  /** Set when systemd mode could not list units: the unit columns are unknown. */
  systemd_error: string | null;
  holder: 'alive' | 'dead' | 'missing';
  records: PsRecord[];
}

export interface PsInputs {
  roster: Roster;
  host: string;
  socket: string;
  nowMs: number;
  panes: readonly PaneRow[];
  runState: (agent: string) => AgentRunState | undefined;
  heartbeat: (agent: string) => Heartbeat | undefined;
  table: ProcessTable;
  /** systemd mode: the unit listing and the fleet's unit names. */
  systemd: (SystemdView & { names: UnitNames }) | null;
  /** Screens read for agents whose activity the runtime's report cannot settle (see needsScreen). */
  screens?: (agent: string) => Screen | undefined;
  sessionId?: (agent: string) => string | undefined;
  /** Open permission requests of an agent (src/attention/pending.ts). */
  pending?: (agent: string) => readonly PendingRequest[];
  /** The runtime's last usage-limit report and the terminal's last bell. */
  limit?: (agent: string) => LimitReport | undefined;
  bell?: (agent: string) => Date | undefined;
}

const ACTIVE = new Set(['active', 'activating', 'reloading']);
/** Agents whose files `fleet ps` reads between two turns of the event loop (see fleetPs). */
const READ_SLICE = 100;

const exitStatus = (pane: PaneRow): number | null => pane.deadStatus ?? (pane.deadSignal === null ? null : 128 + pane.deadSignal);

const idleSeconds = (pane: PaneRow, nowMs: number): number | null =>
  pane.activity === null ? null : Math.max(0, Math.round(nowMs / 1000 - pane.activity));

/** The pure join: every plane for every roster agent, then one row per stray session. */
export function joinFleet(inputs: PsInputs): PsReport {
  const { roster, nowMs, table } = inputs;
  const now = new Date(nowMs);
  const bySession = new Map<string, PaneRow>();
  for (const pane of inputs.panes) if (!bySession.has(pane.session)) bySession.set(pane.session, pane);
  const matchers = new Map<string, RuntimeMatcher | undefined>();
  const matcherFor = (runtime: string): RuntimeMatcher | undefined => {
    if (!matchers.has(runtime)) {
      try {
        matchers.set(runtime, runtimeMatcher(roster, runtime));
      } catch {
        matchers.set(runtime, undefined); // unknown runtime: the roster loader already refuses these
      }
    }
    return matchers.get(runtime);
  };

  // Records spell these fields out: an object literal that starts with a spread and goes on with
  // thirty more fields is built property by property on a slow path (~80 µs each on node 20, a
  // third of `fleet ps` at 500 agents); written out, ~2 µs.
  const tenant_id = roster.tenantId;
  const { host } = inputs;
  const { supervisor } = roster;
  const records: PsRecord[] = roster.agents.map((agent) => agentRecord(agent));
  function agentRecord(agent: AgentSpec): PsRecord {
    const pane = bySession.get(agent.session);
    const runState = inputs.runState(agent.name);
    const observed = observeAgent(agent, pane, runState, nowMs);
    const alive = pane !== undefined && !pane.dead && pane.panePid !== null;
    const matcher = matcherFor(agent.runtime);
    const proc = alive ? findAgentProcess(table, pane.panePid!, matcher) : undefined;
    const beat = inputs.heartbeat(agent.name);
    const health = heartbeatHealth(beat, alive ? pane.panePid : null, table, now, roster.heartbeatIntervalSeconds);
    const { writerAlive } = health;
    const flags: PsFlag[] = [];
    const reasons: Partial<Record<PsFlag, string>> = {};
    const flag = (name: PsFlag, reason: string): void => {
      flags.push(name);
      reasons[name] = reason;
    };
    if (!pane) flag('missing', `no session "${agent.session}" on socket ${inputs.socket}`);
    else if (pane.agent !== agent.name) {
      flag(
        'foreign',
        `session "${agent.session}" was not created by mosaic for this agent (${pane.agent ? `it is marked "${pane.agent}"` : 'it carries no mosaic mark'})`,
      );
    }
    if (proc && matcher && !proc.launching && proc.agentPid === null) {
      flag(
        'drift',
        `roster runtime "${agent.runtime}" expects ${expectedDescription(matcher)}, but the pane runs "${proc.paneCommand ?? '?'}" (pid ${pane!.panePid})`,
      );
    }
    let unit: PsRecord['unit'] = null;
    if (inputs.systemd) {
      const names = inputs.systemd.names;
      let name: string;
      try {
        name = names.agent(agent.name);
      } catch {
        name = `${names.prefix}-agent@${agent.name}.service`; // too long for systemd: it will show as not loaded
      }
      const state = inputs.systemd.units.get(name);
      const enablement = inputs.systemd.enablement.get(name) ?? 'disabled';
      unit = {
        name,
        load_state: inputs.systemd.available ? (state?.load ?? 'not-loaded') : null,
        active_state: inputs.systemd.available ? (state?.active ?? 'inactive') : null,
        sub_state: inputs.systemd.available ? (state?.sub ?? 'dead') : null,
        unit_file_state: enablement,
      };
      if (unit.active_state && ACTIVE.has(unit.active_state) && enablement !== 'enabled') {
        const how = enablement === 'enabled-runtime' ? 'enabled only until the next reboot (--runtime)' : 'not enabled';
        flag(
          'boot',
          `${name} is ${unit.active_state} but ${how}: it will not come back after a reboot (run: mosaic fleet enable ${agent.name})`,
        );
      }
    }
    const screen = alive ? inputs.screens?.(agent.name) : undefined;
    const activity: ActivityReading = alive
      ? combineActivity(agent.runtime, reportedActivity(beat, agent.runtime, writerAlive), screen, now)
      : notRunningActivity(observed.state);
    const attention = deriveAttention({
      supervisorState: observed.state,
      failedReason: observed.failedReason,
      activity,
      beat,
      pending: inputs.pending?.(agent.name) ?? [],
      limit: inputs.limit?.(agent.name),
      screenLimit: screen ? screenLimit(agent.runtime, screen.lines, now) : undefined,
      bellAt: inputs.bell?.(agent.name),
    });
    return {
      tenant_id,
      host,
      supervisor,
      agent: agent.name,
      session: agent.session,
      runtime: agent.runtime,
      class: agent.class ?? null,
      state: observed.state,
      unit,
      pane: !pane ? 'missing' : pane.dead ? 'dead' : 'alive',
      pane_id: pane?.paneId ?? null,
      pane_pid: alive ? pane.panePid : null,
      exit_status: pane?.dead ? exitStatus(pane) : null,
      agent_pid: proc?.agentPid ?? null,
      current_command: alive ? pane.currentCommand || null : null,
      pane_command: proc?.paneCommand ?? null,
      idle_seconds: pane ? idleSeconds(pane, nowMs) : null,
      heartbeat: { health: health.health, age_seconds: health.age, status: beat?.status ?? null, pid: beat?.pid ?? null },
      restarts: runState?.restarts ?? null,
      failed_reason: observed.state === 'failed' ? observed.failedReason : null,
      activity: activity.activity,
      status_source: activity.source,
      activity_detail: activity.detail,
      reason: activity.activity === 'waiting' ? (activity.reason ?? null) : null,
      attention,
      mode: agent.mode,
      model: chooseModel(agent).model,
      session_id: inputs.sessionId?.(agent.name) ?? null,
      flags,
      reachable: true,
      stale_seconds: null,
      reasons,
    };
  }

  const known = new Set([...roster.agents.map((agent) => agent.session), roster.holderSession]);
  const orphans = [...bySession.values()]
    .filter((pane) => !known.has(pane.session))
    .sort((a, b) => a.session.localeCompare(b.session))
    .map((pane): PsRecord => {
      const alive = !pane.dead && pane.panePid !== null;
      const proc = alive ? findAgentProcess(table, pane.panePid!, undefined) : undefined;
      return {
        tenant_id,
        host,
        supervisor,
        agent: pane.session,
        session: pane.session,
        runtime: null,
        class: null,
        state: 'orphan',
        unit: null,
        pane: pane.dead ? 'dead' : 'alive',
        pane_id: pane.paneId,
        pane_pid: alive ? pane.panePid : null,
        exit_status: pane.dead ? exitStatus(pane) : null,
        agent_pid: null,
        current_command: alive ? pane.currentCommand || null : null,
        pane_command: proc?.paneCommand ?? null,
        idle_seconds: idleSeconds(pane, nowMs),
        heartbeat: { health: 'unknown', age_seconds: null, status: null, pid: null },
        restarts: null,
        failed_reason: null,
        activity: 'unknown',
        status_source: 'none',
        activity_detail: 'not a roster agent',
        reason: null,
        attention: { state: 'none', since: null, detail: 'not a roster agent' },
        mode: null,
        model: null,
        session_id: null,
        flags: ['orphan'],
        reachable: true,
        stale_seconds: null,
        reasons: {
          orphan: straySessionReason(
            { session: pane.session, mark: pane.agent, holder: pane.holder === true },
            inputs.socket,
            `roster ${roster.file}`,
          ),
        },
      };
    });

  const holder = bySession.get(roster.holderSession);
  return {
    tenant_id,
    host,
    supervisor,
    socket: inputs.socket,
    systemd_error: inputs.systemd?.error ?? null,
    holder: !holder ? 'missing' : holder.dead ? 'dead' : 'alive',
    records: [...records, ...orphans],
  };
}

async function systemdView(view: FleetContext): Promise<PsInputs['systemd']> {
  let names: UnitNames;
  try {
    names = unitNames(view.host.env);
  } catch (error) {
    const empty = { available: false, units: new Map(), enablement: new Map() };
    return { ...empty, error: (error as Error).message, names: unitNames({}) };
  }
  return { ...(await querySystemdUnits(view.host.runner, view.host.env, view.host.uid, names)), names };
}

/** One batched capture of the agents whose activity needs the screen (none when every runtime reported). */
async function screensToRead(
  view: FleetContext,
  panes: readonly PaneRow[],
  beats: Map<string, Heartbeat | undefined>,
  table: ProcessTable,
): Promise<Map<string, Screen>> {
  const livePids = new Map<string, number>();
  for (const pane of panes) if (!pane.dead && pane.panePid !== null) livePids.set(pane.session, pane.panePid);
  const agents = view.roster.agents.filter((agent) => {
    const panePid = livePids.get(agent.session);
    if (panePid === undefined) return false;
    const beat = beats.get(agent.name);
    const writerAlive = beatWriterAlive(beat, panePid, table);
    return needsScreen(agent.runtime, reportedActivity(beat, agent.runtime, writerAlive));
  });
  return captureByAgent(view.tmux, agents);
}

/**
 * `fleet ps`: one tmux listing, at most one systemctl listing, /proc and file reads,
 * whatever the fleet size. Also keeps transcripts true (a stat per running agent; one
 * tmux call only when a log has to be rotated or a pane lacks its pipe).
 */
export async function fleetPs(view: FleetContext, options: { procRoot?: string } = {}): Promise<PsReport> {
  const { roster, paths } = view;
  const listing = Promise.all([listPanes({ tmux: view.tmux }), roster.supervisor === 'systemd' ? systemdView(view) : null]);
  // While tmux and systemctl answer, read what every row needs from files. One listing of the
  // run directory first: no failed open per agent for the files most agents do not have.
  const runFiles = new Set(listDirectory(paths.runDir));
  const runStates = new Map<string, AgentRunState | undefined>();
  const beats = new Map<string, Heartbeat | undefined>();
  // In slices, with a turn of the event loop before each: the listing's request goes out on its socket
  // (src/tmux/wire.ts) once the connection completes, and tmux sends the listing a message per pane and
  // stops when its socket buffer is full (~270 small messages) until we read. Read all at once, we would
  // wait for tmux afterwards instead of meanwhile.
  for (let start = 0; start < roster.agents.length; start += READ_SLICE) {
    await new Promise((resolve) => setImmediate(resolve));
    for (const agent of roster.agents.slice(start, start + READ_SLICE)) {
      runStates.set(agent.name, readRunStateSync(paths.runDir, agent.name, runFiles));
      beats.set(agent.name, readHeartbeatSync(paths.runDir, agent.name, runFiles));
    }
  }
  // One listing of pending/ instead of a failed open per agent: most agents never have a request.
  const hasPending = new Set(runFiles.has('pending') ? listDirectory(pendingDir(paths.runDir, '')) : []);
  const now = new Date(view.host.now());
  const table = new ProcessTable(options.procRoot);
  const [panes, systemd] = await listing;
  const screens = await screensToRead(view, panes, beats, table);
  const report = joinFleet({
    roster,
    host: view.host.identity.host,
    socket: view.tmux.socket,
    nowMs: now.getTime(),
    panes,
    runState: (agent) => runStates.get(agent),
    heartbeat: (agent) => beats.get(agent),
    table,
    systemd,
    screens: (agent) => screens.get(agent),
    // One listing instead of a failed open per agent without a session (most stub and custom agents).
    sessionId: (agent) => (runFiles.has(`${agent}.session`) ? readSessionId(paths.runDir, agent) : undefined),
    pending: (agent) => (hasPending.has(agent) ? listPending(paths.runDir, agent, now, (pid) => table.alive(pid)) : []),
    limit: (agent) => (runFiles.has(`${agent}.hb.limit`) ? readLimitSync(paths.runDir, agent) : undefined),
    bell: (agent) => (runFiles.has(`${agent}.hb.bell`) ? readBellSync(paths.runDir, agent) : undefined),
  });
  const live = new Map(panes.filter((pane) => !pane.dead).map((pane) => [pane.session, pane]));
  const running = roster.agents
    .filter((agent) => live.get(agent.session)?.agent === agent.name)
    .map((agent) => ({ name: agent.name, session: agent.session, piped: live.get(agent.session)!.pipe === true }));
  await maintainTranscripts({ tmux: view.tmux, logsDir: paths.logsDir, env: view.host.env }, running);
  return report;
}
