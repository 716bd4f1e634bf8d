import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import { PRIVATE_FILE_MODE } from '../system/fs.js';

/** 256 random bits, as hex. */
export const newToken = (): string => randomBytes(32).toString('hex');

export const MIN_TOKEN_LENGTH = 32;

/** Where a fleet keeps its dashboard token (one per roster, next to its run state). */
export const fleetTokenFile = (stateDir: string): string => path.join(stateDir, 'serve.token');

/** Compare in constant time whatever the lengths (both sides are hashed to the same size first). */
export function sameToken(expected: string, given: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/**
 * The token `fleet serve` accepts: from `--token-file` (which must be private to its owner), else
 * the fleet's own, made on first use and kept 0600 so a bookmarked URL survives a restart
 * (`rotate` makes a new one).
 */
export async function serveToken(
  host: Host,
  options: { stateDir: string; tokenFile?: string; rotate?: boolean },
): Promise<{ token: string; file: string }> {
  if (options.tokenFile !== undefined) {
    if (options.rotate) throw new UserError('--rotate-token changes the fleet token; with --token-file, change that file instead');
    return { token: await readTokenFile(host, options.tokenFile), file: options.tokenFile };
  }
  const file = fleetTokenFile(options.stateDir);
  const kept = options.rotate ? undefined : (await host.files.read(file))?.trim();
  if (kept && kept.length >= MIN_TOKEN_LENGTH && (await privateToOwner(file))) return { token: kept, file };
  const token = newToken();
  await host.files.ensurePrivateDir(options.stateDir);
  await host.files.writeAtomic(file, `${token}\n`, { mode: PRIVATE_FILE_MODE, durable: true });
  return { token, file };
}

async function readTokenFile(host: Host, file: string): Promise<string> {
  const unreadable = (why: string): UserError =>
    new UserError(`cannot read the token file ${file}${why}`, { hint: 'give a readable file holding one token' });
  // A directory or a file this user may not read is the operator's mistake, not a bug (EISDIR was exit 70).
  const text = await host.files.read(file).catch((error: NodeJS.ErrnoException) => {
    throw unreadable(`: ${error.code === 'EISDIR' ? 'it is a directory' : (error.code ?? error.message)}`);
  });
  if (text === undefined) throw unreadable('');
  if (!(await privateToOwner(file))) {
    throw new UserError(`the token file ${file} can be read by other users`, { hint: `chmod 600 ${file}` });
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new UserError(`the token in ${file} must be one word of at least ${MIN_TOKEN_LENGTH} characters`, {
      hint: `make one: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > ${file}; chmod 600 ${file}`,
    });
  }
  return token;
}

async function privateToOwner(file: string): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && (info.mode & 0o077) === 0;
}
