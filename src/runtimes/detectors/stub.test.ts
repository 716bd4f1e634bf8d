import { describe, expect, it } from 'vitest';

/** Long enough after Enter that a busy runtime's queue would show. */
const AFTER_GRACE = 1000;
import { posixCksum } from './cksum.js';
import { detectorFor } from './index.js';
import { blankScreen, probe, screen } from '../../../test/unit/screen-fixtures.js';

const TEXT = '[vm:operator -> a] first line\nthe end';

describe('stub detector', () => {
  const stub = detectorFor('stub');
  const ready = screen('stub/ready');

  it('is ready once the prompt shows', () => {
    expect(stub.ready(ready)).toEqual({ ready: true });
    expect(stub.ready(blankScreen()).ready).toBe(false);
  });

  it('accepts only an ack with our byte length and checksum', () => {
    const draft = screen('stub/draft');
    expect(stub.draftVisible(draft, probe(TEXT, ready))).toBe(true);
    const acked = screen('stub/acked');
    expect(stub.classify(acked, probe(TEXT, ready, draft), AFTER_GRACE)).toMatchObject({ kind: 'accepted' });
    // Same screen, different message: that ack is not ours.
    expect(stub.classify(acked, probe(`${TEXT}!`, ready, draft), AFTER_GRACE).kind).not.toBe('accepted');
  });

  it('does not count an ack that was already on the screen before', () => {
    const acked = screen('stub/acked');
    expect(stub.classify(acked, probe(TEXT, acked), AFTER_GRACE).kind).not.toBe('accepted');
  });

  it('a stub that ignores Enter leaves a draft', () => {
    const stuck = screen('stub/never-submits');
    expect(stub.classify(stuck, probe(TEXT, ready, stuck), AFTER_GRACE).kind).toBe('draft');
  });

  it('a stub working on our exact text (bytes and checksum) has taken it: accepted, before its ack', () => {
    const seen = stub.classify(screen('stub/working'), probe(TEXT, ready), AFTER_GRACE);
    expect(seen).toMatchObject({ kind: 'accepted' });
    expect(seen.detail).toMatch(/working on it .*bytes and checksum match/);
    // Working on another text: not ours.
    expect(stub.classify(screen('stub/working'), probe(`${TEXT}!`, ready), AFTER_GRACE).kind).not.toBe('accepted');
  });

  it('reads the stub line that follows its prompt: a message it took from its queue is accepted', () => {
    // Queued behind another message, ours was echoed while the stub worked; when the stub reads it, it prints
    // its prompt and then, on the same row, `[stub] working …` for it.
    const seen = stub.classify(screen('stub/queued-working'), probe(TEXT, ready), AFTER_GRACE);
    expect(seen).toMatchObject({ kind: 'accepted' });
    expect(seen.detail).toMatch(/working on it \(seq=2\)/);
  });
});

describe('posixCksum', () => {
  it('matches cksum(1) on known inputs', () => {
    // printf '' | cksum → 4294967295; printf 'a' | cksum → 1220704766; the stub fixture's ack.
    expect(posixCksum('')).toBe(4294967295);
    expect(posixCksum('a')).toBe(1220704766);
    expect(posixCksum(TEXT)).toBe(3838014668);
  });
});
