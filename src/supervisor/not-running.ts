import { UserError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { failureReason, restartPending, type AgentRunState } from './state.js';

/**
 * The error for a verb that needs the agent's process (send, attach) when there is none: its pane is dead or
 * runs the respawn that sleeps out its backoff (a restart is coming), or the supervisor gave up on it (its run
 * state, read by the caller, says why). `nothing` says what did not happen; `retry` what to do while a restart
 * is coming.
 */
export function notRunningError(
  agent: AgentSpec,
  state: AgentRunState | undefined,
  words: { nothing: string; retry: string },
  now: number,
): UserError {
  const reason = failureReason(state);
  const status = state?.lastExitStatus;
  const when = restartPending(state, now) ? ` in ${Math.ceil((state!.nextStartAt! - now) / 1000)} s` : '';
  const why = reason
    ? `the supervisor gave up on it: ${reason}`
    : `its process has exited${status === undefined || status === null ? '' : ` with status ${status}`}; the supervisor restarts it${when}`;
  return new UserError(`agent "${agent.name}" is not running (${why}); ${words.nothing}`, {
    hint: reason ? `fix the cause, then \`mosaic fleet restart ${agent.name}\`` : words.retry,
  });
}
