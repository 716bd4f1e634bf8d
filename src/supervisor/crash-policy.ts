import type { RestartPolicy } from '../roster/model.js';

export type CrashDecision =
  { action: 'respawn'; delayMs: number; crashesInWindow: number } | { action: 'fail'; crashesInWindow: number; reason: string };

/**
 * Exponential backoff (initial, doubling, capped) counted over the crashes inside the
 * window; more than maxCrashes inside the window gives up until an explicit restart. So does
 * any crash while the whole fleet is in a crash storm (more than fleetMaxCrashes crashes
 * fleet-wide inside the window): 500 agents must not crash-loop on one bad config.
 */
export function decideAfterCrash(
  previousCrashes: readonly number[],
  nowMs: number,
  policy: RestartPolicy,
  fleetCrashesInWindow = 0,
): { decision: CrashDecision; crashes: number[] } {
  const windowStart = nowMs - policy.windowSeconds * 1000;
  const crashes = [...previousCrashes.filter((at) => at > windowStart), nowMs];
  if (crashes.length > policy.maxCrashes) {
    const reason = `crash loop: ${crashes.length} crashes in ${policy.windowSeconds}s (limit ${policy.maxCrashes})`;
    return { decision: { action: 'fail', crashesInWindow: crashes.length, reason }, crashes };
  }
  if (policy.fleetMaxCrashes !== undefined && fleetCrashesInWindow > policy.fleetMaxCrashes) {
    const reason = `fleet-wide crash storm: ${fleetCrashesInWindow} crashes in ${policy.windowSeconds}s across the fleet (limit ${policy.fleetMaxCrashes})`;
    return { decision: { action: 'fail', crashesInWindow: crashes.length, reason }, crashes };
  }
  const delayMs = Math.min(policy.backoffInitialMs * 2 ** (crashes.length - 1), policy.backoffMaxMs);
  return { decision: { action: 'respawn', delayMs, crashesInWindow: crashes.length }, crashes };
}
