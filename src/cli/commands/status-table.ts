import type { AgentStatus } from '../../fleet/status.js';
import { stateColour, table } from '../output.js';

export const NO_AGENTS = 'no agents: add some to the roster, or `mosaic agent new <name> --runtime <runtime>`';

/** The table of `fleet status` and `agent status`; a fleet with no agents says so (not a header alone). */
export function statusTable(rows: AgentStatus[]): string {
  if (rows.length === 0) return NO_AGENTS;
  return table(
    ['AGENT', 'RUNTIME', 'STATE', 'ACTIVITY', 'PANE PID', 'RESTARTS', 'LAST EXIT', 'HEARTBEAT', 'COMMAND'],
    rows.map((r) => [
      r.agent,
      r.runtime,
      stateColour(r.state),
      r.status_source === 'screen' ? `${stateColour(r.activity)}*` : stateColour(r.activity),
      r.pane_pid === null ? '-' : String(r.pane_pid),
      String(r.restarts),
      r.last_exit_status === null ? '-' : String(r.last_exit_status),
      r.heartbeat.age_seconds === null ? stateColour(r.heartbeat.health) : `${stateColour(r.heartbeat.health)} ${r.heartbeat.age_seconds}s`,
      r.current_command ?? '-',
    ]),
  );
}
