import type { RunResult } from '../system/runner.js';
import { joinCommands, MAX_BATCH_BYTES, type TmuxClient } from '../tmux/client.js';

/**
 * Chunk command groups by size like TmuxClient.batch, but never split a group: a new
 * session and its transcript pipe must reach tmux in the same call, or the agent's first
 * output (printed while tmux waits for the next call) is missing from its transcript.
 */
export function chunkGroups(groups: readonly (readonly (readonly string[])[])[], maxBytes = MAX_BATCH_BYTES): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const group of groups) {
    if (group.length === 0) continue;
    const argv = joinCommands(group);
    const bytes = argv.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 2);
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    if (current.length > 0) current.push(';');
    current.push(...argv);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export async function batchGroups(
  tmux: TmuxClient,
  groups: readonly (readonly (readonly string[])[])[],
  options: { timeoutMs?: number } = {},
): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const chunk of chunkGroups(groups)) results.push(await tmux.run(chunk, options));
  return results;
}
