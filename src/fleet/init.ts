import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { writeFileAtomic } from '../system/fs.js';
import { profileText } from './profiles.js';

export interface InitResult {
  text: string;
  written: string | null;
}

/** Render a profile; with `write`, place it atomically and never clobber without `force`. */
export async function initRoster(options: {
  profile: string;
  rosterPath: string;
  write: boolean;
  force: boolean;
  env: NodeJS.ProcessEnv;
}): Promise<InitResult> {
  const text = profileText(options.profile);
  // The shipped profiles must themselves be valid; fail loudly if not.
  parseRoster(text, `<profile ${options.profile}>`, { env: options.env, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 'x' });
  if (!options.write) return { text, written: null };
  // lstat: a dangling symlink is there too (link() would refuse it, and "appeared while writing" is not what happened).
  const there = await fsp.lstat(options.rosterPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOTDIR') throw notUnderADirectory(options.rosterPath);
    return undefined;
  });
  if (there?.isDirectory() || (there?.isSymbolicLink() && (await fsp.stat(options.rosterPath).catch(() => undefined))?.isDirectory())) {
    throw notAFile(options.rosterPath);
  }
  if (!options.force && there !== undefined) {
    throw new UserError(`roster ${options.rosterPath} already exists; not overwriting it`, {
      hint: 'pass --force to replace it, or --roster <path> to write elsewhere',
    });
  }
  try {
    await writeFileAtomic(options.rosterPath, text, { noClobber: !options.force, durable: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UserError(`roster ${options.rosterPath} appeared while writing; not overwriting it`, {
        hint: 'pass --force to replace it',
      });
    }
    throw cannotWrite(options.rosterPath, error) ?? error;
  }
  return { text, written: options.rosterPath };
}

/**
 * A file of the config root that this user cannot write (permission, a read-only file system, a directory that
 * cannot be made where it is, as under /proc): a user error naming the file, not an internal error.
 */
export function cannotWrite(file: string, error: unknown): UserError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'EROFS'
      ? 'a read-only file system'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOENT'
          ? 'its directory cannot be created there'
          : undefined;
  if (why === undefined) return undefined;
  return new UserError(`cannot write ${file}: ${why} (${code})`, {
    hint: `make ${path.dirname(file)} writable for this user, or point MOSAIC_FLEET_HOME (or --roster) elsewhere; then run it again`,
    cause: error,
  });
}

/** The roster path (or another file mosaic writes) is a directory: say so, not EISDIR as an internal error. */
export function notAFile(file: string): UserError {
  return new UserError(`${file} is a directory, not a file`, {
    hint: 'move it away; for the roster, --roster <path> names another file (the default is <config root>/roster.yaml)',
  });
}

/** A file whose directory (or one above it) is a file: ENOTDIR, or EEXIST from mkdir -p, was a bug report or a lie. */
export function notUnderADirectory(file: string): UserError {
  return new UserError(`cannot write ${file}: ${path.dirname(file)}, or a directory above it, is a file`, {
    hint: 'check $MOSAIC_FLEET_HOME (the config root must be a directory) or --roster',
  });
}
