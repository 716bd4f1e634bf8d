import type { RestartPolicy } from '../roster/model.js';

export type CrashDecision = { action: 'respawn'; delayMs: number; crashesInWindow: number } | { action: 'fail'; crashesInWindow: number };

/**
 * Exponential backoff (initial, doubling, capped) counted over the crashes inside the
 * window; more than maxCrashes inside the window gives up until an explicit restart.
 */
export function decideAfterCrash(
  previousCrashes: readonly number[],
  nowMs: number,
  policy: RestartPolicy,
): { decision: CrashDecision; crashes: number[] } {
  const windowStart = nowMs - policy.windowSeconds * 1000;
  const crashes = [...previousCrashes.filter((at) => at > windowStart), nowMs];
  if (crashes.length > policy.maxCrashes) {
    return { decision: { action: 'fail', crashesInWindow: crashes.length }, crashes };
  }
  const delayMs = Math.min(policy.backoffInitialMs * 2 ** (crashes.length - 1), policy.backoffMaxMs);
  return { decision: { action: 'respawn', delayMs, crashesInWindow: crashes.length }, crashes };
}
