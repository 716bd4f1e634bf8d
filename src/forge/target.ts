import { UsageError, UserError } from '../core/errors.js';
import type { CommandRunner } from '../system/runner.js';

/*
 * Which forge, which API root and which repository a `mosaic forge …` command talks to.
 *
 * - The repository's `origin` remote (read with real git) gives the host and `owner/repo`:
 *   https://host[:port]/[prefix/]owner/repo(.git), ssh://[user@]host[:port]/…, git://…, and the
 *   scp form [user@]host:owner/repo(.git).
 * - Host github.com → GitHub at https://api.github.com; any other host → Gitea at
 *   https://<host>[/prefix]/api/v1 (the scheme and port of an http(s) remote are kept; an ssh
 *   port is not the web port, so it is dropped).
 * - `--forge`, `--api` and `--repo` win over what the remote says; with all three, git is not asked.
 */

export type ForgeKind = 'github' | 'gitea';
export const FORGE_KINDS: readonly ForgeKind[] = ['github', 'gitea'];

export interface RepoRef {
  owner: string;
  name: string;
}

export interface ForgeTarget {
  kind: ForgeKind;
  /** The API root: GitHub's serves /repos/…, Gitea's is the /api/v1 root. No trailing slash. */
  api: URL;
  repo: RepoRef;
}

export interface RemoteInfo {
  /** Lowercase host name, no port. */
  host: string;
  /** The web base for an http(s) remote ("https://host:3000/prefix"), else https://host. */
  web: string;
  /** Path segments before owner/repo (a forge served under a sub-path). */
  prefix: string;
  repo: RepoRef;
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const validSegment = (s: string): boolean => SEGMENT.test(s) && s !== '.' && s !== '..';

/** `owner/repo` as given to --repo. */
export function parseRepo(value: string): RepoRef {
  const parts = value
    .trim()
    .replace(/\.git$/, '')
    .split('/');
  if (parts.length !== 2 || !parts.every(validSegment)) {
    throw new UsageError(`--repo takes owner/repo (letters, digits, ".", "_", "-"), got "${value}"`);
  }
  return { owner: parts[0]!, name: parts[1]! };
}

/** Parse a git remote URL. Credentials in it are dropped and never shown. */
export function parseRemoteUrl(url: string): RemoteInfo {
  const text = url.trim();
  let host: string;
  let path: string;
  let web: string;
  const scp = /^(?:[^@/:]+@)?(\[[^\]]+\]|[^/:]+):(?!\/\/)(.+)$/.exec(text);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new UserError('the origin remote is not a URL this command can read', { hint: 'give --repo owner/repo and --api <url>' });
    }
    if (parsed.protocol === 'file:')
      throw new UserError('the origin remote is a local path, not a forge', { hint: 'give --api and --repo' });
    host = parsed.hostname.toLowerCase();
    path = parsed.pathname;
    web =
      parsed.protocol === 'http:' || parsed.protocol === 'https:' ? `${parsed.protocol}//${parsed.host.toLowerCase()}` : `https://${host}`;
  } else if (scp && !text.startsWith('/') && !text.startsWith('.')) {
    host = scp[1]!.toLowerCase();
    path = scp[2]!;
    web = `https://${host}`;
  } else {
    throw new UserError('the origin remote is a local path, not a forge', { hint: 'give --api and --repo' });
  }
  const segments = path
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter((s) => s !== '');
  const name = segments.pop();
  const owner = segments.pop();
  if (!host || !owner || !name || !validSegment(owner) || !validSegment(name)) {
    throw new UserError(`the origin remote (host ${host || '?'}) does not name owner/repo`, { hint: 'give --repo owner/repo' });
  }
  const prefix = segments.filter(validSegment).join('/');
  return { host, web: prefix ? `${web}/${prefix}` : web, prefix, repo: { owner, name } };
}

/** `git remote get-url origin` in `cwd`, or undefined when there is no repository or no origin. */
export async function originUrl(runner: CommandRunner, env: NodeJS.ProcessEnv, cwd: string): Promise<string | undefined> {
  const result = await runner(['git', '-C', cwd, 'remote', 'get-url', 'origin'], { allowFailure: true, env, timeoutMs: 15_000 });
  const line = result.status === 0 ? result.stdout.split('\n')[0]?.trim() : undefined;
  return line ? line : undefined;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** --api: an http(s) URL without credentials, query or fragment; http only to loopback (or with MOSAIC_FORGE_ALLOW_HTTP=1). */
export function parseApiUrl(value: string, env: NodeJS.ProcessEnv): URL {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new UsageError(`--api takes an http(s) URL such as https://api.github.com or https://git.example.com/api/v1, got "${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--api must be an http(s) URL, got ${url.protocol}`);
  if (url.username || url.password)
    throw new UsageError('--api must not contain credentials: the token comes from the environment or the credentials file');
  if (url.search || url.hash) throw new UsageError('--api must not contain a query or fragment');
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname) && env.MOSAIC_FORGE_ALLOW_HTTP !== '1') {
    throw new UsageError(`refusing to send a token over plain http to ${url.host}`, {
      hint: 'use https, or set MOSAIC_FORGE_ALLOW_HTTP=1 for a forge on a trusted network',
    });
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** The forge an API URL looks like, when --forge is not given and there is no origin to go by. */
function kindFromApi(api: URL): ForgeKind | undefined {
  if (api.hostname === 'api.github.com' || /\/api\/v3$/.test(api.pathname)) return 'github';
  if (/\/api\/v1$/.test(api.pathname)) return 'gitea';
  return undefined;
}

export interface TargetOptions {
  forge?: string;
  api?: string;
  repo?: string;
}

/** Resolve what to talk to from the options and, where they leave a gap, the origin remote. */
export async function resolveTarget(
  options: TargetOptions,
  deps: { runner: CommandRunner; env: NodeJS.ProcessEnv; cwd: string },
): Promise<ForgeTarget> {
  if (options.forge !== undefined && !FORGE_KINDS.includes(options.forge as ForgeKind)) {
    throw new UsageError(`--forge takes github or gitea, got "${options.forge}"`);
  }
  const api = options.api !== undefined ? parseApiUrl(options.api, deps.env) : undefined;
  let remote: RemoteInfo | undefined;
  const needRemote = options.repo === undefined || api === undefined || (options.forge === undefined && kindFromApi(api) === undefined);
  if (needRemote) {
    const url = await originUrl(deps.runner, deps.env, deps.cwd);
    if (url === undefined) {
      throw new UsageError(`no origin remote in ${deps.cwd} to tell the forge by`, {
        hint: 'run inside a clone, or give --repo owner/repo, --api <url> and --forge github|gitea',
      });
    }
    remote = parseRemoteUrl(url);
  }
  const kind: ForgeKind =
    (options.forge as ForgeKind | undefined) ??
    (remote ? (remote.host === 'github.com' ? 'github' : 'gitea') : api ? kindFromApi(api) : undefined) ??
    'gitea';
  const repo = options.repo !== undefined ? parseRepo(options.repo) : remote!.repo;
  return { kind, api: api ?? defaultApi(kind, remote!, deps.env), repo };
}

function defaultApi(kind: ForgeKind, remote: RemoteInfo, env: NodeJS.ProcessEnv): URL {
  if (kind === 'github') {
    // GitHub Enterprise Server serves the REST API under /api/v3 on its own host.
    return parseApiUrl(remote.host === 'github.com' ? 'https://api.github.com' : `${remote.web}/api/v3`, env);
  }
  return parseApiUrl(`${remote.web}/api/v1`, env);
}
