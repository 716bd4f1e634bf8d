import { createRequire } from 'node:module';

let crypto: typeof import('node:crypto') | undefined;

/**
 * sha256 of `data`, as hex. node:crypto is loaded on the first call, not at import: it costs
 * 6–7 ms of CPU to load, and most commands (`fleet ps`, `fleet status`, `agent send`) never hash.
 */
export function sha256Hex(data: string): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * 32-bit FNV-1a of `text`'s UTF-16 code units, as 8 hex digits: a cheap, stable name for a key
 * that is compared in full anyway (a collision costs a miss, never a wrong answer).
 */
export function fnv1a32Hex(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
