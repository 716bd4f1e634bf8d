import { existsSync, rmSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Roster } from './model.js';
import { listDirectory, writeFileAtomic } from '../system/fs.js';
import { notARegularFile } from './special-file.js';
import { fnv1a32Hex } from '../system/hash.js';
import { packageRoot, packageVersion } from '../system/package.js';

/**
 * Every verb loads the roster, and parsing YAML and checking the schema cost more than a whole
 * send or ps (at 500 agents, about 0.4 s of CPU). The validated roster is cached in the run directory, keyed by
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

/**
 * 2: rosters carry supervisorSource and warnings. 3: the key is the inputs and bytes themselves, not their sha256.
 * 4: rosters carry requiredFiles. 5: one entry per set of inputs.
 */
const CACHE_FORMAT = 5;

/**
 * One entry per set of inputs, named by a digest of them. The fleet's own mosaic runs (the
 * watchdog's `_needs-you` every minute, pane-died handlers, agents sending to each other) have
 * MOSAIC_TMUX_SOCKET set and the operator's shell does not: with a single entry each evicted the
 * other, and at 500 agents the operator's next command parsed the YAML again (~0.4 s of CPU).
 */
const rosterCacheFile = (runDir: string, inputs: string): string => path.join(runDir, `roster-cache-${fnv1a32Hex(inputs)}.json`);

/** An entry not written for this long is removed when another is written (a hit does not touch its entry). */
const STALE_ENTRY_MS = 24 * 60 * 60 * 1000;

export async function loadRosterCached(file: string, runDir: string, options: CachedLoadOptions): Promise<Roster> {
  // A FIFO would block the read (the loader refuses it); a missing or unreadable file, the loader explains.
  const content = (await notARegularFile(file)) ? undefined : await readFile(file).catch(() => undefined);
  if (content === undefined) return fullLoad(file, options);
  const inputs = await cacheInputs(file, options);
  // The roster's bytes as they are (latin1 maps each byte to one character): compared whole, so no
  // two rosters share an entry, and no hash (node:crypto cost 6–7 ms to load, more than the compare).
  const bytes = content.toString('latin1');
  const entry = rosterCacheFile(runDir, inputs);
  const cached = await readFile(entry, 'utf8')
    .then((text) => JSON.parse(text) as { inputs?: string; bytes?: string; roster?: Roster })
    .catch(() => undefined);
  // The loader also checked that the persona files exist: a deleted one must fail the load again.
  if (
    cached?.inputs === inputs &&
    cached.bytes === bytes &&
    cached.roster &&
    (cached.roster.requiredFiles ?? []).every((f) => existsSync(f))
  ) {
    return cached.roster;
  }
  const roster = await fullLoad(file, options);
  // Best effort: a failed write only means the next send loads the roster in full again.
  await writeFileAtomic(entry, JSON.stringify({ inputs, bytes, roster })).catch(() => undefined);
  removeStaleEntries(runDir, entry);
  return roster;
}

/** Entries of other inputs not written for a day, and the single file of cache formats before 5. */
function removeStaleEntries(runDir: string, keep: string): void {
  const now = Date.now();
  for (const name of listDirectory(runDir)) {
    if (!/^roster-cache(-[0-9a-f]{8})?\.json$/.test(name)) continue;
    const file = path.join(runDir, name);
    if (file === keep) continue;
    try {
      if (name === 'roster-cache.json' || now - statSync(file).mtimeMs > STALE_ENTRY_MS) rmSync(file, { force: true });
    } catch {
      // gone already, or not ours to judge: the next write tries again
    }
  }
}

async function fullLoad(file: string, options: CachedLoadOptions): Promise<Roster> {
  const { loadRoster } = await import('./load.js');
  return loadRoster(file, options);
}

/** Everything besides the roster's bytes that the loaded roster depends on. */
async function cacheInputs(file: string, options: CachedLoadOptions): Promise<string> {
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
  return JSON.stringify(inputs);
}
