import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/*
 * The order the test files start in, for a 2-core box. Files that drive the real runtimes (claude,
 * codex, pi, opencode) need seconds of CPU per agent start; `runtime-mixed` starts twenty at once.
 * Left to vitest's order (largest or slowest first), it ran beside `launch-opencode`, and opencode
 * then took 50 s to print its first log line and a wait of 120 s ran out (CI, 2026-12-04).
 * So the fleet of runtimes goes first, the files without real runtimes next (together they take far
 * longer than it does, so the other worker stays on them until it is done), and the other
 * real-runtime files last, at most two at a time.
 */
const FLEET_OF_RUNTIMES = /runtime-mixed\.test\.ts$/;
const REAL_RUNTIME_HELPERS = /from '\.\/(runtime-fixtures|runtime-flow|launch-flow|approve-flow)\.js'/;

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
    const rank = (spec: TestSpecification): number => (FLEET_OF_RUNTIMES.test(spec.moduleId) ? 0 : usesRealRuntimes(spec.moduleId) ? 2 : 1);
    const ranks = new Map(sorted.map((spec) => [spec, rank(spec)]));
    // Array.prototype.sort is stable: within a rank, vitest's own order stands.
    return sorted.sort((a, b) => ranks.get(a)! - ranks.get(b)!);
  }
}
