/**
 * Milliseconds on a monotonic clock, for durations and deadlines within one process. Not
 * `performance.now()`: its first call loads perf_hooks, about 2 ms of CPU in every short-lived
 * command that times a tmux call.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
