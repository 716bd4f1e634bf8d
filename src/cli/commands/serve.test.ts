import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { bindAddress, parsePort } from './serve.js';

describe('parsePort (fleet serve --port)', () => {
  it('takes ASCII digits from 0 to 65535 only', () => {
    expect(['0', '7420', '65535'].map(parsePort)).toEqual([0, 7420, 65_535]);
    for (const value of ['0x1f40', '8e3', ' 8000', '+80', '80.0', '', '65536', '-1']) {
      expect(() => parsePort(value), value).toThrow(UsageError);
    }
  });
});

describe('bindAddress (fleet serve --host)', () => {
  it('takes an IPv6 address in URL brackets as the bare address (--host [::1] is loopback)', () => {
    expect(['[::1]', '::1', '127.0.0.1', '[fe80::1]', 'localhost', '[bad'].map(bindAddress)).toEqual([
      '::1',
      '::1',
      '127.0.0.1',
      'fe80::1',
      'localhost',
      '[bad',
    ]);
  });
});
