import { describe, expect, it } from 'vitest';
import { composeMessage, decodeMessage, validateBody, validateSourceLabel } from './body.js';

describe('message bodies', () => {
  it('keeps hostile but printable text unchanged', () => {
    for (const body of ['$(rm -rf ~)', '`id`', `'"`, 'a; b && c', '-n --help', 'a\tb', 'ünï 日本 🎉', 'one\ntwo\n', 'x'.repeat(100_000)]) {
      expect(validateBody(body)).toBe(body);
    }
  });

  it.each([
    ['NUL', 'a\u0000b', /NUL/],
    ['ESC', 'a\u001b[201~b', /ESC/],
    ['CR', 'a\r\nb', /CR .*line 1/],
    ['BEL', 'ok\nbell\u0007', /U\+0007.*line 2/],
    ['DEL', 'a\u007f', /DEL/],
    ['C1', 'a\u009b', /U\+009B/],
  ])('refuses %s with a clear error', (_name, body, message) => {
    expect(() => validateBody(body)).toThrow(message);
    expect(() => validateBody(body)).toThrow(/nothing was sent/);
  });

  it('refuses empty and blank messages', () => {
    expect(() => validateBody('')).toThrow(/empty/);
    expect(() => validateBody(' \n\t ')).toThrow(/empty/);
  });

  it('refuses invalid UTF-8 instead of replacing it', () => {
    expect(decodeMessage(Buffer.from('héllo'), 'x')).toBe('héllo');
    expect(() => decodeMessage(Buffer.from([0x66, 0xff, 0x6f]), 'msg.txt')).toThrow(/msg.txt is not valid UTF-8/);
  });

  it('composes the preamble, or leaves it out', () => {
    expect(composeMessage('hi', { source: 'h:operator', agent: 'a', preamble: true, sendId: '0a1b2c3d' })).toBe(
      '[h:operator -> a #0a1b2c3d] hi',
    );
    expect(composeMessage('hi', { source: 'h:operator', agent: 'a', preamble: false, sendId: '0a1b2c3d' })).toBe('hi');
    expect(() => validateSourceLabel('two\nlines')).toThrow(/source-label/);
    expect(validateSourceLabel('ci:build-42')).toBe('ci:build-42');
  });
});
