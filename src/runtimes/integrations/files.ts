import { cp, readFile, symlink, lstat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS } from '../../roster/model.js';
import { ensurePrivateDir, fileExists, readFileOrUndefined, writeFileAtomic } from '../../system/fs.js';
import type { IntegrationContext } from './types.js';

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

/**
 * The blocking PermissionRequest hook of claude and codex (framework/bin/mosaic-permission, next to
 * the reporter): it files the request for `mosaic agent approve|deny` and answers the runtime with
 * the decision. It gives up after the agent's approval timeout; the runtime's own limit on the hook
 * is 10 s later, so the hook always ends first and cleans up.
 */
export function permissionHook(context: IntegrationContext, runtime: string, extraArgs = ''): Record<string, unknown> {
  const script = path.join(path.dirname(context.reporter), 'mosaic-permission');
  const timeout = (context.agent.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS) + 10;
  const command = `${sh(context.node ?? process.execPath)} ${sh(script)} ${runtime}${extraArgs ? ` ${extraArgs}` : ''}`;
  return { hooks: [{ type: 'command', command, timeout }] };
}
