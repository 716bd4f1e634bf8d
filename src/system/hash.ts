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
