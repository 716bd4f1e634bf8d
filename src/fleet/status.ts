import { heartbeatHealth, readHeartbeatSync, type HeartbeatHealth } from '../heartbeat/heartbeat.js';
import { listDirectory } from '../system/fs.js';
import { ProcessTable } from '../system/proc.js';
import { chooseModel } from '../launch/model.js';
import { readSessionId } from '../launch/session.js';
import type { AgentMode, AgentSpec } from '../roster/model.js';
import type { SupervisorState } from '../supervisor/types.js';
import { captureByAgent } from '../messaging/screen.js';
import {
  combineActivity,
  needsScreen,
  notRunningActivity,
  reportedActivity,
  type ActivityReading,
  type WaitReason,
} from '../attention/activity.js';
import type { SupervisedFleet } from './open.js';

export interface AgentStatus {
  tenant_id: string;
  host: string;
  agent: string;
  session: string;
  runtime: string;
  class: string | null;
  supervisor: 'builtin' | 'systemd';
  state: SupervisorState;
  pane_id: string | null;
  pane_pid: number | null;
  current_command: string | null;
  restarts: number;
  last_exit_status: number | null;
  /** Why the supervisor gave up (crash loop, fleet-wide crash storm) when state is failed, else null. */
  failed_reason: string | null;
  heartbeat: { health: HeartbeatHealth; age_seconds: number | null; status: string | null };
  /** busy / waiting / idle, from the runtime's own reports (status_source runtime) or the screen. */
  activity: ActivityReading['activity'];
  status_source: ActivityReading['source'];
  activity_detail: string;
  /** Why a waiting agent waits (permission prompt, dialog), else null. */
  reason: WaitReason | null;
  mode: AgentMode;
  /** The model passed to the runtime, else null (the runtime's default). */
  model: string | null;
  /** The runtime's own session id: a restart resumes it. */
  session_id: string | null;
  working_directory: string;
}

export async function fleetStatus(ctx: SupervisedFleet, agents: readonly AgentSpec[]): Promise<AgentStatus[]> {
  const observing = ctx.supervisor.observe(agents);
  // While tmux answers: one listing of the run directory, then only the files that are there, read without a promise each.
  const { runDir } = ctx.paths;
  const runFiles = new Set(listDirectory(runDir));
  const beats = agents.map((agent) => readHeartbeatSync(runDir, agent.name, runFiles));
  const observations = await observing;
  const now = new Date(ctx.host.now());
  const processes = new ProcessTable();
  // The one health rule, from the same facts `fleet ps` uses: the beat, the live pane's pid, the process table.
  // A beat whose writer is not alive under the pane is a previous process's (a restart in its backoff).
  const healths = agents.map((_, index) =>
    heartbeatHealth(beats[index], observations[index]!.panePid, processes, now, ctx.roster.heartbeatIntervalSeconds),
  );
  // Screens only where the runtime's own report cannot answer, all in one tmux call.
  const reports = agents.map((agent, index) =>
    observations[index]!.state === 'running' ? reportedActivity(beats[index], agent.runtime, healths[index]!.writerAlive) : undefined,
  );
  const toRead = agents.filter((agent, index) => observations[index]!.state === 'running' && needsScreen(agent.runtime, reports[index]));
  const screens = await captureByAgent(ctx.tmux, toRead);
  return Promise.all(
    agents.map(async (agent, index) => {
      const seen = observations[index]!;
      const beat = beats[index];
      const health = healths[index]!;
      const activity =
        seen.state === 'running'
          ? combineActivity(agent.runtime, reports[index], screens.get(agent.name), now)
          : notRunningActivity(seen.state);
      return {
        tenant_id: ctx.roster.tenantId,
        host: ctx.host.identity.host,
        agent: agent.name,
        session: agent.session,
        runtime: agent.runtime,
        class: agent.class ?? null,
        supervisor: ctx.supervisor.kind,
        state: seen.state,
        pane_id: seen.paneId,
        pane_pid: seen.panePid,
        current_command: seen.currentCommand,
        restarts: seen.restarts,
        last_exit_status: seen.lastExitStatus,
        // As in `fleet ps`: a reason only for an agent that is failed now (a failed run state outlives its pane
        // when the tmux server goes away; that agent is stopped, and `fleet start` starts it).
        failed_reason: seen.state === 'failed' ? seen.failedReason : null,
        heartbeat: {
          health: health.health,
          age_seconds: health.age,
          status: beat?.status ?? null,
        },
        activity: activity.activity,
        status_source: activity.source,
        activity_detail: activity.detail,
        reason: activity.activity === 'waiting' ? (activity.reason ?? null) : null,
        mode: agent.mode,
        model: chooseModel(agent).model,
        session_id: (runFiles.has(`${agent.name}.session`) ? readSessionId(runDir, agent.name) : undefined) ?? null,
        working_directory: agent.workingDirectory,
      };
    }),
  );
}
