import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../system/fs.js';

/**
 * Every crash the supervisor handles, fleet-wide: one `<epoch ms> <agent>` line per crash in
 * `<run>/fleet-crashes`, appended with O_APPEND (concurrent handlers never interleave a line),
 * so one handler can tell a crash storm (a bad config, a broken runtime) from one bad agent.
 */
export const fleetCrashesFile = (runDir: string): string => path.join(runDir, 'fleet-crashes');

/** Past this many lines the record is rewritten with the recent ones only. */
const PRUNE_LINES = 2000;

/** Records this crash and returns how many crashes (this one included) fall inside the window. */
export async function recordFleetCrash(runDir: string, agent: string, nowMs: number, windowSeconds: number): Promise<number> {
  const file = fleetCrashesFile(runDir);
  appendFileSync(file, `${nowMs} ${agent}\n`, { mode: 0o600 });
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const since = nowMs - windowSeconds * 1000;
  const recent = lines.filter((line) => Number(line.slice(0, line.indexOf(' '))) > since);
  // A crash appended by another handler between our read and the rename is lost from the
  // record: it is a rate estimate, and the pruning runs once per PRUNE_LINES crashes.
  if (lines.length > PRUNE_LINES) await writeFileAtomic(file, recent.map((line) => `${line}\n`).join(''));
  return recent.length;
}

/** An explicit start or restart is the operator's "go": the storm record starts over. */
export function clearFleetCrashes(runDir: string): void {
  rmSync(fleetCrashesFile(runDir), { force: true });
}
