import { describe, expect, it } from 'vitest';
import { oneLine } from './text.js';

describe('oneLine', () => {
  it('turns escape sequences, C1 controls and newlines into single spaces', () => {
    expect(oneLine('a\u001b]0;pwned\u0007b\r\nc\u009bd\u007f  e\t')).toBe('a ]0;pwned b c d e');
    expect(oneLine(42)).toBe('42');
  });

  it('cuts what is longer than the limit with an ellipsis, and leaves what fits', () => {
    expect(oneLine('x'.repeat(10), 5)).toBe('xxxx…');
    expect(oneLine('x'.repeat(5), 5)).toBe('xxxxx');
  });
});
