import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { resolveFleetPaths } from '../roster/paths.js';
import type { ForgeKind } from './target.js';

/*
 * Where a forge token comes from, first match wins:
 *   1. MOSAIC_FORGE_TOKEN;
 *   2. GITHUB_TOKEN (GitHub) or GITEA_TOKEN (Gitea);
 *   3. <config root>/forge-credentials.json, `{"hosts": {"<host>": {"token": "…"}}}`, looked up by the
 *      exact host the token will be sent to (the API URL's host, "host:port" before "host"; the key
 *      github.com also serves api.github.com). Exact means equal: a key git.example.com never matches
 *      git.example.com.evil.net, nor the other way round. The file must be the user's own, mode 0600.
 * Never from argv. The token itself is never printed: messages name where it came from.
 */

export interface ForgeToken {
  value: string;
  /** Where it came from, for messages: "MOSAIC_FORGE_TOKEN", or "<file> (git.example.com)". */
  source: string;
}

export const CREDENTIALS_FILE_NAME = 'forge-credentials.json';

export function credentialsFile(env: NodeJS.ProcessEnv): string {
  return path.join(resolveFleetPaths(env).root, CREDENTIALS_FILE_NAME);
}

const normalHost = (host: string): string => host.trim().toLowerCase().replace(/\.$/, '');

/** The credentials-file keys that may hold a token for this API URL, most specific first. */
export function hostKeys(api: URL): string[] {
  const hostname = normalHost(api.hostname);
  const keys = api.port ? [`${hostname}:${api.port}`, hostname] : [hostname];
  if (hostname === 'api.github.com') keys.push('github.com');
  return keys;
}

/** Exact host match: equal after lowercasing and dropping a trailing dot; no suffix, prefix or substring matching. */
export function hostMatches(key: string, candidate: string): boolean {
  return normalHost(key) === normalHost(candidate);
}

const envName = (kind: ForgeKind): string => (kind === 'github' ? 'GITHUB_TOKEN' : 'GITEA_TOKEN');

const usable = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
};

export async function resolveToken(kind: ForgeKind, api: URL, env: NodeJS.ProcessEnv): Promise<ForgeToken> {
  for (const name of ['MOSAIC_FORGE_TOKEN', envName(kind)]) {
    const value = usable(env[name]);
    if (value !== undefined) return { value, source: name };
  }
  const file = credentialsFile(env);
  const fromFile = await tokenFromFile(file, api);
  if (fromFile) return fromFile;
  throw new UserError(
    `no ${kind} token for ${api.host}: set MOSAIC_FORGE_TOKEN or ${envName(kind)}, or add "${normalHost(api.hostname)}" under "hosts" in ${file} (mode 0600)`,
  );
}

async function tokenFromFile(file: string, api: URL): Promise<ForgeToken | undefined> {
  let stat;
  try {
    stat = await fsp.lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!stat.isFile()) throw new UserError(`refusing ${file}: not a regular file`);
  if ((stat.mode & 0o077) !== 0) {
    throw new UserError(
      `refusing ${file}: mode ${(stat.mode & 0o777).toString(8)} lets other users read the tokens in it; run chmod 600 ${file}`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid)
    throw new UserError(`refusing ${file}: it belongs to uid ${stat.uid}, not to you (uid ${uid})`);
  let data: unknown;
  try {
    data = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch {
    // The parser's message quotes the text around the error, which may be a token: say only where.
    throw new UserError(`${file} is not valid JSON`, { hint: 'expected {"hosts": {"<host>": {"token": "…"}}}' });
  }
  const hosts = (data as { hosts?: unknown } | null)?.hosts;
  if (typeof hosts !== 'object' || hosts === null || Array.isArray(hosts)) {
    throw new UserError(`${file} has no "hosts" object`, { hint: 'expected {"hosts": {"<host>": {"token": "…"}}}' });
  }
  const entries = Object.entries(hosts as Record<string, unknown>);
  for (const key of hostKeys(api)) {
    const entry = entries.find(([name]) => hostMatches(name, key));
    if (!entry) continue;
    const token = (entry[1] as { token?: unknown } | null)?.token;
    if (typeof token !== 'string' || usable(token) === undefined) {
      throw new UserError(`${file}: hosts."${entry[0]}" has no "token" string`);
    }
    return { value: token.trim(), source: `${file} (${entry[0]})` };
  }
  return undefined;
}
