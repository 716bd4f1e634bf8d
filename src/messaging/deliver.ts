import type { AcceptanceDetector, AckSource, MessageProbe, Observation, Readiness, Screen } from '../runtimes/detectors/types.js';
import { posixCksum } from '../runtimes/detectors/cksum.js';
import { needleOf } from '../runtimes/detectors/text.js';
import { monotonicMs } from '../system/clock.js';

/** What `--verify` reports. `sent`: submitted without --verify and no evidence awaited past a short window. */
export type SendStatus = 'accepted' | 'queued' | 'draft' | 'unverifiable' | 'sent';

export interface DeliveryOutcome {
  status: SendStatus;
  detail: string;
  enterPresses: number;
  /** Whether the text was pasted at all (an agent that never became ready gets nothing). */
  pasted: boolean;
}

/** The tmux side of a delivery, injectable so the loop can be tested without tmux. */
export interface PaneIo {
  /** Capture the screen, then paste `text` (one call). Returns the screen before the paste. */
  snapshotAndPaste(text: string): Promise<Screen>;
  capture(): Promise<Screen>;
  pressEnter(): Promise<void>;
}

export interface DeliveryRequest {
  sendId: string;
  agent: string;
  text: string;
  detector: AcceptanceDetector;
  /** Give up waiting for evidence after this long (from the start of the delivery). */
  timeoutMs: number;
  /** Without --verify: stop at the first evidence or after a short window, and never fail on it. */
  verify: boolean;
  ackSources?: readonly AckSource[];
  /** Does the runtime's own report say it is busy (asked just before the paste)? */
  reportsBusy?: () => boolean;
  /** Sees every step and the screen it judged (MOSAIC_SEND_TRACE): why a verdict was reached. */
  trace?: (step: DeliveryStep) => void;
}

/** One step of a delivery, for tracing. */
export interface DeliveryStep {
  /** Milliseconds since the delivery started. */
  atMs: number;
  step: 'paste' | 'draft' | 'enter' | 'observe';
  detail?: string;
  reportedBusy?: boolean;
  observation?: Observation;
  screen?: readonly string[];
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: monotonicMs,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Without --verify we still retry a lost Enter, but do not wait long for evidence. */
export const UNVERIFIED_WINDOW_MS = 2000;

/**
 * Poll quickly at first (most runtimes react within milliseconds), then back off; a wait
 * that is already long (a loaded machine, a slow runtime) polls at a tenth of its age, so
 * many concurrent senders do not add a storm of tmux processes to the load.
 */
const POLL_MS = [2, 5, 10, 15, 25, 35, 50];
const MAX_POLL_MS = 150;
const pollPause = (i: number, waitedMs = 0): number =>
  Math.max(POLL_MS[Math.min(i, POLL_MS.length - 1)]!, Math.min(waitedMs / 10, MAX_POLL_MS));

export function probeFor(text: string, before: Screen): MessageProbe {
  return { text, bytes: Buffer.byteLength(text), cksum: posixCksum(text), needle: needleOf(text), before, draft: undefined };
}

/**
 * Paste, see the draft, press Enter, then watch for evidence until the deadline: retry
 * Enter (never the body) while the draft stays in the input, a bounded number of times.
 * Returns as soon as the evidence is in; fails closed when there is none.
 */
export async function deliver(io: PaneIo, request: DeliveryRequest, clock: Clock = realClock): Promise<DeliveryOutcome> {
  const { detector } = request;
  const timing = detector.timing;
  const started = clock.now();
  // 0. Paste only into an input that is there and free: text typed into a dialog or a
  //    half-started TUI is lost, and the Enter after it could answer the dialog.
  for (let i = 0; ; i++) {
    const screen = await io.capture();
    const readiness: Readiness = screen.inMode
      ? { ready: false, detail: 'the pane is in copy mode (someone is scrolling it); keys would go to tmux, not the agent' }
      : detector.ready(screen);
    if (readiness.ready) break;
    if (clock.now() >= started + request.timeoutMs / 2) {
      return {
        status: 'unverifiable',
        detail: `nothing was sent: the agent is not ready for input (${readiness.detail})`,
        enterPresses: 0,
        pasted: false,
      };
    }
    await clock.sleep(pollPause(i + 3, clock.now() - started));
  }
  const trace = (step: Omit<DeliveryStep, 'atMs'>): void => request.trace?.({ atMs: Math.round(clock.now() - started), ...step });
  const reportedBusy = request.reportsBusy?.() ?? false;
  const before = await io.snapshotAndPaste(request.text);
  const pastedAt = clock.now();
  trace({ step: 'paste', reportedBusy, screen: before.lines });
  const deadline = request.verify ? started + request.timeoutMs : pastedAt + Math.min(request.timeoutMs, UNVERIFIED_WINDOW_MS);
  const probe = { ...probeFor(request.text, before), reportedBusy };
  const pending = { sendId: request.sendId, agent: request.agent, text: request.text, pastedAt: Date.now() };

  // 1. Wait until the draft shows (bounded: half the time left at most), then let it settle.
  const draftDeadline = Math.min(pastedAt + timing.draftWaitMs, pastedAt + (deadline - pastedAt) / 2);
  for (let i = 0; ; i++) {
    const screen = await io.capture();
    if (detector.draftVisible(screen, probe)) {
      probe.draft = screen;
      trace({ step: 'draft', detail: 'the draft shows', screen: screen.lines });
      break;
    }
    if (clock.now() >= draftDeadline) {
      trace({ step: 'draft', detail: 'the draft never showed', screen: screen.lines });
      break;
    }
    await clock.sleep(pollPause(i, clock.now() - pastedAt));
  }
  const settle = pastedAt + timing.settleMs - clock.now();
  if (settle > 0) await clock.sleep(settle);

  // 2. Enter, then watch. A large text can still be on its way into the program when the first Enter lands
  //    behind it: the screen shows the echoed draft while the program reads. An Enter retried then is not a
  //    lost one found again but a second submission (an empty line, or an answer to whatever asks next), so
  //    the retries wait longer for larger texts (300 KiB took a stub 1.2 s to read here).
  const readAllowanceMs = Math.floor(probe.bytes / READ_BYTES_PER_MS);
  await io.pressEnter();
  trace({ step: 'enter' });
  let presses = 1;
  let lastEnter = clock.now();
  const firstEnter = lastEnter;
  let last: Observation = { kind: 'waiting', detail: 'no evidence yet' };
  let queuedSince: number | undefined;
  let queuedDetail = '';
  // Without --verify every outcome but evidence is "sent" (exit 0), but the words still say what was seen: a
  // text seen left in the input after the Enter presses was not submitted.
  const finish = (status: SendStatus, detail: string): DeliveryOutcome => {
    if (request.verify || status === 'accepted' || status === 'queued') return { status, detail, enterPresses: presses, pasted: true };
    const seen = status === 'draft' ? `not verified, and it looks left as a draft: ${detail}` : `submitted, not verified: ${detail}`;
    return { status: 'sent', detail: seen, enterPresses: presses, pasted: true };
  };
  for (let i = 0; ; i++) {
    await clock.sleep(pollPause(i, clock.now() - firstEnter));
    const screen = await io.capture();
    last = detector.classify(screen, probe, clock.now() - firstEnter);
    trace({ step: 'observe', observation: last, screen: screen.lines });
    if (last.kind === 'accepted') return finish(last.kind, withRetries(last.detail, presses));
    if (last.kind === 'queued') {
      // A runtime may hold a prompt briefly while its own start-up hooks run (codex's first
      // prompt waits for SessionStart): give its acknowledgement a moment to say "accepted".
      queuedSince ??= clock.now();
      queuedDetail = last.detail;
      for (const source of request.ackSources ?? []) {
        const reported = await source.check(pending);
        if (reported?.kind === 'accepted' || reported?.kind === 'queued')
          return finish(reported.kind, `${source.name}: ${reported.detail}`);
      }
      if ((request.ackSources ?? []).length === 0 || clock.now() - queuedSince >= QUEUE_CONFIRM_MS || clock.now() >= deadline) {
        return finish('queued', withRetries(last.detail, presses));
      }
      continue;
    }
    // The screen is not conclusive: the runtime's own report may be (unless the screen is
    // about to say whether a busy runtime queued it: a prompt hook fires for queued ones too).
    for (const source of last.kind === 'waiting' && last.settling ? [] : (request.ackSources ?? [])) {
      const reported = await source.check(pending);
      if (reported?.kind === 'accepted' || reported?.kind === 'queued') return finish(reported.kind, `${source.name}: ${reported.detail}`);
    }
    const now = clock.now();
    // Seen queued, then the screen went on to another message taken before ours (a stub working through several):
    // ours still waits in the queue, and the screen will not show it again until its turn.
    if (queuedSince !== undefined && last.kind === 'waiting' && (now - queuedSince >= QUEUE_CONFIRM_MS || now >= deadline)) {
      return finish('queued', withRetries(queuedDetail, presses));
    }
    if (last.kind === 'draft') {
      probe.draft = screen;
      const retry = timing.enterRetryMs[presses - 1];
      if (retry !== undefined && now - lastEnter >= retry + readAllowanceMs && now < deadline) {
        await io.pressEnter();
        presses++;
        lastEnter = clock.now();
        trace({ step: 'enter', detail: `press ${presses}` });
        continue;
      }
      // The Enter presses are spent; the text may still be taken by a slow or loaded runtime, so
      // "draft" is said only at the deadline (saying it earlier invited a resend that duplicates).
    }
    if (now >= deadline) break;
  }
  const waited = Math.round(clock.now() - started);
  if (last.kind === 'draft') return finish('draft', `${last.detail} after ${presses} Enter presses (${waited} ms)`);
  return finish('unverifiable', `no evidence of acceptance within ${waited} ms: ${last.detail}`);
}

/** The slowest reading of a pasted text an Enter retry allows for: 100 bytes a millisecond (10 ms per KB). */
export const READ_BYTES_PER_MS = 100;

/** How long a screen that shows the message queued waits for the runtime's own word before saying "queued". */
export const QUEUE_CONFIRM_MS = 1500;

function withRetries(detail: string, presses: number): string {
  return presses > 1 ? `${detail} (Enter pressed ${presses} times)` : detail;
}
