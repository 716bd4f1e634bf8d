import { chmod, lstat, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InternalError, UsageError, UserError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import { parseRoster } from '../roster/load.js';
import { resolveFleetPaths } from '../roster/paths.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { fileExists, PRIVATE_DIR_MODE, writeFileAtomic } from '../system/fs.js';
import { LINGER_DIR } from '../systemd/linger.js';
import { profileText } from './profiles.js';

/*
 * A tenant is a Linux user with its own mosaic home, tmux socket and `systemd --user` (linger).
 * Isolation comes from the kernel: each tenant's config root is 0700 and its own, and tmux keeps
 * each user's sockets in a 0700 directory of that user. `tenant add` (root) makes the user, turns
 * lingering on and writes a starter roster; the operator then names it as a host
 * (`ssh: <tenant>@localhost`) to see it.
 */

/** A portable Linux login name (useradd's default NAME_REGEX, 32 characters at most) that is also a valid roster host name (so no leading '_'). */
export const TENANT_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,30}$/;
/** Accounts below this uid are system accounts: never turned into tenants. */
export const FIRST_TENANT_UID = 1000;
/** The kernel's overflow uid (`nobody`): a system account too, whatever its number says. */
const OVERFLOW_UID = 65534;
const SOCKET_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** tmux's socket path (/tmp/tmux-<uid>/<name>) has to fit a sockaddr_un. */
const MAX_SOCKET_LENGTH = 64;

export interface TenantAccount {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

/** `<tenant>@localhost` as a host of the operator's roster. */
export type SshHint = { hosts: Record<string, { ssh: string }> };

export interface TenantReport {
  tenant_id: string;
  host: string;
  user: string;
  uid: number;
  home: string;
  /** false: the user existed (uid ≥ 1000) and is reused as it is. */
  created: boolean;
  /** loginctl: logind turned it on; file: logind did not answer, its flag file was created; failed: neither worked (see hints). */
  linger: 'loginctl' | 'file' | 'failed';
  linger_detail: string;
  /** written: new; replaced: --force over an existing one; kept: one was there, left as it is. */
  roster: 'written' | 'replaced' | 'kept';
  roster_file: string;
  ssh_hint: SshHint;
  /** What the operator may want to do next; empty when all went as planned. */
  hints: string[];
}

/** Runs `work` with the file permissions of `account`, so what it creates is the tenant's. */
export type AsUser = <T>(account: TenantAccount, work: () => Promise<T>) => Promise<T>;

export interface AddTenantOptions {
  /** Replace an existing roster. */
  force?: boolean;
  /** The tenant's tmux socket name (default `mosaic-<name>`). */
  socket?: string;
  /** Where logind keeps its linger flags (tests point it at a temporary directory). */
  lingerDir?: string;
  /** How file work runs as the tenant (default: this process's effective uid and gid switched to the tenant's). */
  asUser?: AsUser;
}

/** Checks a tenant name before anything runs: UsageError (exit 2) when it is not one. */
export function validateTenantName(name: string): void {
  if (!TENANT_NAME_PATTERN.test(name)) {
    throw new UsageError(`"${name}" is not a valid tenant name (a Linux login name: ${TENANT_NAME_PATTERN.source})`, {
      hint: 'lower-case letters, digits, "_" and "-", starting with a letter, 31 characters at most',
    });
  }
  if (name === 'root') throw new UsageError('root cannot be a tenant', { hint: 'pick a name for a new, unprivileged user' });
}

function validateSocket(socket: string): void {
  if (!SOCKET_PATTERN.test(socket) || socket.length > MAX_SOCKET_LENGTH) {
    throw new UsageError(`"${socket}" is not a valid tmux socket name (${SOCKET_PATTERN.source}, ${MAX_SOCKET_LENGTH} characters at most)`);
  }
}

/** The snippet that makes the tenant part of the operator's view. */
export const sshHint = (name: string): SshHint => ({ hosts: { [name]: { ssh: `${name}@localhost` } } });

/**
 * `mosaic tenant add <name>`: create the user if it does not exist (or reuse one with uid ≥ 1000),
 * turn lingering on, and write the tenant's starter roster (the stub profile on a socket of its
 * own) as the tenant, never replacing one without `force`.
 */
export async function addTenant(host: Host, name: string, options: AddTenantOptions = {}): Promise<TenantReport> {
  validateTenantName(name);
  const socket = options.socket ?? `mosaic-${name}`;
  validateSocket(socket);
  if (host.uid !== 0) {
    throw new UserError('adding a tenant creates a Linux user and changes files of another user: it needs root', {
      hint: `run it as root: sudo mosaic tenant add ${name}`,
    });
  }
  const hints: string[] = [];
  let account = await lookupAccount(host, name);
  const created = account === undefined;
  if (account === undefined) {
    await host.runner(['useradd', '--create-home', '--user-group', '--shell', '/bin/sh', name], { env: host.env, timeoutMs: 60_000 });
    account = await lookupAccount(host, name);
    if (account === undefined) throw new UserError(`useradd reported success, but user ${name} cannot be found`);
  } else {
    refuseSystemAccount(account);
  }
  const tenant = account;
  const home = await homeOf(tenant);
  const asUser = options.asUser ?? asTenant;

  const linger = await enableLinger(host, name, options.lingerDir ?? LINGER_DIR);
  if (linger.hint) hints.push(linger.hint);

  const rosterFile = resolveFleetPaths({ HOME: tenant.home }).roster;
  const text = starterRoster(name, socket, rosterFile, tenant.home);
  const roster = await asUser(tenant, async () => {
    // A home we just made is private from the start; another user's existing home keeps its mode.
    if (created) await chmod(tenant.home, PRIVATE_DIR_MODE);
    return writeStarterRoster(tenant, rosterFile, text, Boolean(options.force));
  });
  if (!created && (home.mode & 0o077) !== 0) {
    hints.push(
      `${tenant.home} is open to other users (mode ${(home.mode & 0o777).toString(8)}); mosaic's own files are private, but \`chmod 700 ${tenant.home}\` hides the rest of it`,
    );
  }
  return {
    tenant_id: name,
    host: host.identity.host,
    user: name,
    uid: tenant.uid,
    home: tenant.home,
    created,
    linger: linger.linger,
    linger_detail: linger.detail,
    roster,
    roster_file: rosterFile,
    ssh_hint: sshHint(name),
    hints,
  };
}

/** `getent passwd <name>`: undefined when there is no such user (exit 2). */
async function lookupAccount(host: Host, name: string): Promise<TenantAccount | undefined> {
  const result = await host.runner(['getent', 'passwd', name], { env: host.env, allowFailure: true, timeoutMs: 10_000 });
  if (result.status === 2) return undefined;
  if (result.status !== 0) {
    throw new UserError(`cannot look up user ${name}: getent exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  }
  const line = result.stdout.split('\n').find((l) => l.startsWith(`${name}:`));
  const fields = line?.split(':') ?? [];
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  const home = fields[5] ?? '';
  if (fields.length < 7 || !Number.isInteger(uid) || !Number.isInteger(gid) || !path.isAbsolute(home)) {
    throw new UserError(`cannot read the passwd entry of ${name}: ${JSON.stringify(result.stdout.trim())}`);
  }
  return { user: name, uid, gid, home };
}

function refuseSystemAccount(account: TenantAccount): void {
  if (account.uid < FIRST_TENANT_UID || account.uid === OVERFLOW_UID) {
    throw new UserError(`${account.user} is a system account (uid ${account.uid}): refusing to turn it into a tenant`, {
      hint: `tenants are ordinary users (uid ≥ ${FIRST_TENANT_UID}); pick a name that is not taken, and tenant add creates the user`,
    });
  }
}

/** The tenant's home must be a directory: its mosaic files go there (written as the tenant, so the kernel checks the rest). */
async function homeOf(account: TenantAccount): Promise<{ mode: number }> {
  let info;
  try {
    info = await stat(account.home);
  } catch {
    throw new UserError(`${account.user}'s home ${account.home} does not exist`, {
      hint: `create it: install -d -m 700 -o ${account.user} -g ${account.gid} ${account.home}`,
    });
  }
  if (!info.isDirectory()) throw new UserError(`${account.user}'s home ${account.home} is not a directory`);
  return { mode: info.mode };
}

/**
 * `loginctl enable-linger` when systemd-logind answers; else the flag file logind reads when it
 * starts. Never fails the command: what did not work becomes a hint.
 */
async function enableLinger(
  host: Host,
  name: string,
  dir: string,
): Promise<{ linger: TenantReport['linger']; detail: string; hint?: string }> {
  let why: string;
  try {
    const result = await host.runner(['loginctl', 'enable-linger', name], { env: host.env, allowFailure: true, timeoutMs: 10_000 });
    if (result.status === 0) return { linger: 'loginctl', detail: `loginctl enable-linger ${name}` };
    why = result.stderr.trim().split('\n')[0] || `loginctl exited with ${result.status ?? result.signal}`;
  } catch (error) {
    why = (error as Error).message;
  }
  const flag = path.join(dir, name);
  try {
    // What logind itself makes: a root-owned 0755 directory of empty 0644 files.
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await writeFile(flag, '', { flag: 'a', mode: 0o644 });
    return { linger: 'file', detail: `created ${flag}, which systemd-logind reads when it starts (loginctl: ${why})` };
  } catch (error) {
    return {
      linger: 'failed',
      detail: `loginctl: ${why}; ${flag}: ${(error as Error).message}`,
      hint: `lingering is not on: run \`loginctl enable-linger ${name}\` once systemd-logind runs (without it, the tenant's systemd --user manager stops at its last logout)`,
    };
  }
}

/** The stub profile, on the tenant's own socket and naming its tenant; checked like `fleet init` checks its profiles. */
function starterRoster(name: string, socket: string, rosterFile: string, home: string): string {
  const stub = profileText('stub');
  const text =
    `# Starter roster of tenant ${name}, written by \`mosaic tenant add\` (the stub profile on its own socket).\n` +
    stub.replace(/^version: 1$/m, `version: 1\ntenant_id: "${name}"`).replace(/^(\s+socket_name:) mosaic-stub$/m, `$1 "${socket}"`);
  const roster = parseRoster(text, rosterFile, { env: { HOME: home }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: name });
  if (roster.tenantId !== name || roster.socketName !== socket) {
    throw new InternalError(
      `the stub profile changed shape: the starter roster names tenant ${roster.tenantId} on socket ${roster.socketName}`,
    );
  }
  return text;
}

/** Run as the tenant: directories 0700, the file 0600 and atomic; an existing roster is kept unless `force`. */
async function writeStarterRoster(
  account: TenantAccount,
  rosterFile: string,
  text: string,
  force: boolean,
): Promise<TenantReport['roster']> {
  const mosaicDir = path.join(account.home, '.config', 'mosaic');
  try {
    const existed = await fileExists(rosterFile);
    if (existed && !force) return 'kept';
    // Every directory it needs is created 0700; mosaic's own ones (mosaic/, mosaic/fleet/) are made 0700 if they are not.
    const root = path.dirname(rosterFile);
    await mkdir(root, { recursive: true, mode: PRIVATE_DIR_MODE });
    for (let dir = root; dir.startsWith(mosaicDir); dir = path.dirname(dir)) {
      const info = await lstat(dir);
      if (!info.isDirectory()) throw new UserError(`${dir} is not a directory`, { hint: 'move it away and run tenant add again' });
      if ((info.mode & 0o777) !== PRIVATE_DIR_MODE) await chmod(dir, PRIVATE_DIR_MODE);
    }
    try {
      await writeFileAtomic(rosterFile, text, { noClobber: !force, durable: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'kept'; // it appeared meanwhile
      throw error;
    }
    return existed ? 'replaced' : 'written';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new UserError(`cannot write ${account.user}'s roster as ${account.user}: ${(error as Error).message}`, {
        hint: `something under ${account.home} is not ${account.user}'s: chown -R ${account.user}: ${mosaicDir}`,
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Switch this process's effective ids to the tenant's for `work`, then back to root. Files are
 * then created as the tenant (no chown afterwards), and a symlink the tenant planted in its own
 * home cannot make root write anywhere the tenant itself could not.
 */
const asTenant: AsUser = async (account, work) => {
  if (!process.seteuid || !process.setegid || !process.setgroups || !process.getgroups || !process.getegid) {
    throw new UserError('switching to the tenant user is not supported on this platform');
  }
  const groups = process.getgroups();
  const egid = process.getegid();
  process.setgroups([account.gid]);
  process.setegid(account.gid);
  process.seteuid(account.uid);
  try {
    return await work();
  } finally {
    process.seteuid(0);
    process.setegid(egid);
    process.setgroups(groups);
  }
};
