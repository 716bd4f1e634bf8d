/**
 * Acceptance detectors: how to tell, from what an agent's pane shows (or from what the
 * runtime itself reports), whether a message sits as an unsent draft or was taken.
 */

/** The visible screen of one pane (the alternate screen when a full-screen TUI is up). */
export interface Screen {
  /** One entry per screen row, trailing spaces removed (tmux capture-pane -p, no -J). */
  lines: string[];
  width: number;
  height: number;
  /** 0-based row of the cursor. */
  cursorY: number;
  alternate: boolean;
  dead: boolean;
  /** The pane shows a tmux mode (copy mode: someone scrolls it); keys go to the mode, not the agent. */
  inMode?: boolean;
  /** The session's `@mosaic_agent` mark ('' on a session mosaic did not make); absent where not read. */
  mark?: string;
}

/** What the detector knows about the message being delivered. */
export interface MessageProbe {
  /** The exact text pasted (preamble included). */
  text: string;
  /** UTF-8 byte length of text. */
  bytes: number;
  /** POSIX cksum CRC of text (what the stub agent reports). */
  cksum: number;
  /**
   * A short run of the text's last visible characters, whitespace removed, that a terminal
   * shows unchanged; undefined when the text has none (then only screen changes count).
   */
  needle: string | undefined;
  /** The screen just before the paste. */
  before: Screen;
  /** The screen on which the draft was first seen, if it was. */
  draft: Screen | undefined;
  /** The runtime's own report said busy when we pasted: its TUI may not show the turn yet. */
  reportedBusy?: boolean;
}

export type Observation =
  /** The runtime took the message and is working on it (or done). */
  | { kind: 'accepted'; detail: string }
  /** The runtime took it but will read it after its current turn. */
  | { kind: 'queued'; detail: string }
  /** Our text sits in the input, not submitted. */
  | { kind: 'draft'; detail: string }
  /** The pane shows nothing at all: no evidence either way. */
  | { kind: 'blank'; detail: string }
  /**
   * Nothing conclusive yet. `settling`: the screen is about to tell (e.g. whether a busy
   * runtime queued the message), so other evidence should not decide before it does.
   */
  | { kind: 'waiting'; detail: string; settling?: boolean };

export type Readiness = { ready: true } | { ready: false; detail: string };

/** When to press Enter, and how often to retry it. */
export interface SubmitTiming {
  /** Earliest Enter after the paste (codex reads an Enter right after a paste burst as a newline). */
  settleMs: number;
  /** How long to wait for the draft to show before pressing Enter anyway. */
  draftWaitMs: number;
  /** Retry Enter (never the body) this long after the previous Enter while the draft is still there. */
  enterRetryMs: readonly number[];
}

export interface AcceptanceDetector {
  readonly runtime: string;
  readonly timing: SubmitTiming;
  /** Before the paste: is the input there and free (no dialog holding the keyboard)? */
  ready(screen: Screen): Readiness;
  /** Before Enter: is the pasted text visible in the input yet? */
  draftVisible(screen: Screen, probe: MessageProbe): boolean;
  /** After Enter (`sinceEnterMs` after the first one): what the screen says about the message. */
  classify(screen: Screen, probe: MessageProbe, sinceEnterMs: number): Observation;
}

/**
 * Evidence reported by the runtime itself (a hook writing an ack or status file, a
 * heartbeat that turns busy). Consulted before the screen on every poll; a definite
 * answer (accepted/queued) wins. `undefined` means "nothing to say".
 */
export interface AckSource {
  readonly name: string;
  check(send: PendingSend): Promise<Observation | undefined>;
}

/** A send in flight, as an AckSource sees it. */
export interface PendingSend {
  sendId: string;
  agent: string;
  text: string;
  /** Epoch ms when the paste went in. */
  pastedAt: number;
}

export const DEFAULT_TIMING: SubmitTiming = {
  settleMs: 0,
  draftWaitMs: 1500,
  enterRetryMs: [300, 600, 1200],
};
