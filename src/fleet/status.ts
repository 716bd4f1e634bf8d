import { ageSeconds, heartbeatHealth, readHeartbeat, type HeartbeatHealth } from '../heartbeat/heartbeat.js';
import type { AgentSpec } from '../roster/model.js';
import type { SupervisorState } from '../supervisor/types.js';
import type { FleetContext } from './context.js';

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
  heartbeat: { health: HeartbeatHealth; age_seconds: number | null; status: string | null };
  working_directory: string;
}

export async function fleetStatus(ctx: FleetContext, agents: readonly AgentSpec[]): Promise<AgentStatus[]> {
  const observations = await ctx.supervisor.observe(agents);
  const now = new Date(ctx.now());
  return Promise.all(
    agents.map(async (agent, index) => {
      const seen = observations[index]!;
      const beat = await readHeartbeat(ctx.paths.runDir, agent.name);
      return {
        tenant_id: ctx.roster.tenantId,
        host: ctx.host,
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
        heartbeat: {
          health: seen.state === 'stopped' ? 'unknown' : heartbeatHealth(beat, now, ctx.roster.heartbeatIntervalSeconds),
          age_seconds: beat ? Math.round(ageSeconds(beat, now) * 10) / 10 : null,
          status: beat?.status ?? null,
        },
        working_directory: agent.workingDirectory,
      };
    }),
  );
}
