import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { parsePort } from './serve.js';

describe('parsePort (fleet serve --port)', () => {
  it('takes ASCII digits from 0 to 65535 only', () => {
    expect(['0', '7420', '65535'].map(parsePort)).toEqual([0, 7420, 65_535]);
    for (const value of ['0x1f40', '8e3', ' 8000', '+80', '80.0', '', '65536', '-1']) {
      expect(() => parsePort(value), value).toThrow(UsageError);
    }
  });
});
