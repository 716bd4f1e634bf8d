import { closeSync, openSync, readSync } from 'node:fs';

/**
 * `bytes` random bytes from the kernel's generator, as hex: nonces, send ids, temp names.
 * Read from /dev/urandom, as node:crypto would get them, but without loading node:crypto:
 * initialising it cost 6–7 ms of every `fleet ps` and `agent send`, which need no other crypto.
 */
export function randomHex(bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let filled = 0; filled < bytes;) filled += readSync(fd, buffer, filled, bytes - filled, null);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('hex');
}
