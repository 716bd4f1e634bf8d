import { describe, expect, it } from 'vitest';

/** Long enough after Enter that a busy runtime's queue would show. */
const AFTER_GRACE = 1000;
import { detectorFor } from './index.js';
import { QUEUE_GRACE_MS, QUEUE_WAIT_MS } from './screen-spec.js';
import { blankScreen, MESSAGE, probe, screen } from '../../../test/unit/screen-fixtures.js';

/** Every real runtime: ready on its idle screen, sees the draft, and tells the outcomes apart. */
const CASES = [
  {
    runtime: 'claude',
    busy: 'busy',
    answered: 'answered',
    queued: 'queued',
    placeholder: 'draft-paste-placeholder',
    dialog: 'trust-dialog',
  },
  {
    runtime: 'codex',
    busy: 'busy',
    answered: 'answered',
    queued: 'queued',
    placeholder: 'draft-paste-placeholder',
    dialog: 'hooks-trust-dialog',
  },
  {
    runtime: 'opencode',
    busy: 'busy',
    answered: 'after-submit',
    queued: 'queued',
    placeholder: 'draft-paste-placeholder',
    dialog: undefined,
  },
  {
    runtime: 'pi',
    busy: undefined,
    answered: 'after-submit',
    queued: undefined,
    placeholder: 'draft-paste-placeholder',
    dialog: undefined,
  },
] as const;

describe.each(CASES)('$runtime detector on captured screens', (c) => {
  const detector = detectorFor(c.runtime);
  const idle = screen(`${c.runtime}/idle`);
  const draft = c.runtime === 'pi' ? screen('pi/draft') : screen(`${c.runtime}/draft`);
  const text = c.runtime === 'pi' ? '[vm:operator -> pi0] please run the tests' : MESSAGE;

  it('is ready on the idle screen, not on a blank one', () => {
    expect(detector.ready(idle)).toEqual({ ready: true });
    expect(detector.ready(blankScreen()).ready).toBe(false);
  });

  it('sees the draft in the input, and not on the idle screen', () => {
    expect(detector.draftVisible(draft, probe(text, idle))).toBe(true);
    expect(detector.draftVisible(idle, probe(text, idle))).toBe(false);
    expect(detector.classify(draft, probe(text, idle, draft), AFTER_GRACE).kind).toBe('draft');
  });

  it('reads a text it does not know (another message) as no draft of ours', () => {
    expect(detector.draftVisible(draft, probe('something else entirely', idle))).toBe(false);
  });

  it('accepts when the input is cleared and the runtime answers', () => {
    const seen = detector.classify(screen(`${c.runtime}/${c.answered}`), probe(text, idle, draft), AFTER_GRACE);
    expect(seen.kind, seen.detail).toBe('accepted');
  });

  it('without a seen draft, an idle screen is no evidence', () => {
    expect(detector.classify(idle, probe(text, idle), AFTER_GRACE).kind).toBe('waiting');
  });

  it('a blank screen is blank', () => {
    expect(detector.classify(blankScreen(), probe(text, idle, draft), AFTER_GRACE).kind).toBe('blank');
  });

  if (c.busy) {
    it('accepts when the runtime turns busy', () => {
      const seen = detector.classify(screen(`${c.runtime}/${c.busy}`), probe(text, idle, draft), AFTER_GRACE);
      expect(seen.kind).toBe('accepted');
      expect(seen.detail).toMatch(/working|busy|answered|reacted/);
    });
  }

  if (c.queued) {
    it('reports queued behind the current turn', () => {
      const busyBefore = screen(`${c.runtime}/${c.busy}`);
      const seen = detector.classify(screen(`${c.runtime}/${c.queued}`), probe(text, busyBefore, draft), AFTER_GRACE);
      expect(seen.kind).toBe('queued');
    });
  }

  if (c.placeholder) {
    it('takes the paste placeholder of a long text for the draft', () => {
      const long = Array.from({ length: 101 }, (_, i) => `line ${i}`.repeat(40)).join('\n');
      expect(detector.draftVisible(screen(`${c.runtime}/${c.placeholder}`), probe(long, idle))).toBe(true);
    });
  }

  if (c.dialog) {
    it('is not ready while a dialog holds the keyboard', () => {
      const readiness = detector.ready(screen(`${c.runtime}/${c.dialog}`));
      expect(readiness.ready).toBe(false);
      expect(readiness.ready === false && readiness.detail).toMatch(/dialog/);
    });
  }
});

describe.each(['pi', 'claude', 'codex', 'opencode'])('%s multi-line draft', (runtime) => {
  it('finds the last line of a multi-line text in the input (blank lines inside included)', () => {
    const detector = detectorFor(runtime);
    const text = runtime === 'codex' ? 'line one\n\nline three\nthe end' : 'line one\nline two\nthe end';
    expect(detector.draftVisible(screen(`${runtime}/draft-multiline`), probe(text, screen(`${runtime}/idle`)))).toBe(true);
  });
});

describe('codex footer', () => {
  it('the thread title in the footer (our first message) is not a draft', () => {
    const codex = detectorFor('codex');
    const busy = screen('codex/busy');
    expect(busy.lines.some((line) => line.includes('fake-model default') && line.includes(MESSAGE))).toBe(true);
    expect(codex.draftVisible(busy, probe(MESSAGE, screen('codex/idle')))).toBe(false);
  });
});

describe('claude queue', () => {
  it('a runtime busy when we pasted gets a moment to show the message in its queue', () => {
    const claude = detectorFor('claude');
    const busy = screen('claude/busy');
    const text = '[vm:operator -> coder0] second message while busy';
    const draft = { ...busy, lines: busy.lines.map((l) => (/^❯\s*$/u.test(l) ? `❯ ${text}` : l)) };
    expect(claude.draftVisible(draft, probe(text, busy))).toBe(true);
    // Input cleared, queue not drawn yet: not yet "accepted".
    expect(claude.classify(busy, probe(text, busy, draft), 50).kind).toBe('waiting');
    expect(claude.classify(screen('claude/queued'), probe(text, busy, draft), 50).kind).toBe('queued');
    // Neither queued nor in the transcript yet: still looking.
    expect(claude.classify(busy, probe(text, busy, draft), AFTER_GRACE).kind).toBe('waiting');
    // Nothing after the longest wait: the cleared input is all the evidence there is.
    expect(claude.classify(busy, probe(text, busy, draft), QUEUE_WAIT_MS).kind).toBe('accepted');
  });

  it('a message sent while claude is busy is queued, also when others already wait', () => {
    const claude = detectorFor('claude');
    const queued = screen('claude/queued');
    const second = '[vm:operator -> coder0] second message while busy';
    const busy = screen('claude/busy');
    // The draft screen of the next message: its text in the input, the queue hint gone.
    const draft = { ...queued, lines: queued.lines.map((l) => l.replace('Press up to edit queued messages', 'third message')) };
    expect(claude.classify(queued, probe(second, busy, busy), AFTER_GRACE).kind).toBe('queued');
    expect(claude.classify(queued, probe('third message', queued, draft), AFTER_GRACE).kind).toBe('queued');
  });
});

describe('generic detector (custom runtimes)', () => {
  const generic = detectorFor('my-own-tool');
  const text = '[vm:operator -> a] the whole message';
  const before = screen('generic/ready');

  it('is used for unknown runtimes', () => {
    expect(generic.runtime).toBe('generic');
    expect(generic.ready(before)).toEqual({ ready: true });
  });

  it('sees a draft on the cursor line and accepts when it leaves', () => {
    const draft = screen('generic/draft');
    expect(generic.draftVisible(before, probe(text, before))).toBe(false);
    expect(generic.draftVisible(draft, probe(text, before))).toBe(true);
    expect(generic.classify(screen('generic/submitted'), probe(text, before, draft), AFTER_GRACE).kind).toBe('accepted');
  });

  it('a program that never reads its input: the echoed Enter is not acceptance', () => {
    const draft = screen('generic/draft');
    const echo = generic.classify(screen('generic/echo-only'), probe(text, before, draft), AFTER_GRACE);
    expect(echo.kind).toBe('waiting');
    expect(echo.detail).toMatch(/only the terminal echoed the Enter/);
    // A program that reads prints something: its prompt again, or an answer.
    expect(generic.classify(screen('generic/prompt-again'), probe(text, before, draft), AFTER_GRACE).kind).toBe('accepted');
  });

  it('a program that ignores Enter leaves the draft: draft', () => {
    const stuck = screen('generic/never-submits');
    expect(generic.classify(stuck, probe(text, before, screen('generic/draft')), AFTER_GRACE).kind).toBe('draft');
  });
});

describe('a busy report the screen does not show yet (a TUI slow to draw its turn)', () => {
  const opencode = detectorFor('opencode');
  const idle = screen('opencode/idle');
  const draft = screen('opencode/draft');
  const cleared = screen('opencode/after-submit');
  const reported = { ...probe(MESSAGE, idle, draft), reportedBusy: true };

  it('looks for the queue, and says queued when it shows', () => {
    // The screen alone: nothing said busy when we pasted, so a cleared input is taken as accepted.
    expect(opencode.classify(cleared, probe(MESSAGE, idle, draft), AFTER_GRACE).kind).toBe('accepted');
    // The message shows in the transcript: its queue marker gets a moment to follow.
    expect(opencode.classify(cleared, reported, QUEUE_GRACE_MS - 1)).toMatchObject({ kind: 'waiting', settling: true });
    expect(opencode.classify(screen('opencode/queued'), reported, AFTER_GRACE).kind).toBe('queued');
  });

  it('takes the message in the transcript without a queue marker as accepted (the report was stale)', () => {
    expect(opencode.classify(cleared, reported, QUEUE_GRACE_MS).kind).toBe('accepted');
  });
});

describe('a busy runtime slow to show what it took (opencode on a loaded machine)', () => {
  // Captured by a send's trace (MOSAIC_SEND_TRACE) when two e2e files shared 2 cores: the input
  // cleared at once, but the message showed neither in the transcript nor as QUEUED for over 700 ms,
  // while the progress bar went on moving.
  const opencode = detectorFor('opencode');
  const text = '[vm:operator -> r0 #89b1a6ed] second message, after the turn';
  const busy = probe(text, screen('opencode/busy-before-paste'), screen('opencode/busy-draft'));

  it('waits for the queue while the message shows nowhere yet', () => {
    for (const name of ['opencode/busy-cleared', 'opencode/busy-cleared-progress']) {
      expect(opencode.classify(screen(name), busy, 900)).toMatchObject({ kind: 'waiting', settling: true });
    }
  });

  it('does not take a progress bar that moved for the screen moving on', () => {
    expect(opencode.classify(screen('opencode/busy-cleared-progress'), busy, QUEUE_WAIT_MS).kind).toBe('waiting');
  });
});
