import type { FleetContext } from '../context/context.js';
import type { AgentSpec } from '../roster/model.js';

/** A supervisor acts on one fleet on one host. */
export type SupervisorDeps = FleetContext;

export type AgentOutcome =
  | { agent: string; result: 'started' | 'already-running' | 'stopped' | 'not-running' | 'restarted' }
  | { agent: string; result: 'error'; error: string; hint?: string };

export type SupervisorState = 'running' | 'restarting' | 'failed' | 'stopped' | 'dead';

/** One agent as the supervisor sees it, from one tmux listing and its state file. */
export interface AgentObservation {
  agent: string;
  session: string;
  state: SupervisorState;
  paneId: string | null;
  panePid: number | null;
  paneDead: boolean;
  currentCommand: string | null;
  restarts: number;
  lastExitStatus: number | null;
  /** Why the supervisor gave up on the agent (state failed), else null. */
  failedReason: string | null;
  /** Epoch seconds of the pane's last activity. */
  activity: number | null;
}

export interface Supervisor {
  readonly kind: 'builtin' | 'systemd';
  start(agents: readonly AgentSpec[], onProgress?: (done: number, total: number) => void): Promise<AgentOutcome[]>;
  stop(agents: readonly AgentSpec[]): Promise<AgentOutcome[]>;
  restart(agents: readonly AgentSpec[]): Promise<AgentOutcome[]>;
  observe(agents: readonly AgentSpec[]): Promise<AgentObservation[]>;
}
