import { locateInput, outsideInput, type InputLocator, type InputRegion } from './input-box.js';
import { containsNeedle, countMatches, isBlank, needleCount, sameText, squeeze } from './text.js';
import type { AcceptanceDetector, MessageProbe, Observation, Screen, SubmitTiming } from './types.js';

/**
 * Everything a detector needs to know about one runtime's screen, as data. Adding a
 * runtime (or following a new version) means adding or editing one of these, plus a
 * captured screen fixture under test/fixtures/screens/.
 */
export interface ScreenSpec {
  runtime: string;
  input: InputLocator;
  /** Prompt glyphs and borders around the input text (removed before reading it). */
  decoration: RegExp;
  /** What an empty input shows. */
  placeholders: readonly RegExp[];
  /** What the input shows instead of a long paste (e.g. `[paste #1 +101 lines]`). */
  pastePlaceholder: RegExp;
  /** The runtime is working on a prompt. */
  busy: readonly RegExp[];
  /** The runtime took the message but will read it after the current turn. */
  queued: readonly RegExp[];
  /** Lines the runtime prints when it has taken a prompt (an answer, an error about the model). */
  responses: readonly RegExp[];
  /** Dialogs that take the keyboard: named in the detail when nothing else is conclusive. */
  blockers: readonly RegExp[];
  timing: SubmitTiming;
  /** A cleared input is no proof (the terminal's own echo clears it): only new output counts as acceptance. */
  reactionRequired?: boolean;
}

/**
 * A runtime that was busy when we pasted (its screen or its own report said so) queues what is
 * submitted, and draws it a moment later: the queue marker, or the message in its transcript
 * once the turn is over. Until one of them shows (at most this long after Enter), a cleared
 * input is not yet evidence of anything. A loaded machine (a TUI that posts the message to its
 * own server, as opencode does) can take well over a second.
 */
export const QUEUE_WAIT_MS = 5000;
/** Once the message shows outside the input, how long its queue marker gets to follow it. */
export const QUEUE_GRACE_MS = 600;

export function screenDetector(spec: ScreenSpec): AcceptanceDetector {
  const inputText = (input: InputRegion): string =>
    squeeze(input.lines.map((line) => line.replace(spec.decoration, ' '))).replace(/[\u2500-\u257f]/gu, '');
  const isEmpty = (input: InputRegion): boolean => {
    const text = inputText(input);
    return text === '' || spec.placeholders.some((p) => p.test(input.lines.join('\n')));
  };
  const holdsDraft = (input: InputRegion, probe: MessageProbe): boolean => {
    if (containsNeedle(input.lines, probe.needle)) return true;
    if (input.lines.some((line) => spec.pastePlaceholder.test(line))) return true;
    if (probe.needle === undefined) {
      // Nothing we can recognise in the text: a non-empty input that was not there before.
      const before = locateInput(probe.before, spec.input);
      return !isEmpty(input) && (!before || inputText(before) !== inputText(input));
    }
    return false;
  };
  const grew = (screen: Screen, reference: Screen, patterns: readonly RegExp[]): boolean =>
    countMatches(screen.lines, patterns) > countMatches(reference.lines, patterns);

  return {
    runtime: spec.runtime,
    timing: spec.timing,
    ready(screen) {
      if (isBlank(screen)) return { ready: false, detail: 'the pane shows nothing' };
      const blocker = screen.lines.find((line) => spec.blockers.some((p) => p.test(line)));
      if (blocker) return { ready: false, detail: `a dialog holds the keyboard: "${blocker.trim()}"` };
      if (!locateInput(screen, spec.input)) return { ready: false, detail: `no ${spec.runtime} input box on screen` };
      return { ready: true };
    },
    draftVisible(screen, probe) {
      const input = locateInput(screen, spec.input);
      return input !== undefined && holdsDraft(input, probe);
    },
    classify(screen, probe, sinceEnterMs): Observation {
      if (isBlank(screen)) return { kind: 'blank', detail: 'the pane shows nothing' };
      const reference = probe.draft ?? probe.before;
      const input = locateInput(screen, spec.input);
      if (grew(screen, reference, spec.queued)) return { kind: 'queued', detail: `${spec.runtime} queued it behind the current turn` };
      if (!input) {
        const blocker = screen.lines.find((line) => spec.blockers.some((p) => p.test(line)));
        return blocker
          ? { kind: 'waiting', detail: `a dialog holds the keyboard: "${blocker.trim()}"` }
          : { kind: 'waiting', detail: `no ${spec.runtime} input box on screen` };
      }
      if (holdsDraft(input, probe)) return { kind: 'draft', detail: 'the text is still in the input' };
      const outside = outsideInput(screen, input);
      const busyNow = grew(screen, probe.before, spec.busy);
      const answered = grew(screen, reference, spec.responses);
      if (!probe.draft) {
        // We never saw the draft, so an empty input proves nothing: only the runtime's reaction counts.
        const echoed = containsNeedle(outside, probe.needle) && !containsNeedle(probe.before.lines, probe.needle);
        if (busyNow || answered || echoed) return { kind: 'accepted', detail: `${spec.runtime} reacted to the message` };
        return { kind: 'waiting', detail: 'the text never showed in the input' };
      }
      const outsideBefore = outsideInput(reference, locateInput(reference, spec.input));
      const busyAtPaste = countMatches(probe.before.lines, spec.busy) > 0 || probe.reportedBusy === true;
      if (busyAtPaste && spec.queued.length > 0) {
        // Busy when we pasted: the runtime queues what is submitted, and shows it a little later.
        if (countMatches(screen.lines, spec.queued) > 0)
          return { kind: 'queued', detail: `${spec.runtime} is busy; the message waits in its queue` };
        const shown = needleCount(outside, probe.needle) > needleCount(outsideBefore, probe.needle);
        if (sinceEnterMs < (shown ? QUEUE_GRACE_MS : QUEUE_WAIT_MS))
          return { kind: 'waiting', detail: 'input cleared while busy; looking for the queue', settling: true };
      }
      if (busyNow) return { kind: 'accepted', detail: `input cleared; ${spec.runtime} is working on it` };
      if (answered) return { kind: 'accepted', detail: `input cleared; ${spec.runtime} answered` };
      if (spec.reactionRequired && nothingNewPrinted(screen, reference)) {
        // A line-oriented program's input is the terminal's: the echoed Enter clears the cursor's
        // line whether or not the program ever reads it. Only its own output is evidence.
        return { kind: 'waiting', detail: 'only the terminal echoed the Enter; the program has printed nothing since' };
      }
      if (isEmpty(input)) return { kind: 'accepted', detail: 'input cleared on submit' };
      // A spinner or progress bar redrawn is not the screen moving on.
      const settled = (lines: string[]): string[] => lines.filter((line) => !spec.busy.some((p) => p.test(line)));
      if (!sameText(settled(outside), settled(outsideBefore))) {
        return { kind: 'accepted', detail: 'the draft left the input and the screen moved on' };
      }
      return { kind: 'waiting', detail: 'the draft left the input; waiting for the runtime to react' };
    },
  };
}

/** The same non-blank rows as the reference, in the same order: the cursor moved, nothing was printed. */
function nothingNewPrinted(screen: Screen, reference: Screen): boolean {
  const rows = (lines: readonly string[]): string[] => lines.map((line) => line.replace(/\r/g, '').trimEnd()).filter((line) => line !== '');
  const now = rows(screen.lines);
  const then = rows(reference.lines);
  return now.length === then.length && now.every((line, i) => line === then[i]);
}
