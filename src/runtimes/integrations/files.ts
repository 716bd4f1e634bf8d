import { cp, readFile, symlink, lstat } from 'node:fs/promises';
import { ensurePrivateDir, fileExists, readFileOrUndefined, writeFileAtomic } from '../../system/fs.js';

/** Copy the roster's seed directory into the agent's config directory (seed files win). */
export async function applySeed(seedDir: string | undefined, configDir: string): Promise<void> {
  await ensurePrivateDir(configDir);
  if (seedDir) await cp(seedDir, configDir, { recursive: true, force: true });
}

export async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  const text = await readFileOrUndefined(file);
  if (text === undefined || text.trim() === '') return {};
  const value: unknown = JSON.parse(text);
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Let the agent use the operator's existing login without copying the secret: a symlink to the
 * runtime's credential file, made only when the agent has none of its own.
 */
export async function linkCredential(source: string, target: string): Promise<void> {
  if (!(await fileExists(source))) return;
  try {
    await lstat(target);
    return; // the agent has its own (seeded or earlier link)
  } catch {
    await symlink(source, target);
  }
}

export async function fileContains(file: string, needle: string): Promise<boolean> {
  try {
    return (await readFile(file, 'utf8')).includes(needle);
  } catch {
    return false;
  }
}

/** POSIX single-quoting for the hook command lines that runtimes run through a shell. */
export function sh(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
