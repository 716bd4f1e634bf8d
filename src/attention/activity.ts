import type { Heartbeat } from '../heartbeat/heartbeat.js';
import { CLAUDE, CODEX, OPENCODE, PI } from '../runtimes/detectors/runtimes.js';
import { locateInput } from '../runtimes/detectors/input-box.js';
import type { ScreenSpec } from '../runtimes/detectors/screen-spec.js';
import type { Screen } from '../runtimes/detectors/types.js';

/** What an agent is doing, for the operator: working, needs them, or free. */
export type Activity = 'busy' | 'waiting' | 'idle' | 'unknown';
export type ActivitySource = 'runtime' | 'screen' | 'none';

/** Why a waiting agent waits: a permission prompt (its runtime's own, or one on screen), or a dialog holding its input. */
export type WaitReason = 'permission' | 'dialog';

export interface ActivityReading {
  activity: Activity;
  source: ActivitySource;
  /** Seconds since the runtime reported this status (runtime source only). */
  age_seconds: number | null;
  detail: string;
  /** Set when activity is waiting. */
  reason?: WaitReason;
}

/** Screens that mean "the agent waits for the operator": permission and approval prompts, questions. */
const WAITING: Record<string, readonly RegExp[]> = {
  claude: [/Do you want to proceed\?/u, /Do you want to make this edit/u, /Esc to cancel · Tab to amend/u],
  codex: [
    /Would you like to run the following command\?/u,
    /Would you like to make the following edits\?/u,
    /Press enter to confirm or esc to cancel/u,
  ],
  opencode: [/Permission required/u, /Allow once\s+Allow always\s+Reject/u],
  pi: [],
};
const SPECS: Record<string, ScreenSpec> = { claude: CLAUDE, codex: CODEX, opencode: OPENCODE, pi: PI };

/**
 * A busy report younger than this is trusted even if the screen shows no work yet (the TUI may not
 * have drawn its spinner). Older, an idle screen wins: all four TUIs show a busy marker for the
 * whole turn, and a turn interrupted with Esc fires no hook to say it ended.
 */
export const BUSY_REPORT_TRUST_SECONDS = 3;

/**
 * Runtimes whose prompt can be on screen while their last report says busy: the screen decides
 * "waiting" for them (codex after its PermissionRequest waiter gave up, or with a config from
 * before the waiter existed).
 */
const NO_WAITING_HOOK = new Set(['codex']);

/** Only the bottom of the screen speaks about the present (old answers scroll above it). */
const tail = (screen: Screen, rows = 25): string[] => {
  const lines = [...screen.lines];
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines.slice(-rows);
};

/** Read activity off the visible screen: waiting markers first, then busy markers; else idle. */
export function screenActivity(runtime: string, screen: Screen): { activity: Activity; detail: string; reason?: WaitReason } {
  if (screen.dead) return { activity: 'unknown', detail: 'pane is dead' };
  const lines = tail(screen);
  if (lines.length === 0) return { activity: 'unknown', detail: 'blank screen' };
  const waiting = (WAITING[runtime] ?? []).find((pattern) => lines.some((line) => pattern.test(line)));
  if (waiting) return { activity: 'waiting', detail: `screen shows ${waiting.source}`, reason: 'permission' };
  const spec = SPECS[runtime];
  if (!spec) return { activity: 'unknown', detail: 'no screen rules for this runtime' };
  const busy = spec.busy.find((pattern) => lines.some((line) => pattern.test(line)));
  if (busy) return { activity: 'busy', detail: `screen shows ${busy.source}` };
  const blocker = spec.blockers.find((pattern) => lines.some((line) => pattern.test(line)));
  if (blocker) return { activity: 'waiting', detail: `a dialog holds the input (${blocker.source})`, reason: 'dialog' };
  // Idle means a message can be typed now (what `agent send` waits for): a TUI still drawing
  // itself after a start has no markers yet, and no input either.
  if (!locateInput(screen, spec.input)) return { activity: 'unknown', detail: `starting: no ${runtime} input box on screen yet` };
  return { activity: 'idle', detail: 'no busy or waiting marker on screen' };
}

/**
 * The hook events a runtime reports "idle" with as it starts (claude and codex SessionStart, pi
 * session_start, opencode session.created). They say the runtime is up, not that its input is
 * drawn: opencode reports from its server before its TUI has drawn anything.
 */
const START_EVENTS = new Set(['SessionStart', 'session_start', 'session.created']);
/**
 * How long after such a report the screen is read to see the input: one batched capture per `fleet ps`
 * for agents that have not had a turn yet. Past this, the report stands (a TUI that has not drawn by
 * then is broken, and `agent send` says so), and a big idle fleet costs no capture.
 */
export const STARTING_WINDOW_MS = 120_000;

export interface ReportedActivity {
  activity: Activity;
  at: Date;
  /** An "idle" reported as the runtime started: the screen says whether its input is there yet. */
  starting?: boolean;
}

/**
 * The runtime's own report, from heartbeat v1's extended fields (mosaic-report, or the stub's ok/busy).
 * `writerAlive`: the beat's writer is alive under the agent's pane. A beat from a process that is gone
 * (a restarted agent while its launcher sleeps the backoff) says nothing about the new one.
 */
export function reportedActivity(beat: Heartbeat | undefined, runtime: string, writerAlive = true): ReportedActivity | undefined {
  if (!beat || !writerAlive) return undefined;
  if (runtime === 'stub') return { activity: beat.status === 'busy' ? 'busy' : 'idle', at: beat.ts };
  if (beat.fields.source !== 'runtime') return undefined;
  const status = beat.status;
  if (status !== 'busy' && status !== 'waiting' && status !== 'idle') return undefined;
  const stamped = beat.fields.status_ts ? new Date(beat.fields.status_ts) : beat.ts;
  const at = Number.isNaN(stamped.getTime()) ? beat.ts : stamped;
  // The heartbeat's own time stands in for now: its loop refreshes it every interval.
  const starting = status === 'idle' && START_EVENTS.has(beat.fields.event ?? '') && beat.ts.getTime() - at.getTime() < STARTING_WINDOW_MS;
  return starting ? { activity: status, at, starting } : { activity: status, at };
}

/**
 * The runtime's report wins, with four corrections from the screen: an "idle" reported as the
 * runtime started, until its input is drawn; "waiting" for runtimes that have no hook for
 * permission prompts (codex); a reported wait whose prompt is gone from the screen (answered or
 * interrupted: no hook fires for that); and an old "busy" when the screen shows no sign of work (a
 * turn interrupted with Esc fires no Stop hook). Without a report, the screen decides.
 */
export function combineActivity(
  runtime: string,
  reported: ReportedActivity | undefined,
  screen: Screen | undefined,
  now: Date,
  staleAfterSeconds = BUSY_REPORT_TRUST_SECONDS,
): ActivityReading {
  const fromScreen = screen ? screenActivity(runtime, screen) : undefined;
  if (reported?.starting && fromScreen && fromScreen.activity !== 'idle') {
    return {
      activity: fromScreen.activity,
      source: 'screen',
      age_seconds: null,
      detail: `${fromScreen.detail} (${runtime} reported its start, not a turn)`,
      ...(fromScreen.reason ? { reason: fromScreen.reason } : {}),
    };
  }
  if (reported) {
    const age = Math.max(0, Math.round((now.getTime() - reported.at.getTime()) / 100) / 10);
    const screenSays = (detail: string): ActivityReading => ({
      activity: fromScreen!.activity,
      source: 'screen',
      age_seconds: null,
      detail: `${fromScreen!.detail} (${detail})`,
      ...(fromScreen!.reason ? { reason: fromScreen!.reason } : {}),
    });
    if (fromScreen?.activity === 'waiting' && reported.activity === 'busy' && NO_WAITING_HOOK.has(runtime)) {
      return screenSays(`${runtime} reports no permission prompts`);
    }
    // codex draws its busy footer while its PermissionRequest hook waits for `mosaic agent approve|deny`.
    const hookWaits = runtime === 'codex' && screen !== undefined && tail(screen).some((line) => /· Running hook/u.test(line));
    if (reported.activity === 'waiting' && (fromScreen?.activity === 'idle' || (fromScreen?.activity === 'busy' && !hookWaits))) {
      return screenSays('the reported prompt is no longer shown');
    }
    if (reported.activity === 'busy' && fromScreen?.activity === 'idle' && age > staleAfterSeconds) {
      return screenSays(`the busy report is ${age}s old`);
    }
    // Runtimes report "waiting" only from their permission events (PermissionRequest, permission.*).
    const reason: WaitReason | undefined = reported.activity === 'waiting' ? 'permission' : undefined;
    return {
      activity: reported.activity,
      source: 'runtime',
      age_seconds: age,
      detail: `reported by ${runtime}`,
      ...(reason ? { reason } : {}),
    };
  }
  if (fromScreen) {
    return {
      activity: fromScreen.activity,
      source: 'screen',
      age_seconds: null,
      detail: fromScreen.detail,
      ...(fromScreen.reason ? { reason: fromScreen.reason } : {}),
    };
  }
  return { activity: 'unknown', source: 'none', age_seconds: null, detail: 'no report from the runtime and no screen read' };
}

/** An agent that is not running (stopped, dead, restarting, failed) has no activity to read. */
export const notRunningActivity = (state: string): ActivityReading => ({
  activity: 'unknown',
  source: 'none',
  age_seconds: null,
  detail: `agent is ${state}`,
});

/** Which agents need their screen read: no report of their own, a busy/waiting report to check, or a start to see through. */
export function needsScreen(runtime: string, reported: Pick<ReportedActivity, 'activity' | 'starting'> | undefined): boolean {
  if (runtime === 'stub') return false;
  return !reported || reported.activity !== 'idle' || reported.starting === true;
}
