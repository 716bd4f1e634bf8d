import { UserError } from '../core/errors.js';
import { appendEvents, type NewFleetEvent } from '../events/log.js';
import { acquireAgentLock, type AgentLock } from '../system/lock.js';
import { fileExists } from '../system/fs.js';
import { zombieWaitStatus } from '../system/proc.js';
import { joinCommands, type TmuxClient } from '../tmux/client.js';
import { decideAfterCrash } from './crash-policy.js';
import { launcherScript } from './hook.js';
import { recordFleetCrash } from './fleet-crashes.js';
import { launchSpecFile } from '../roster/paths.js';
import { readRunState, writeRunState } from './state.js';

export interface PaneDiedEvent {
  agent: string;
  paneId: string;
  /** PID of the process that exited: the key that makes handling idempotent. */
  deadPid: number | null;
  exitStatus: number | null;
  exitSignal: number | null;
  /** Epoch seconds tmux stamped on the death; null when tmux skipped its pane-died path or has not reaped the process. */
  deadTime: number | null;
  /** Reported by the watchdog or a reader rather than by the hook itself. */
  backstop: boolean;
}

export type PaneDiedResult = 'ignored' | 'deferred' | 'respawn-scheduled' | 'failed';

/** What was done; `reason` says why the agent was given up on (result failed). */
export interface PaneDiedOutcome {
  result: PaneDiedResult;
  reason?: string;
  /** Another path (hook, watchdog, reader) had already handled this very death. */
  duplicate?: boolean;
}

/** One supervisor.log line per death: not for a death left to the hook, nor for one another path already handled. */
export const loggedOutcome = (outcome: PaneDiedOutcome): boolean => outcome.result !== 'deferred' && !outcome.duplicate;

/** Which path handled a death: the tmux hook, the fleet watchdog, or a reading command (status, ps). */
export type PaneDiedHandler = 'hook' | 'watchdog' | 'reader';

/** The supervisor.log line for one handled exit, the same whichever path handled it. */
export function paneDiedLogLine(event: PaneDiedEvent, outcome: PaneDiedOutcome, by: PaneDiedHandler, at: Date): string {
  const how = event.exitSignal ? `signal ${event.exitSignal}` : `status ${event.exitStatus ?? '?'}`;
  const why = outcome.reason ? ` (${outcome.reason})` : '';
  return `${at.toISOString()} ${by}: ${event.agent} (${event.paneId}, pid ${event.deadPid ?? '?'}) exited with ${how}: ${outcome.result}${why}`;
}

/**
 * The exit status from the kernel when tmux does not have it. tmux fills in pane_dead_status/signal
 * when it reaps the pane's process; until then (a moment after the pane's tty closed, or for good when
 * tmux 3.3a skips its pane-died path: decision 001) the process is a zombie, whose wait status the
 * kernel keeps. Readers and the watchdog used to log such deaths as "status ?".
 */
export function withZombieStatus(event: PaneDiedEvent, procRoot?: string): PaneDiedEvent {
  if (event.exitStatus !== null || event.exitSignal !== null || event.deadPid === null) return event;
  const wait = zombieWaitStatus(event.deadPid, procRoot);
  if (wait === undefined) return event;
  const signal = wait & 0x7f; // the core-dump bit (0x80) aside
  return signal === 0 ? { ...event, exitStatus: (wait >> 8) & 0xff } : { ...event, exitSignal: signal };
}

/** Grace given to the hook (a Node start-up) before a backstop handles a death itself. */
export const HOOK_GRACE_MS = 2000;

/** A handler holds the agent's lock for a state read, a few file writes and one tmux call. */
const HANDLER_LOCK_TIMEOUT_MS = 5000;

export interface PaneDiedDeps {
  tmux: TmuxClient;
  runDir: string;
  now: () => number;
  /** Where the fleet event log is (crash, restart, failed). */
  logsDir?: string;
}

/**
 * Called when an agent's process has exited: by the tmux pane-died hook, by the fleet
 * watchdog, or by a reader that sees an unhandled dead pane. Decides between a delayed
 * respawn (the delay is slept inside the pane by the launcher) and giving up as `failed`.
 * Handling is idempotent per dead PID, so the three paths never double-count a crash.
 */
export async function handlePaneDied(event: PaneDiedEvent, deps: PaneDiedDeps): Promise<PaneDiedOutcome> {
  const now = deps.now();
  // tmux stamps pane_dead_time exactly when it runs the hook; with a stamp, let the hook act first.
  if (event.backstop && event.deadTime !== null && now - event.deadTime * 1000 < HOOK_GRACE_MS) return { result: 'deferred' };
  // Two paths can still get here for one death at once: the watchdog and a reader when tmux skipped
  // the hook (no stamp), or the hook and a backstop past the grace. Each reads the run state, checks
  // `handledPid` and writes it back: under this lock only one of them counts the death.
  let lock: AgentLock;
  try {
    lock = await acquireAgentLock(deps.runDir, event.agent, {
      purpose: 'supervise',
      timeoutMs: HANDLER_LOCK_TIMEOUT_MS,
      createRunDir: false,
    });
  } catch (error) {
    if (error instanceof UserError) return { result: 'deferred' }; // another handler is on it; the watchdog asks again
    // No lock file can be made: the run dir was removed under a late hook (nothing of ours to handle,
    // nothing to recreate), or it is read-only or full. Handle the death without the lock, as before
    // there was one: bookkeeping that cannot be written must not cost the agent its restart.
    if (typeof (error as NodeJS.ErrnoException).code === 'string') return handleDeath(event, deps, now);
    throw error;
  }
  try {
    return await handleDeath(event, deps, now);
  } finally {
    await lock.release();
  }
}

async function handleDeath(event: PaneDiedEvent, deps: PaneDiedDeps, now: number): Promise<PaneDiedOutcome> {
  // The watchdog lists only dead panes whose @mosaic_handled differs from their PID.
  const markHandled = event.deadPid === null ? [] : ['set-option', '-p', '-t', event.paneId, '@mosaic_handled', String(event.deadPid)];
  const mark = async (): Promise<void> => {
    if (markHandled.length > 0) await deps.tmux.run(markHandled, { allowFailure: true });
  };
  const state = await readRunState(deps.runDir, event.agent);
  const spec = launchSpecFile(deps.runDir, event.agent);
  const duplicate = state !== undefined && event.deadPid !== null && state.handledPid === event.deadPid;
  if (!state || state.failed || !(await fileExists(spec)) || duplicate) {
    // Not ours, already given up, or already handled: just make sure the watchdog stops asking.
    await mark();
    return duplicate ? { result: 'ignored', duplicate } : { result: 'ignored' };
  }
  state.handledPid = event.deadPid;
  // Bookkeeping that cannot be written (a full disk, a read-only run dir) must not cost the agent
  // its restart: it is restarted anyway, and the reason says what was not recorded.
  const unrecorded: string[] = [];
  const fleetCrashes = await recordFleetCrash(deps.runDir, event.agent, now, state.policy.windowSeconds).catch((error: unknown) => {
    unrecorded.push(`fleet crash record: ${(error as Error).message}`);
    return 0;
  });
  const saveState = (): Promise<void> =>
    writeRunState(deps.runDir, state).catch((error: unknown) => {
      unrecorded.push(`run state: ${(error as Error).message}`);
    });
  const { decision, crashes } = decideAfterCrash(state.crashes, now, state.policy, fleetCrashes);
  state.crashes = crashes;
  state.lastExitStatus = event.exitStatus ?? (event.exitSignal === null ? null : 128 + event.exitSignal);
  // Logged once per death: only the handler that claimed this PID gets here.
  const crash: NewFleetEvent = {
    type: 'crash',
    agent: event.agent,
    ts: new Date(now).toISOString(), // when handled: tmux's death stamp has whole seconds only
    pid: event.deadPid,
    exit_status: event.exitStatus,
    signal: event.exitSignal,
    detected_by: event.backstop ? 'backstop' : 'hook',
  };
  const log = (followUp?: NewFleetEvent): Promise<void> =>
    deps.logsDir
      ? appendEvents(deps.logsDir, followUp ? [crash, { ...followUp, ts: new Date(now).toISOString() }] : [crash])
      : Promise.resolve();
  if (decision.action === 'fail') {
    state.failed = true;
    state.failedReason = decision.reason;
    state.nextStartAt = null;
    await saveState();
    await mark();
    await log({ type: 'failed', agent: event.agent, reason: decision.reason, restarts: state.restarts });
    return { result: 'failed', reason: [decision.reason, ...unrecorded].join('; ') };
  }
  state.restarts += 1;
  state.nextStartAt = now + decision.delayMs;
  await saveState();
  const seconds = (decision.delayMs / 1000).toFixed(3);
  const how = event.exitSignal ? `signal ${event.exitSignal}` : `status ${event.exitStatus ?? '?'}`;
  const notice = `mosaic: ${event.agent} exited (${how}); restart ${state.restarts} in ${seconds}s (crash ${decision.crashesInWindow} of ${state.policy.maxCrashes} allowed in ${state.policy.windowSeconds}s)`;
  // Target the pane by id: it is the one that died, whatever happened to names since.
  const respawn = ['respawn-pane', '-t', event.paneId, '--', 'sh', launcherScript(), spec, seconds, notice];
  const result = await deps.tmux.run(markHandled.length > 0 ? joinCommands([markHandled, respawn]) : respawn, { allowFailure: true });
  // "still active": an explicit restart got there first, which is fine.
  if (result.status !== 0 && !/still active/.test(result.stderr)) {
    await log();
    throw new Error(`respawn of ${event.agent} (${event.paneId}) failed: ${result.stderr.trim()}`);
  }
  await log({
    type: 'restart',
    agent: event.agent,
    trigger: 'crash',
    restarts: state.restarts,
    delay_ms: decision.delayMs,
    crashes_in_window: decision.crashesInWindow,
    max_crashes: state.policy.maxCrashes,
    window_seconds: state.policy.windowSeconds,
  });
  return unrecorded.length > 0
    ? { result: 'respawn-scheduled', reason: `not recorded: ${unrecorded.join('; ')}` }
    : { result: 'respawn-scheduled' };
}
