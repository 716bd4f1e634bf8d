import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { parseVerifyTimeout } from './send.js';

describe('parseVerifyTimeout', () => {
  it('takes whole milliseconds from 100 to 600000, 6000 when not given', () => {
    expect([parseVerifyTimeout(undefined), parseVerifyTimeout('100'), parseVerifyTimeout('600000')]).toEqual([6000, 100, 600_000]);
  });

  it('refuses what only Number() would read as a number', () => {
    for (const value of ['0x100', '1e3', ' 500', '+500', '500.0', '', '99', '600001', 'abc']) {
      expect(() => parseVerifyTimeout(value), value).toThrow(UsageError);
    }
  });
});
