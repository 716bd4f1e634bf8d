import { closeSync, constants, openSync, promises as fsp, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomHex } from './random.js';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** mkdir -p with 0700 for every directory we create (existing ones keep their mode). */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await makeDirectories(dir, PRIVATE_DIR_MODE);
}

/**
 * mkdir -p with `mode` for what it creates. Not mkdir({recursive: true}): Node's never returns (and spins a
 * CPU) when mkdir answers ENOENT under a parent that exists, as /proc does for /proc/x.
 */
export async function makeDirectories(dir: string, mode: number): Promise<void> {
  try {
    await fsp.mkdir(dir, { mode });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await isDirectory(dir))) return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await makeDirectories(parent, mode);
    // Once more, and only once, now that the parent is there.
    await fsp.mkdir(dir, { mode }).catch(async (again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST' || !(await isDirectory(dir))) throw again;
    });
  }
}

const isDirectory = async (file: string): Promise<boolean> => (await fsp.stat(file).catch(() => undefined))?.isDirectory() ?? false;

export interface AtomicWriteOptions {
  mode?: number;
  /** Fail with EEXIST instead of replacing an existing file. */
  noClobber?: boolean;
  /** fsync before the rename: for user config (rosters, units), not for run-time state rewritten every second. */
  durable?: boolean;
}

/**
 * Write through a temp file in the same directory and rename it into place,
 * so readers see the old content or the new one, never half a file.
 */
export async function writeFileAtomic(file: string, content: string | Buffer, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  await ensurePrivateDir(dir);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomHex(4)}.tmp`);
  const handle = await fsp.open(tmp, 'wx', options.mode ?? PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(content);
    if (options.durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (options.noClobber) {
      // link() fails if the target exists: an atomic "create only if absent".
      await fsp.link(tmp, file);
      await fsp.unlink(tmp);
    } else {
      await fsp.rename(tmp, file);
    }
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw error;
  }
}

/**
 * For files under run/ that are written before whatever reads them starts (launch specs, the
 * state of an agent being started): unchanged content is left alone, an absent file is created
 * in place (nothing can be reading a file that did not exist), anything else is replaced
 * atomically. Synchronous on purpose: hundreds of creations in one directory from the thread
 * pool spin on the directory's lock (a fifth of the CPU of a 500-agent start, measured).
 */
export async function writeRunFile(file: string, content: string): Promise<void> {
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (current === content) return;
  if (current === undefined) {
    try {
      writeFileSync(file, content, { flag: 'wx', mode: PRIVATE_FILE_MODE });
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOENT') throw error; // ENOENT: no directory yet
    }
  }
  await writeFileAtomic(file, content);
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    await fsp.access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fsp.stat(file);
    if (!stat.isFile()) return false;
    await fsp.access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let smallFileBuffer = Buffer.alloc(4096);

/**
 * Synchronous read for hot loops over many small files (heartbeats, run states, /proc entries):
 * open, read into one reused buffer, close; undefined when missing or unreadable. readFileSync
 * also fstats and allocates per file, and /proc files report size 0 so it reads them twice.
 */
export function readFileIfReadable(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined; // missing (or a process that exited), or not ours to read
  }
  try {
    let length = 0;
    for (;;) {
      if (length === smallFileBuffer.length) smallFileBuffer = Buffer.concat([smallFileBuffer, Buffer.alloc(smallFileBuffer.length)]);
      const space = smallFileBuffer.length - length;
      const n = readSync(fd, smallFileBuffer, length, space, null);
      length += n;
      if (n < space) break; // a short read is the end of these small files
    }
    return smallFileBuffer.toString('utf8', 0, length);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The names in a directory, or none when it cannot be read (missing, not ours). */
export function listDirectory(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export async function readFileOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
