import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Roster } from './model.js';
import { writeFileAtomic } from '../system/fs.js';
import { packageRoot, packageVersion } from '../system/package.js';

/**
 * `agent send` is a hot path: parsing YAML and compiling the JSON schema cost more than
 * the delivery itself. The validated roster is cached in the run directory, keyed by
 * everything the result depends on (the roster's bytes and path, the environment values
 * the loader reads, the built-in runtimes, the package version and the schema file), so
 * any change to them falls back to the full loader.
 */
export interface CachedLoadOptions {
  env: NodeJS.ProcessEnv;
  knownRuntimes: readonly string[];
  defaultTenant: string;
  localHost?: string;
}

/** 2: rosters carry supervisorSource and warnings. */
const CACHE_FORMAT = 2;

export const rosterCacheFile = (runDir: string): string => path.join(runDir, 'roster-cache.json');

export async function loadRosterCached(file: string, runDir: string, options: CachedLoadOptions): Promise<Roster> {
  const content = await readFile(file).catch(() => undefined);
  if (content === undefined) return fullLoad(file, options); // the loader says what is wrong
  const key = await cacheKey(file, content, options);
  const cached = await readFile(rosterCacheFile(runDir), 'utf8')
    .then((text) => JSON.parse(text) as { key?: string; roster?: Roster })
    .catch(() => undefined);
  if (cached?.key === key && cached.roster) return cached.roster;
  const roster = await fullLoad(file, options);
  // Best effort: a failed write only means the next send loads the roster in full again.
  await writeFileAtomic(rosterCacheFile(runDir), JSON.stringify({ key, roster })).catch(() => undefined);
  return roster;
}

async function fullLoad(file: string, options: CachedLoadOptions): Promise<Roster> {
  const { loadRoster } = await import('./load.js');
  return loadRoster(file, options);
}

async function cacheKey(file: string, content: Buffer, options: CachedLoadOptions): Promise<string> {
  const schema = await stat(path.join(packageRoot(), 'framework', 'fleet', 'roster.schema.json')).catch(() => undefined);
  const inputs = {
    format: CACHE_FORMAT,
    file: path.resolve(file),
    home: options.env.HOME ?? os.homedir(),
    socket: options.env.MOSAIC_TMUX_SOCKET ?? '',
    tenant: options.defaultTenant,
    localHost: options.localHost ?? '',
    runtimes: options.knownRuntimes,
    version: packageVersion(),
    schema: schema ? `${schema.size}:${schema.mtimeMs}` : 'none',
  };
  return createHash('sha256').update(JSON.stringify(inputs)).update('\0').update(content).digest('hex');
}
