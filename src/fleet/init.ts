import { UserError } from '../core/errors.js';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { fileExists, writeFileAtomic } from '../system/fs.js';
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
  if (!options.force && (await fileExists(options.rosterPath))) {
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
    throw error;
  }
  return { text, written: options.rosterPath };
}
