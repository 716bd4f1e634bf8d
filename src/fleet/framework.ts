import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import { CONTRACT_FILES, deployedContractDir, shippedContractDir } from '../launch/contract.js';
import { resolveFleetPaths } from '../roster/paths.js';
import { readFileOrUndefined } from '../system/fs.js';
import { sha256Hex } from '../system/hash.js';
import { cannotWrite, initRoster, notAFile, notUnderADirectory } from './init.js';
import { PROFILES, type ProfileName } from './profiles.js';

/**
 * `mosaic init` and `mosaic update`: the files mosaic ships into the operator's config root (the
 * agent contract in <root>/contract/ and the starter roster), and a manifest of what it wrote
 * (<root>/.mosaic-manifest.json: the sha256 of each file as mosaic last wrote it), so an update
 * can tell a file mosaic still owns (replaced with the new shipped version) from one the operator
 * edited (kept, the new version written beside it as <file>.new). The roster is the operator's
 * from the moment it is written: nothing here replaces it without `init --force`.
 */

export type FileAction = 'written' | 'kept' | 'replaced' | 'unchanged' | 'new-beside';

export interface FrameworkRow {
  file: string;
  action: FileAction;
  reason: string;
  /** new-beside, or kept with the shipped version already beside it: where that version is. */
  beside?: string;
}

export interface FrameworkReport {
  root: string;
  manifest: string;
  rows: FrameworkRow[];
}

export interface FrameworkOptions {
  /** The global --roster: where the roster is (default <root>/roster.yaml). */
  roster?: string;
  /** Where the shipped contract is read from (default framework/contract/ of this package; tests). */
  shippedDir?: string;
}

interface Manifest {
  version: 1;
  /** The roster profile `mosaic init` wrote. */
  profile?: string;
  /** Path (relative to the config root when inside it) → sha256 of what mosaic wrote there. */
  files: Record<string, string>;
  /** Path → sha256 of the shipped version last written beside it as <file>.new (offered once). */
  offered: Record<string, string>;
}

/** The file at `key` is mosaic's, as `hash`: update may replace it, nothing is on offer beside it. */
function own(manifest: Manifest, key: string, hash: string): void {
  manifest.files[key] = hash;
  delete manifest.offered[key];
}

export const MANIFEST_NAME = '.mosaic-manifest.json';
export const manifestFile = (root: string): string => path.join(root, MANIFEST_NAME);
export const besideFile = (file: string): string => `${file}.new`;

const DURABLE = { durable: true } as const;

/** A shipped file and what it becomes in the config root. */
interface Shipped {
  file: string;
  text: string;
  kind: 'contract' | 'roster';
}

const shippedName = (item: Shipped, profile: string): string => (item.kind === 'roster' ? `${profile} profile` : 'version');

/** Deploy the contract and the starter roster; an existing file is kept (reported) unless `force`. */
export async function initFramework(
  host: Host,
  options: FrameworkOptions & { profile?: string; force?: boolean },
): Promise<FrameworkReport> {
  const profile = options.profile ?? 'minimal';
  if (!(PROFILES as readonly string[]).includes(profile)) {
    throw new UserError(`unknown roster profile "${profile}"`, { hint: `use one of ${PROFILES.join(', ')}` });
  }
  const { root, roster } = resolveFleetPaths(host.env, options.roster);
  const manifest = await readManifest(host, root);
  const shipped = [...(await shippedContract(root, options.shippedDir)), await starterRoster(host, roster, profile as ProfileName)];
  await preflight(
    host,
    shipped.map((item) => item.file),
  );
  const rows: FrameworkRow[] = [];
  for (const item of shipped) {
    const key = manifestKey(root, item.file);
    const current = await readTarget(host, item.file);
    const hash = sha256Hex(item.text);
    let row: FrameworkRow;
    if (current === undefined) {
      row = await create(host, item, 'was missing');
    } else if (current === item.text) {
      row = { file: item.file, action: 'unchanged', reason: `already the shipped ${shippedName(item, profile)}` };
    } else if (options.force) {
      await write(host, item.file, item.text, DURABLE);
      row = { file: item.file, action: 'replaced', reason: '--force: replaced with the shipped version' };
    } else {
      row = {
        file: item.file,
        action: 'kept',
        reason: `exists and differs from the shipped ${shippedName(item, profile)}; --force replaces it`,
      };
    }
    if (row.action !== 'kept') {
      own(manifest, key, hash);
      if (item.kind === 'roster') manifest.profile = profile;
      // A <file>.new an earlier update wrote beside it is now the file itself: it would only mislead.
      const beside = besideFile(item.file);
      if ((await readTarget(host, beside)) === item.text) {
        await host.files.remove(beside);
        row.reason += `; ${path.basename(beside)}, the same text, removed`;
      }
    }
    rows.push(row);
  }
  await writeManifest(host, root, manifest);
  return { root, manifest: manifestFile(root), rows };
}

/**
 * Bring the deployed contract up to this version of mosaic: a missing file is written, one mosaic
 * wrote and nobody changed since is replaced, an edited one is kept and the shipped version goes
 * beside it as <file>.new. The roster is never written or replaced; when mosaic wrote it and its
 * starter profile has changed since, the new starter goes beside it too. Running it again changes
 * nothing.
 */
export async function updateFramework(host: Host, options: FrameworkOptions = {}): Promise<FrameworkReport> {
  const { root, roster } = resolveFleetPaths(host.env, options.roster);
  const manifest = await readManifest(host, root);
  const contract = await shippedContract(root, options.shippedDir);
  await preflight(host, [...contract.map((item) => item.file), roster]);
  const rows: FrameworkRow[] = [];
  for (const item of contract) rows.push(await updateOne(host, root, manifest, item));
  rows.push(await updateRoster(host, root, manifest, roster));
  await writeManifest(host, root, manifest);
  return { root, manifest: manifestFile(root), rows };
}

async function updateOne(host: Host, root: string, manifest: Manifest, item: Shipped): Promise<FrameworkRow> {
  const key = manifestKey(root, item.file);
  const hash = sha256Hex(item.text);
  const current = await readTarget(host, item.file);
  if (current === undefined) {
    const row = await create(host, item, 'was missing: the shipped version');
    if (row.action === 'written') own(manifest, key, hash);
    return row;
  }
  if (current === item.text) {
    own(manifest, key, hash);
    return { file: item.file, action: 'unchanged', reason: 'already the shipped version' };
  }
  const recorded = manifest.files[key];
  if (recorded === sha256Hex(current)) {
    await write(host, item.file, item.text, DURABLE);
    own(manifest, key, hash);
    return { file: item.file, action: 'replaced', reason: 'unchanged since mosaic wrote it: now the shipped version' };
  }
  if (recorded === hash) {
    return { file: item.file, action: 'kept', reason: 'edited since mosaic wrote it; the shipped version has not changed since' };
  }
  const why = recorded === undefined ? 'not written by mosaic' : 'edited since mosaic wrote it';
  return writeBeside(host, manifest, key, item, `${why}: kept`);
}

/** The roster is the operator's: never written or replaced here; a changed starter goes beside one mosaic wrote. */
async function updateRoster(host: Host, root: string, manifest: Manifest, roster: string): Promise<FrameworkRow> {
  const current = await readTarget(host, roster);
  if (current === undefined) {
    return { file: roster, action: 'unchanged', reason: 'no roster: update never writes one (`mosaic init` does)' };
  }
  const key = manifestKey(root, roster);
  const recorded = manifest.files[key];
  const profile = PROFILES.find((name) => name === manifest.profile);
  if (recorded === undefined || profile === undefined) {
    return { file: roster, action: 'kept', reason: 'your roster (not written by `mosaic init`): update never replaces it' };
  }
  const starter = await starterRoster(host, roster, profile);
  if (current === starter.text) {
    own(manifest, key, sha256Hex(starter.text));
    return { file: roster, action: 'unchanged', reason: `already the shipped ${profile} profile` };
  }
  if (recorded === sha256Hex(starter.text)) {
    return { file: roster, action: 'kept', reason: `your roster: update never replaces it (the ${profile} profile has not changed)` };
  }
  return writeBeside(host, manifest, key, starter, `your roster: update never replaces it; the ${profile} profile changed`);
}

/**
 * Keep the file; write the shipped version beside it, once per version: an up-to-date .new is left
 * alone, and a .new the operator deleted or changed is not written again until mosaic ships another.
 */
async function writeBeside(host: Host, manifest: Manifest, key: string, item: Shipped, why: string): Promise<FrameworkRow> {
  const beside = besideFile(item.file);
  const hash = sha256Hex(item.text);
  if ((await readTarget(host, beside)) === item.text) {
    manifest.offered[key] = hash;
    return { file: item.file, action: 'kept', reason: `${why}; the shipped version is already beside it`, beside };
  }
  if (manifest.offered[key] === hash) {
    return { file: item.file, action: 'kept', reason: `${why}; this shipped version was written beside it before, and is not again` };
  }
  await write(host, beside, item.text, DURABLE);
  manifest.offered[key] = hash;
  return { file: item.file, action: 'new-beside', reason: `${why}; the shipped version is written beside it`, beside };
}

/** Every write of init and update: a file the config root does not let us write is a user error naming it, not exit 70. */
async function write(host: Host, file: string, text: string, options: Parameters<Host['files']['writeAtomic']>[2]): Promise<void> {
  try {
    await host.files.writeAtomic(file, text, options);
  } catch (error) {
    throw cannotWrite(file, error) ?? error;
  }
}

/** Create a file that is not there; one that appears meanwhile is kept, never overwritten. */
async function create(host: Host, item: Shipped, reason: string): Promise<FrameworkRow> {
  try {
    await write(host, item.file, item.text, { ...DURABLE, noClobber: true });
    return { file: item.file, action: 'written', reason };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { file: item.file, action: 'kept', reason: 'appeared while mosaic was writing it; left as it is' };
  }
}

async function shippedContract(root: string, shippedDir = shippedContractDir()): Promise<Shipped[]> {
  const items: Shipped[] = [];
  for (const name of CONTRACT_FILES) {
    const source = path.join(shippedDir, name);
    const text = await readFileOrUndefined(source);
    if (text === undefined) {
      throw new UserError(`this mosaic ships no ${name} (${source} is missing)`, { hint: 'reinstall mosaic-fleet' });
    }
    items.push({ file: path.join(deployedContractDir(root), name), text, kind: 'contract' });
  }
  return items;
}

/** A file's content, or undefined when missing; a directory where the file should be is the operator's to move. */
async function readTarget(host: Host, file: string): Promise<string | undefined> {
  try {
    return await host.files.read(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw notAFile(file);
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw notUnderADirectory(file);
    throw error;
  }
}

/** Every file this run may write is readable as a file (or missing) before any is written: no half-done run. */
async function preflight(host: Host, files: readonly string[]): Promise<void> {
  for (const file of files) await readTarget(host, file);
}

/** The starter roster: `fleet init`'s profile text (checked to parse). */
async function starterRoster(host: Host, roster: string, profile: ProfileName): Promise<Shipped> {
  const { text } = await initRoster({ profile, rosterPath: roster, write: false, force: false, env: host.env });
  return { file: roster, text, kind: 'roster' };
}

/** Relative to the config root when inside it (so a moved root keeps its manifest), else absolute. */
function manifestKey(root: string, file: string): string {
  const relative = path.relative(root, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? path.resolve(file) : relative.split(path.sep).join('/');
}

async function readManifest(host: Host, root: string): Promise<Manifest> {
  const file = manifestFile(root);
  const text = await readTarget(host, file);
  if (text === undefined) return { version: 1, files: {}, offered: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const value = parsed as Partial<Manifest> | undefined;
  const hashes = (map: unknown): map is Record<string, string> =>
    typeof map === 'object' && map !== null && !Array.isArray(map) && Object.values(map).every((h) => typeof h === 'string');
  const { files, offered = {} } = value ?? {};
  if (value?.version !== 1 || !hashes(files) || !hashes(offered)) {
    throw new UserError(`${file} is not a mosaic manifest (version 1)`, {
      hint: 'move it away and run `mosaic update`: files mosaic cannot vouch for are then kept, with the shipped version beside them',
    });
  }
  return {
    version: 1,
    ...(typeof value.profile === 'string' ? { profile: value.profile } : {}),
    files: { ...files },
    offered: { ...offered },
  };
}

/** Written only when it changed, so a run that changes nothing leaves every file as it was. */
async function writeManifest(host: Host, root: string, manifest: Manifest): Promise<void> {
  const file = manifestFile(root);
  const sorted = (map: Record<string, string>) => Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
  const value = {
    version: 1,
    ...(manifest.profile ? { profile: manifest.profile } : {}),
    files: sorted(manifest.files),
    ...(Object.keys(manifest.offered).length > 0 ? { offered: sorted(manifest.offered) } : {}),
  };
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if ((await host.files.read(file)) === text) return;
  await write(host, file, text, DURABLE);
}
