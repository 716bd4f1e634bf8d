import type { AgentSpec } from '../roster/model.js';
import { failureReason, restartPending, type AgentRunState } from './state.js';
import type { AgentObservation, SupervisorDeps, SupervisorState } from './types.js';

/*
 * The read side of the built-in supervisor: one listing of the server's panes and what it
 * says about each agent. Kept apart from ./direct.js so `fleet ps` and `agent send` do not
 * load the launch machinery (a fifth of their start-up, measured at 500 agents).
 */

export const PANE_FIELDS = [
  'session_name',
  '@mosaic_agent',
  'pane_id',
  'pane_pid',
  'pane_dead',
  'pane_dead_status',
  'pane_dead_signal',
  'pane_dead_time',
  'window_activity',
  // The program's name is the process's own (a file name, or whatever it set): its control characters become
  // spaces in tmux, so an escape sequence never reaches a table and a tab or newline never splits the listing.
  's/[\x01-\x1f\x7f]/ /:pane_current_command',
  'pane_pipe',
  '@mosaic_holder',
] as const;

export interface PaneRow {
  session: string;
  /**
   * The session's `@mosaic_agent` mark: the agent mosaic made it for, '' when mosaic did not make it. Only a
   * session marked with an agent's name is that agent's: one that merely has its name is someone else's.
   */
  agent: string;
  paneId: string;
  panePid: number | null;
  dead: boolean;
  deadStatus: number | null;
  deadSignal: number | null;
  /** Epoch seconds when the pane died. */
  deadTime: number | null;
  activity: number | null;
  currentCommand: string;
  /** The pane's output is piped (to its transcript). */
  pipe?: boolean;
  /** The session carries `@mosaic_holder`: a fleet watchdog (the roster's holder, or one of an earlier holder_session). */
  holder?: boolean;
}

/** The outcome error for an agent whose session name is taken by a session mosaic did not make for it. */
export const notOurs = (agent: Pick<AgentSpec, 'name' | 'session'>, socket: string): string =>
  `session "${agent.session}" on socket ${socket} was not created by mosaic for agent "${agent.name}"; left alone`;

/** Each session's `@mosaic_agent` mark ('' when mosaic did not make it), by session name. */
export const marksBySession = (panes: readonly PaneRow[]): Map<string, string> => new Map(panes.map((pane) => [pane.session, pane.agent]));

/** One batched listing of every pane on our server. */
export async function listPanes(deps: Pick<SupervisorDeps, 'tmux'>): Promise<PaneRow[]> {
  const rows = await deps.tmux.list('list-panes', PANE_FIELDS);
  const num = (value: string | undefined): number | null => (value ? Number(value) : null);
  return rows.map(([session, agent, paneId, pid, dead, status, signal, deadTime, activity, command, pipe, holder]) => ({
    session: session!,
    agent: agent ?? '',
    paneId: paneId!,
    panePid: num(pid),
    dead: dead === '1',
    deadStatus: num(status),
    deadSignal: num(signal),
    deadTime: num(deadTime),
    activity: num(activity),
    currentCommand: command ?? '',
    pipe: pipe === '1',
    holder: holder === '1',
  }));
}

export function observeAgent(
  agent: AgentSpec,
  pane: PaneRow | undefined,
  state: AgentRunState | undefined,
  nowMs: number,
): AgentObservation {
  const base = {
    agent: agent.name,
    session: agent.session,
    paneId: pane?.paneId ?? null,
    panePid: pane && !pane.dead ? pane.panePid : null,
    paneDead: pane?.dead ?? false,
    currentCommand: pane && !pane.dead ? pane.currentCommand : null,
    restarts: state?.restarts ?? 0,
    lastExitStatus:
      state?.lastExitStatus ?? (pane?.dead ? (pane.deadStatus ?? (pane.deadSignal === null ? null : 128 + pane.deadSignal)) : null),
    activity: pane?.activity ?? null,
    failedReason: failureReason(state),
  };
  if (!pane) return { ...base, state: 'stopped' };
  if (state?.failed) return { ...base, state: 'failed' };
  if (pane.dead) return { ...base, state: state ? 'restarting' : 'dead' };
  if (restartPending(state, nowMs)) return { ...base, state: 'restarting' };
  return { ...base, state: 'running' };
}

/**
 * An agent whose session exists but runs nothing, and whom nothing will bring back: the supervisor gave up
 * on it (`failed`), or its pane is dead without run state (`dead`; the pane-died handler ignores such a
 * pane). `fleet start` restarts such an agent as `fleet restart` does (fresh crash counters) and reports
 * it started. `restarting` is not down: the supervisor is bringing the agent back (a respawn sleeping its
 * backoff in the pane, or a death the hook or watchdog is about to handle), so a start leaves it alone and
 * says it is already running; restarting it would cut its backoff short and reset the crash counters that
 * let the supervisor give up on a crash loop.
 */
export const isDown = (state: SupervisorState): boolean => state === 'failed' || state === 'dead';
