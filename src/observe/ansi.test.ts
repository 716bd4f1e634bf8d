import { describe, expect, it } from 'vitest';
import { AnsiStripper, stripAnsi } from './ansi.js';

describe('stripAnsi', () => {
  it('removes CSI, OSC, DCS and short escapes, and normalises line ends', () => {
    const raw =
      '\u001b[?2004hstub> \u001b[1;32mok\u001b[0m\r\n\u001b]0;title\u0007done\u001b]8;;http://x\u001b\\link\u001b(B\u001b7\r\nP\u001bPqdata\u001b\\Q\r\n';
    expect(stripAnsi(raw)).toBe('stub> ok\ndonelink\nPQ\n');
  });

  it('turns a lone carriage return into a line break and drops other controls', () => {
    expect(stripAnsi('50%\r100%\r\n')).toBe('50%\n100%\n');
    expect(stripAnsi('a\u0007b\bc\u0000d\te\n')).toBe('abcd\te\n');
  });
});

describe('AnsiStripper', () => {
  it('gives the same text however the stream is split', () => {
    const raw = 'one\u001b[38;5;208mtwo\u001b[0m\r\nthree\u001b]0;t\u0007four\r\n';
    const expected = stripAnsi(raw);
    for (let size = 1; size <= raw.length; size += 1) {
      const stripper = new AnsiStripper();
      let out = '';
      for (let i = 0; i < raw.length; i += size) out += stripper.push(raw.slice(i, i + size));
      out += stripper.flush();
      expect(out, `chunks of ${size}`).toBe(expected);
    }
  });
});
