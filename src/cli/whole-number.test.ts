import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { parseWholeNumber } from './whole-number.js';

describe('parseWholeNumber', () => {
  it('takes digits within the range', () => {
    expect(parseWholeNumber('-n', '0', 0, 10)).toBe(0);
    expect(parseWholeNumber('-n', '007', 0, 10)).toBe(7);
    expect(parseWholeNumber('-n', '100000', 1, 100_000)).toBe(100_000);
  });

  it.each(['', ' ', ' 3', '3 ', '0x10', '1e2', '1.5', '+5', '-1', '1_000', 'abc', '11', '99999999999999999999'])(
    'rejects %j as a usage error',
    (value) => {
      expect(() => parseWholeNumber('-n', value, 0, 10)).toThrow(UsageError);
      expect(() => parseWholeNumber('-n', value, 0, 10)).toThrow(`-n must be a whole number from 0 to 10, got "${value}"`);
    },
  );
});
