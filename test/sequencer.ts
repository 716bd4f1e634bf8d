import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/*
 * The order the test files start in, for a 2-core box. Files that drive the real runtimes (claude,
 * codex, pi, opencode) need seconds of CPU per agent start; `runtime-mixed` starts twenty at once.
 * Left to vitest's order (largest or slowest first), it ran beside `launch-opencode`, and opencode
 * then took 50 s to print its first log line and a wait of 120 s ran out (CI, 2026-12-04).
 * So the fleet of runtimes goes first, the unit tests beside it, the e2e files without real runtimes next
 * (together they take far longer than it does, so the other worker stays on them until it is done), and the other
 * real-runtime files last, at most two at a time, the longest first (so the run does not end on one long
 * file while the other worker idles: launch-opencode, the longest, came thirteenth of fifteen by vitest's
 * order on a clean clone, which is by file size).
 */
const FLEET_OF_RUNTIMES = /runtime-mixed\.test\.ts$/;
const REAL_RUNTIME_HELPERS = /from '\.\/(runtime-fixtures|runtime-flow|launch-flow|approve-flow)\.js'/;

/**
 * Seconds each real-runtime file took in a full run on this 2-core VM (2026-12-05), for the longest-first
 * order; a file not listed counts as RUNTIME_FILE_SECONDS_UNKNOWN. Only the order depends on these.
 */
const RUNTIME_FILE_SECONDS: Readonly<Record<string, number>> = {
  'launch-opencode': 70,
  limit: 47,
  'send-runtimes': 46,
  'approve-opencode': 41,
  approve: 33,
  'runtime-opencode': 31,
  'launch-claude': 25,
  'launch-pi': 25,
  'needs-you-claude': 18,
  'launch-codex': 17,
  'launch-systemd': 14,
  'runtime-codex': 9,
  'runtime-claude': 8,
  'launch-foreground': 8,
  'runtime-pi': 7,
};
const RUNTIME_FILE_SECONDS_UNKNOWN = 20;
const expectedSeconds = (file: string): number =>
  RUNTIME_FILE_SECONDS[/([^/]+)\.test\.ts$/.exec(file)?.[1] ?? ''] ?? RUNTIME_FILE_SECONDS_UNKNOWN;

const usesRealRuntimes = (file: string): boolean => {
  try {
    return REAL_RUNTIME_HELPERS.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
};

export default class RuntimeLoadSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // The unit tests (project `unit`) go beside the fleet of runtimes: they wait on no agent, so its load slows
    // them but cannot make them time out, as it did an e2e file that waits for agents (systemd.test.ts took
    // 154 s beside it instead of 65).
    const rank = (spec: TestSpecification): number =>
      FLEET_OF_RUNTIMES.test(spec.moduleId) ? 0 : spec.project.name === 'unit' ? 1 : usesRealRuntimes(spec.moduleId) ? 3 : 2;
    const ranks = new Map(sorted.map((spec) => [spec, rank(spec)]));
    // Array.prototype.sort is stable: within ranks 0 to 2, vitest's own order stands.
    return sorted.sort(
      (a, b) => ranks.get(a)! - ranks.get(b)! || (ranks.get(a) === 3 ? expectedSeconds(b.moduleId) - expectedSeconds(a.moduleId) : 0),
    );
  }
}
