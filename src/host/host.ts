import type { AtomicWriteOptions } from '../system/fs.js';
import type { CommandRunner } from '../system/runner.js';
import type { TmuxClient } from '../tmux/client.js';

/** Who and where: every record and JSON row carries these two. */
export interface HostIdentity {
  /** The machine's name as records show it. */
  host: string;
  /** The default tenant: the login name of the user mosaic runs as (a roster's tenant_id wins). */
  tenantId: string;
}

/** The file operations services perform on the host's disk (private modes, atomic writes). */
export interface HostFiles {
  read(file: string): Promise<string | undefined>;
  exists(file: string): Promise<boolean>;
  isExecutable(file: string): Promise<boolean>;
  writeAtomic(file: string, content: string | Buffer, options?: AtomicWriteOptions): Promise<void>;
  ensurePrivateDir(dir: string): Promise<void>;
  /** Removes a file; one that is not there is no error. */
  remove(file: string): Promise<void>;
}

/**
 * One machine and user that commands run on and as: the command runner, its files, a tmux
 * client for any socket on it, its identity, environment and clock. Services take a Host and
 * never build their own runner or tmux client, so a second kind of host (remote, later) is a
 * second implementation of this interface, not a change to the services.
 */
export interface Host {
  readonly identity: HostIdentity;
  /** The environment commands on this host start from (HOME, PATH, XDG_*, MOSAIC_*). */
  readonly env: NodeJS.ProcessEnv;
  readonly runner: CommandRunner;
  readonly files: HostFiles;
  /** A client for the tmux server on `socket` (every call names it with -L). */
  tmux(socket: string): TmuxClient;
  /** The user id commands run as (systemd's user manager is per uid). */
  readonly uid: number;
  now(): number;
}
