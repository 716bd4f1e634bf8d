import { describe, expect, it } from 'vitest';
import { fnv1a32Hex, sha256Hex } from './hash.js';

describe('sha256Hex', () => {
  it('is sha256 (the FIPS 180-2 test vectors): names derived from it stay what they were', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('fnv1a32Hex', () => {
  it('is 32-bit FNV-1a (the reference vectors for ASCII input), 8 hex digits', () => {
    expect(fnv1a32Hex('')).toBe('811c9dc5');
    expect(fnv1a32Hex('a')).toBe('e40c292c');
    expect(fnv1a32Hex('foobar')).toBe('bf9cf968');
  });
});
