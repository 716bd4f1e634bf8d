import { sha256Hex } from '../system/hash.js';

/**
 * Every file install-systemd writes starts with a line holding the hash of the rest of the file.
 * That tells apart, without any side record, a file we wrote and nobody touched (safe to
 * rewrite or remove), one changed by hand (kept unless --force), and one we never wrote.
 */
const PREFIX = '# mosaic-fingerprint: sha256=';

export type GeneratedFileState = 'missing' | 'current' | 'outdated' | 'modified' | 'foreign';

export function withFingerprint(body: string): string {
  return `${PREFIX}${sha256Hex(body)}\n${body}`;
}

/** Compare what is on disk with what we would write now. */
export function classifyGenerated(existing: string | undefined, rendered: string): GeneratedFileState {
  if (existing === undefined) return 'missing';
  const newline = existing.indexOf('\n');
  const first = newline < 0 ? existing : existing.slice(0, newline);
  if (!first.startsWith(PREFIX)) return 'foreign';
  if (first.slice(PREFIX.length) !== sha256Hex(existing.slice(newline + 1))) return 'modified';
  return existing === rendered ? 'current' : 'outdated';
}

/** True when the file carries our mark and nobody edited it since (ours to rewrite or delete). */
export const isUntouchedGenerated = (state: GeneratedFileState): boolean => state === 'current' || state === 'outdated';
