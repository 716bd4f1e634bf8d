import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalescer.js';

describe('Coalescer', () => {
  it('answers concurrent requests with one batch, and later ones with the next', async () => {
    const batches: string[][] = [];
    const coalescer = new Coalescer<string>(async (keys) => {
      batches.push([...keys]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return keys.map((key) => (key === 'bad' ? new Error(`no ${key}`) : `screen of ${key}`));
    });
    const first = Promise.all([coalescer.request('a'), coalescer.request('b'), coalescer.request('a')]);
    await new Promise((resolve) => setImmediate(resolve));
    const later = coalescer.request('c'); // while the first batch is in flight
    expect(await first).toEqual(['screen of a', 'screen of b', 'screen of a']);
    expect(await later).toBe('screen of c');
    await expect(coalescer.request('bad')).rejects.toThrow('no bad');
    expect(batches).toEqual([['a', 'b'], ['c'], ['bad']]);
  });
});
