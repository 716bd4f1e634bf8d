import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from '../roster/model.js';
import { decideAfterCrash } from './crash-policy.js';

describe('crash policy (defaults: 1 s doubling to 60 s; more than 5 crashes in 2 minutes fails)', () => {
  it('backs off exponentially and gives up on the sixth crash inside the window', () => {
    let crashes: number[] = [];
    const delays: number[] = [];
    let now = 1_000_000;
    for (let i = 0; i < 5; i += 1) {
      const { decision, crashes: next } = decideAfterCrash(crashes, now, DEFAULT_RESTART_POLICY);
      expect(decision.action).toBe('respawn');
      if (decision.action === 'respawn') delays.push(decision.delayMs);
      crashes = next;
      now += 1000;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(decideAfterCrash(crashes, now, DEFAULT_RESTART_POLICY).decision.action).toBe('fail');
  });

  it('caps the delay and forgets crashes older than the window', () => {
    const policy = { ...DEFAULT_RESTART_POLICY, maxCrashes: 100 };
    const many = Array.from({ length: 20 }, (_, i) => 10_000 + i);
    const capped = decideAfterCrash(many, 20_000, policy).decision;
    expect(capped).toMatchObject({ action: 'respawn', delayMs: 60_000 });
    const later = decideAfterCrash(many, 10_000 + 121_000, policy);
    expect(later.crashes).toHaveLength(1);
    expect(later.decision).toMatchObject({ action: 'respawn', delayMs: 1000 });
  });

  it('max_crashes 0 fails on the first exit', () => {
    expect(decideAfterCrash([], 5, { ...DEFAULT_RESTART_POLICY, maxCrashes: 0 }).decision.action).toBe('fail');
  });

  it('in a fleet-wide crash storm a crash fails the agent at once; at the limit it still respawns', () => {
    const policy = { ...DEFAULT_RESTART_POLICY, fleetMaxCrashes: 10 };
    expect(decideAfterCrash([], 1_000_000, policy, 10).decision).toMatchObject({ action: 'respawn', delayMs: 1000 });
    const storm = decideAfterCrash([], 1_000_000, policy, 11).decision;
    expect(storm).toMatchObject({ action: 'fail' });
    expect(storm.action === 'fail' && storm.reason).toMatch(/fleet-wide crash storm: 11 crashes in 120s .*limit 10/);
    // A run state from before the guard (no fleetMaxCrashes) keeps the per-agent rule only.
    const old: RestartPolicy = { ...policy, fleetMaxCrashes: undefined };
    expect(decideAfterCrash([], 1_000_000, old, 500).decision.action).toBe('respawn');
  });
});
