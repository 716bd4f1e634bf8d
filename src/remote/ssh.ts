import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { RemoteHost } from '../roster/model.js';
import { sha256Hex } from '../system/hash.js';
import { shellQuote } from '../system/shell.js';

/** Refuse destinations ssh would read as an option, or that would split into several words. */
export function assertSafeDestination(host: Pick<RemoteHost, 'name' | 'ssh'>): void {
  if (host.ssh === '' || host.ssh.startsWith('-') || /\s/.test(host.ssh)) {
    throw new UserError(`host "${host.name}": ssh destination "${host.ssh}" must not start with "-" or contain whitespace`);
  }
}

/** Where ssh's master connections live: a private directory under the runtime dir (short, for the socket path limit). */
export function controlDirectory(env: NodeJS.ProcessEnv, uid: number): string {
  return env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'mosaic', 'ssh') : path.join(os.tmpdir(), `mosaic-ssh-${uid}`);
}

/**
 * The master socket of one destination: a hash of everything that picks the connection (like
 * ssh's %C, but computed here so the socket can be probed before use). Unix sockets are limited
 * to ~104 bytes: `none` (no sharing) when the directory is too deep.
 */
export function controlPath(dir: string, host: RemoteHost): string {
  const key = sha256Hex(JSON.stringify([host.ssh, host.port ?? null, host.identityFile ?? null, host.sshConfig ?? null])).slice(0, 20);
  const file = path.join(dir, `cm-${key}`);
  return file.length > 100 ? 'none' : file;
}

export type MasterState = 'absent' | 'alive' | 'stale' | 'hung';

/**
 * Dial the master socket and wait for its greeting (an OpenSSH master speaks first: its mux
 * hello). A refused or missing socket is stale (removed, so ssh makes a new master instead of
 * failing); one that accepts but stays silent, or whose backlog is full, is hung (left alone, and
 * this call goes around it), because ssh's ConnectTimeout does not cover a stuck master.
 */
export async function probeMaster(socket: string, timeoutMs = 300): Promise<MasterState> {
  if (socket === 'none') return 'absent';
  const state = await new Promise<MasterState>((resolve) => {
    const client = connect(socket);
    const done = (result: MasterState): void => {
      clearTimeout(timer);
      client.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('hung'), timeoutMs);
    client.once('data', () => done('alive'));
    client.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ENOENT' ? 'absent' : error.code === 'EAGAIN' ? 'hung' : 'stale'),
    );
  });
  if (state === 'stale') await rm(socket, { force: true });
  return state;
}

export interface SshCall {
  /** The remote command as argv; quoted here for the remote shell. */
  remote: readonly string[];
  /** Allocate a terminal (watch, attach). */
  tty?: boolean;
  /** Seconds ssh may take to connect. */
  connectTimeoutSeconds: number;
  /** The master socket, or 'none' to bypass sharing (a hung master). */
  control: string;
}

/**
 * The ssh argv for one command on a host: batch mode (never a password or host-key prompt, so a
 * changed or unknown host key fails instead of being accepted), a shared master connection,
 * keepalives so a dead link is noticed, and the destination after `--`.
 */
export function sshArgv(host: RemoteHost, call: SshCall): string[] {
  assertSafeDestination(host);
  const shared =
    call.control === 'none'
      ? ['-o', 'ControlMaster=no', '-o', 'ControlPath=none']
      : ['-o', 'ControlMaster=auto', '-o', `ControlPath=${call.control}`, '-o', 'ControlPersist=60'];
  return [
    'ssh',
    ...(host.sshConfig ? ['-F', host.sshConfig] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${Math.max(1, Math.round(call.connectTimeoutSeconds))}`,
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=3',
    ...shared,
    ...(host.port ? ['-p', String(host.port)] : []),
    ...(host.identityFile ? ['-i', host.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    call.tty ? '-t' : '-T',
    '--',
    host.ssh,
    call.remote.map(shellQuote).join(' '),
  ];
}
