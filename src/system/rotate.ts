import { closeSync, openSync, promises as fsp, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * Size-capped log files, shared by every log mosaic keeps: agent transcripts, the supervisor's
 * log and the fleet event log. A file at or over the cap is renamed to `<file>.1` (older
 * generations shift to `.2` … `.<keep>`, the oldest is dropped); writers that still hold the
 * old file open finish into `.1`, so nothing written in between is lost.
 */
export const DEFAULT_LOG_MAX_BYTES = 5 * 1024 * 1024;

/** The cap per file (MOSAIC_TRANSCRIPT_MAX_BYTES, one setting for every mosaic log). */
export function logMaxBytes(env: NodeJS.ProcessEnv): number {
  const value = Number(env.MOSAIC_TRANSCRIPT_MAX_BYTES);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_LOG_MAX_BYTES;
}

/** `<file>.<generation>`: 1 is the most recent rotated generation. */
export const rotatedLogFile = (file: string, generation = 1): string => `${file}.${generation}`;

const LOCK_STALE_MS = 30_000;

/** An O_EXCL lock file, so two mosaic processes never rotate the same log at once. */
function tryLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      try {
        if (Date.now() - statSync(lock).mtimeMs < LOCK_STALE_MS) return false;
        unlinkSync(lock); // left by a process that died mid-rotation
      } catch {
        return false;
      }
    }
  }
  return false;
}

/**
 * Rotate `file` if it is at or over the cap, keeping `keep` rotated generations; false if it
 * is not over the cap (or another process is rotating it right now).
 */
export async function rotateIfOverCap(file: string, maxBytes: number, keep = 1): Promise<boolean> {
  if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) < maxBytes) return false; // small, or no log yet
  const lock = path.join(path.dirname(file), `.${path.basename(file)}.lock`);
  if (!tryLock(lock)) return false;
  try {
    // Re-check under the lock: another process may have rotated it a moment ago.
    if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) < maxBytes) return false;
    for (let generation = Math.max(1, keep) - 1; generation >= 1; generation -= 1) {
      await fsp.rename(rotatedLogFile(file, generation), rotatedLogFile(file, generation + 1)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    }
    await fsp.rename(file, rotatedLogFile(file));
    return true;
  } finally {
    unlinkSync(lock);
  }
}
