import { describe, expect, it } from 'vitest';
import { randomHex } from './random.js';

describe('randomHex', () => {
  it('gives the asked number of bytes as lowercase hex, different every time', () => {
    const seen = new Set(Array.from({ length: 200 }, () => randomHex(6)));
    expect(seen.size).toBe(200);
    for (const value of seen) expect(value).toMatch(/^[0-9a-f]{12}$/);
    expect(randomHex(32)).toMatch(/^[0-9a-f]{64}$/);
  });
});
