import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the benches, without types
import { resultRecord } from '../bench/lib.mjs';

interface BenchRecord {
  met: boolean | null;
  floor_bound: string | false | null;
}
const verdict = (fields: Record<string, unknown>): BenchRecord => resultRecord(fields) as BenchRecord;

// The figures of the full run of 2026-12-06 09:44 (ms), and variations of them.
const systemd = (mosaic: number, builtin: number, floor: number, perUnit = 17_541) =>
  verdict({ id: 'systemd@100', mosaic, baseline: perUnit, ratio_of: 'per-unit/mosaic', floor, extra: { builtin } });

describe('bench verdicts of targets with two parts', () => {
  it('a part mosaic missed with the floor inside it is a plain miss, even when the other part is floor-bound', () => {
    // 1.56× the built-in against a floor of 1.41×; per unit 1.78× with the floor at 1.98×.
    expect(systemd(9843, 6298, 8856)).toMatchObject({ met: false, floor_bound: false });
  });

  it('floor-bound when every part mosaic missed is out of the floor’s reach, and says which', () => {
    // ≤ 1.5× built-in met (1.45×); ≥ 3× per unit out of reach.
    expect(systemd(9132, 6298, 8856)).toMatchObject({ met: false, floor_bound: 'per-unit < 3× the floor' });
    // Both missed, both out of reach: the floor itself is over 1.5× the built-in.
    expect(systemd(9843, 6298, 9600)).toMatchObject({
      met: false,
      floor_bound: 'per-unit < 3× the floor; floor > 1.5× built-in',
    });
  });

  it('the same rule for ps against pm2 and for start at 500', () => {
    // pm2 3× the floor, mosaic only 1.28× faster than pm2: mosaic's miss, although 120 ms is out of reach.
    expect(verdict({ id: 'peers.ps@500', mosaic: 373, baseline: 487, ratio_of: 'pm2/mosaic', floor: 160 })).toMatchObject({
      met: false,
      floor_bound: false,
    });
    expect(verdict({ id: 'peers.ps@500', mosaic: 373, baseline: 487, ratio_of: 'pm2/mosaic', floor: 246 })).toMatchObject({
      met: false,
      floor_bound: 'floor > 120 ms; pm2 < 2× the floor',
    });
    expect(verdict({ id: 'start@500', mosaic: 24_520, baseline: 24_960, ratio_of: 'loop/mosaic', floor: 23_240 })).toMatchObject({
      met: false,
      floor_bound: 'floor > 1.5 s; loop < 2.5× the floor',
    });
  });
});
