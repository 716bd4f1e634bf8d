import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { UserError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { exactPane, type TmuxClient } from '../tmux/client.js';
import { maintainTranscripts, rotatedTranscriptFile, transcriptFile } from '../supervisor/transcript.js';

const BLOCK = 64 * 1024;

/** The last `lines` lines of a buffer that starts at a line start (or the file's start). */
export function lastLines(all: Buffer, lines: number): { text: Buffer; lines: number } {
  // A final line without a newline still counts as a line.
  let cursor = all.length > 0 && all[all.length - 1] === 10 ? all.length - 1 : all.length;
  if (all.length === 0 || lines <= 0) return { text: all.subarray(all.length), lines: 0 };
  let kept = 0;
  let start = 0;
  while (kept < lines) {
    const newline = cursor > 0 ? all.lastIndexOf(10, cursor - 1) : -1;
    kept += 1;
    if (newline < 0) {
      start = 0;
      break;
    }
    start = newline + 1;
    cursor = newline;
  }
  return { text: all.subarray(start), lines: kept };
}

/** The last `lines` lines of one file, read backwards in blocks (logs can be megabytes). */
function tailOfFile(file: string, lines: number): { text: Buffer; lines: number; size: number } | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const blocks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    // One more newline than lines: the one that ends the line before the first we keep.
    while (position > 0 && newlines <= lines) {
      const length = Math.min(BLOCK, position);
      position -= length;
      const block = Buffer.alloc(length);
      readSync(fd, block, 0, length, position);
      blocks.unshift(block);
      for (const byte of block) if (byte === 10) newlines += 1;
    }
    return { ...lastLines(Buffer.concat(blocks), lines), size };
  } finally {
    closeSync(fd);
  }
}

/**
 * The last `lines` lines of an agent's transcript, reaching into the rotated file when
 * the current one is shorter, and the current file's size (where following starts).
 * Undefined when the agent has no transcript at all.
 */
export function readTranscriptTail(file: string, lines: number): { text: Buffer; end: number } | undefined {
  const current = tailOfFile(file, lines);
  if (current && current.lines >= lines) return { text: current.text, end: current.size };
  const older = tailOfFile(rotatedTranscriptFile(file), lines - (current?.lines ?? 0));
  if (!current && !older) return undefined;
  return { text: Buffer.concat([older?.text ?? Buffer.alloc(0), current?.text ?? Buffer.alloc(0)]), end: current?.size ?? 0 };
}

export interface LogsDeps {
  tmux: TmuxClient;
  logsDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Keep the cap (and make sure a running agent's pane is piped at all), then return the
 * agent's transcript file; a clear error if there is none.
 */
export async function agentTranscript(deps: LogsDeps, agent: AgentSpec, options: { mustExist: boolean }): Promise<string> {
  const pane = await deps.tmux.run(
    ['display-message', '-p', '-t', exactPane(agent.session), '#{pane_dead} #{pane_pipe} #{@mosaic_agent}'],
    {
      allowFailure: true,
    },
  );
  const [dead, piped, mark] = pane.stdout.trim().split(' ');
  // Only the session mosaic made for the agent is piped to its transcript: one that merely has its name is left alone.
  if (pane.status === 0 && dead === '0' && mark === agent.name) {
    await maintainTranscripts(deps, [{ name: agent.name, session: agent.session, piped: piped === '1' }]);
  }
  const file = transcriptFile(deps.logsDir, agent.name);
  if (
    options.mustExist &&
    !statSync(file, { throwIfNoEntry: false }) &&
    !statSync(rotatedTranscriptFile(file), { throwIfNoEntry: false })
  ) {
    throw new UserError(`agent "${agent.name}" has no transcript yet (${file})`, {
      hint: `transcripts start with the agent's session: \`mosaic fleet start ${agent.name}\` (or restart it if it was started by an older mosaic)`,
    });
  }
  return file;
}

/**
 * Follow a transcript from `offset`, yielding new bytes as they are appended. Survives
 * rotation: the old file is read to its end through the open descriptor, then the new
 * one from its start. Stops when `signal` aborts.
 */
export async function* followTranscript(
  file: string,
  options: { offset: number; signal: AbortSignal; pollMs?: number },
): AsyncGenerator<Buffer> {
  const pollMs = options.pollMs ?? 200;
  let fd: number | undefined;
  let position = options.offset;
  const buffer = Buffer.alloc(BLOCK);
  const drain = function* (descriptor: number): Generator<Buffer> {
    for (;;) {
      const n = readSync(descriptor, buffer, 0, buffer.length, position);
      if (n <= 0) return;
      position += n;
      yield Buffer.from(buffer.subarray(0, n));
    }
  };
  try {
    while (!options.signal.aborted) {
      if (fd === undefined) {
        try {
          fd = openSync(file, 'r');
        } catch {
          fd = undefined; // not created yet, or between rotation and reopen
        }
      }
      if (fd !== undefined) {
        const open = fstatSync(fd);
        if (open.size < position) position = 0; // truncated in place
        yield* drain(fd);
        const named = statSync(file, { throwIfNoEntry: false });
        if (!named || named.ino !== open.ino) {
          // Rotated: finish the old file, then start the new one from the top.
          yield* drain(fd);
          closeSync(fd);
          fd = undefined;
          position = 0;
          continue;
        }
      }
      await delay(pollMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
