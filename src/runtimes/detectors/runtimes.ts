import type { ScreenSpec } from './screen-spec.js';
import { DEFAULT_TIMING } from './types.js';

/*
 * Screen specs for the real runtimes, checked against the screens under
 * test/fixtures/screens/, captured from the real TUIs in tmux: pi 0.73.1 (also driven by
 * the e2e tests), claude 2.1.197, codex 0.171.0 and opencode 1.18.33. Versions move:
 * re-capture and edit here.
 */

const NEVER = /(?!)/u;

export const PI: ScreenSpec = {
  runtime: 'pi',
  input: { kind: 'between-rules' },
  decoration: /[│]/gu,
  placeholders: [],
  pastePlaceholder: /\[paste #\d+[^\]]*\]/u,
  busy: [/Working\.\.\./u],
  queued: [/to edit all queued messages/u],
  responses: [/No API key found/u, /^\s*Error: /u],
  blockers: [],
  timing: DEFAULT_TIMING,
};

export const CLAUDE: ScreenSpec = {
  runtime: 'claude',
  input: { kind: 'between-rules' },
  decoration: /[❯>│]/gu,
  // While a turn runs, queued messages turn the empty input into this hint.
  placeholders: [/^\s*[❯>]\s*Try "/u, /Press up to edit queued messages/u],
  pastePlaceholder: /\[Pasted text #\d+[^\]]*\]/u,
  // The footer's hint, and the spinner line ("✶ Razzmatazzing…"), which stays when a status line
  // (mosaic-limit's, or the operator's) takes the footer. A finished turn says "✻ Baked for 3s".
  busy: [/esc to interrupt/u, /^[✻✽✶✳✢·*] \S+…/u],
  queued: [/Press up to edit queued messages/u],
  responses: [/^● /u, /^\s*⎿ /u],
  blockers: [
    /trust this folder|one you trust/iu,
    /Do you want to use this API key/u,
    /Do you want to proceed\?/u,
    /Press Enter to continue/u,
    /Select login method|Choose the text style/u,
  ],
  // Some versions ignore Enter on a fresh pane for seconds: keep retrying a while.
  timing: { ...DEFAULT_TIMING, enterRetryMs: [400, 800, 1500, 2500] },
};

export const CODEX: ScreenSpec = {
  runtime: 'codex',
  input: { kind: 'prompt-line', prompt: '›' },
  decoration: /[›]/gu,
  placeholders: [/Ask Codex to do anything/u],
  pastePlaceholder: /\[Pasted Content \d+ chars\]/u,
  busy: [/esc to interrupt/u, /^\s*[•◦] Working/u],
  // Messages sent during a turn wait above the composer, each on a `↳` line.
  queued: [/Messages to be submitted after next tool call/u, /^\s*↳ /u],
  responses: [/^• (?!Working|Messages to be submitted)/u, /^■ /u],
  blockers: [
    /Trust all and continue/u,
    /Continue without trusting/u,
    /Do you trust the contents/u,
    /Sign in with ChatGPT/u,
    /Press enter to continue/iu,
  ],
  // codex reads an Enter that follows a paste burst within ~120 ms as a newline.
  timing: { ...DEFAULT_TIMING, settleMs: 150, enterRetryMs: [400, 800, 1500] },
};

export const OPENCODE: ScreenSpec = {
  runtime: 'opencode',
  input: { kind: 'left-border', border: '┃', bottomEdge: /^\s*╹▀/u },
  decoration: /[┃]/gu,
  placeholders: [/Ask anything/u],
  pastePlaceholder: /\[Pasted ~?\d+ lines?\]/u,
  // The progress bar stays when a long status line squeezes "esc interrupt" out of the footer.
  busy: [/esc interrupt/u, /^\s*[■⬝]{8}/u],
  queued: [/\bQUEUED\b/u],
  responses: [/^\s*▣ /u],
  blockers: [],
  // opencode's first start shows a blank screen for many seconds: be patient with Enter.
  timing: { ...DEFAULT_TIMING, enterRetryMs: [400, 800, 1500] },
};

/** Any line-oriented program: the draft is on the cursor's line; it leaves when submitted. */
export const GENERIC: ScreenSpec = {
  runtime: 'generic',
  input: { kind: 'cursor-line' },
  decoration: NEVER,
  placeholders: [],
  pastePlaceholder: NEVER,
  busy: [],
  queued: [],
  responses: [],
  blockers: [],
  timing: DEFAULT_TIMING,
  reactionRequired: true,
};
