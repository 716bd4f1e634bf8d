import { closeSync, openSync, promises as fsp, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { shellQuote } from './hook.js';
import { exactPane, type TmuxClient } from '../tmux/client.js';

/**
 * Transcripts: tmux copies every agent pane's output to `<logs>/<agent>.log` through
 * `pipe-pane` into one `cat` per agent (no shell stays behind). The size cap is kept by
 * mosaic itself whenever it starts, restarts, lists (`fleet ps`) or reads (`agent logs`)
 * agents: an over-cap log becomes `<agent>.log.1` and the pane's pipe is reopened.
 * See docs/decisions/001-transcripts.md.
 */
export const DEFAULT_TRANSCRIPT_MAX_BYTES = 5 * 1024 * 1024;

export const transcriptFile = (logsDir: string, agent: string): string => path.join(logsDir, `${agent}.log`);
export const rotatedTranscriptFile = (file: string): string => `${file}.1`;

/** The cap per file (one rotated generation is kept, so at most twice this per agent). */
export function transcriptMaxBytes(env: NodeJS.ProcessEnv): number {
  const value = Number(env.MOSAIC_TRANSCRIPT_MAX_BYTES);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_TRANSCRIPT_MAX_BYTES;
}

/**
 * The shell command tmux runs for the pipe. pipe-pane takes a shell command (there is no
 * argv form); the path is single-quoted and "#" doubled because tmux format-expands it.
 * `exec` leaves exactly one process: cat.
 */
export function transcriptShellCommand(file: string): string {
  return `umask 077; exec cat >> ${shellQuote(file).replace(/#/g, '##')}`;
}

/**
 * `pipe-pane -o` opens the pipe only if the pane has none (idempotent, safe after a
 * respawn, which keeps the pipe); without -o an existing pipe is replaced (after rotation).
 */
export function transcriptPipeCommand(session: string, file: string, options: { reopen?: boolean } = {}): string[] {
  return ['pipe-pane', ...(options.reopen ? [] : ['-o']), '-t', exactPane(session), transcriptShellCommand(file)];
}

export interface TranscriptAgent {
  name: string;
  session: string;
}

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
 * Rename every over-cap log to `.log.1` (replacing the previous one). Returns the agents
 * whose log was rotated: a live pane's pipe still writes to the renamed file until it is
 * reopened (see reopenTranscripts), so nothing written in between is lost.
 */
export async function rotateTranscripts(logsDir: string, agents: readonly TranscriptAgent[], maxBytes: number): Promise<TranscriptAgent[]> {
  const rotated: TranscriptAgent[] = [];
  for (const agent of agents) {
    const file = transcriptFile(logsDir, agent.name);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      continue; // no transcript yet
    }
    if (size < maxBytes) continue;
    const lock = path.join(logsDir, `.${agent.name}.log.lock`);
    if (!tryLock(lock)) continue;
    try {
      // Re-check under the lock: another process may have rotated it a moment ago.
      if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) < maxBytes) continue;
      await fsp.rename(file, rotatedTranscriptFile(file));
      rotated.push(agent);
    } finally {
      unlinkSync(lock);
    }
  }
  return rotated;
}

/** Point the pipes of rotated, live panes at a fresh log: one tmux call for all of them. */
export async function reopenTranscripts(tmux: TmuxClient, logsDir: string, rotated: readonly TranscriptAgent[]): Promise<void> {
  if (rotated.length === 0) return;
  const commands = rotated.map((agent) => transcriptPipeCommand(agent.session, transcriptFile(logsDir, agent.name), { reopen: true }));
  try {
    await tmux.batch(commands);
  } catch {
    // A pane went away meanwhile, which stops the rest of a tmux command list: go one by one.
    for (const command of commands) await tmux.run(command, { allowFailure: true });
  }
}

/** Rotate over-cap logs of running panes and reopen their pipes. */
export async function enforceTranscriptCap(
  deps: { tmux: TmuxClient; logsDir: string; env: NodeJS.ProcessEnv },
  running: readonly TranscriptAgent[],
): Promise<TranscriptAgent[]> {
  const rotated = await rotateTranscripts(deps.logsDir, running, transcriptMaxBytes(deps.env));
  await reopenTranscripts(deps.tmux, deps.logsDir, rotated);
  return rotated;
}
