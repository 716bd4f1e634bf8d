import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import type { RemoteHost } from '../roster/model.js';
import { sha256Hex } from '../system/hash.js';
import { controlDirectory, controlPath, probeMaster, sshArgv } from './ssh.js';

/** What a host's mosaic and ours must agree on (the `--json` shapes and hidden verbs used across hosts). */
export const REMOTE_PROTOCOL = 1;

/** The host did not answer: ssh could not connect, the link dropped, or the command ran out of time. */
export class HostUnreachableError extends UserError {
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`host "${host}" is unreachable: ${reason}`, {
      hint: `check it with \`mosaic host check ${host}\``,
    });
  }
}

export interface RemoteResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RemoteOptions {
  input?: string | Buffer;
  /** Default: the host's timeout_seconds. */
  timeoutMs?: number;
}

interface SyncRecord {
  hash: string;
  file: string;
}

/**
 * One other host's mosaic, driven over ssh: `mosaic --roster <its roster> <verb> … --json`. Its
 * roster (this roster's agents for that host) is sent once and again only when it changed; the
 * host's own mosaic, tmux and supervisor do the work, so its agents never depend on this link.
 */
export class RemoteMosaic {
  readonly name: string;

  constructor(
    private readonly local: Host,
    readonly spec: RemoteHost,
    private readonly roster: { yaml: string; stateDir: string; origin: string },
  ) {
    this.name = spec.name;
  }

  /** The remote mosaic's argv: its rows then carry this roster's name for the host. */
  private mosaic(): string[] {
    return ['env', `MOSAIC_HOST_NAME=${this.name}`, ...this.spec.mosaic];
  }

  /** Run a mosaic verb there; throws HostUnreachableError when the host did not answer. */
  async run(args: readonly string[], options: RemoteOptions = {}): Promise<RemoteResult> {
    const file = await this.rosterFile();
    const result = await this.ssh([...this.mosaic(), '--roster', file, ...args], options);
    if (result.status === 1 && /no roster at /.test(result.stderr)) {
      // Its copy was removed behind our back: send it again, once.
      const again = await this.rosterFile(true);
      return this.ssh([...this.mosaic(), '--roster', again, ...args], options);
    }
    return result;
  }

  /** Run a `--json` verb and parse what it printed (also on a non-zero exit, which may carry records). */
  async json<T>(args: readonly string[], options: RemoteOptions = {}): Promise<RemoteResult & { value: T | undefined }> {
    const result = await this.run([...args, '--json'], options);
    let value: T | undefined;
    try {
      value = result.stdout.trim() === '' ? undefined : (JSON.parse(result.stdout) as T);
    } catch {
      throw new UserError(`host "${this.name}": its mosaic printed something that is not JSON: ${lastLine(result.stdout)}`);
    }
    return { ...result, value };
  }

  /** The argv of an interactive command there (watch, attach, logs -f): a terminal, the roster already sent. */
  async interactiveArgv(args: readonly string[], tty: boolean): Promise<string[]> {
    const file = await this.rosterFile();
    return sshArgv(this.spec, {
      remote: [...this.mosaic(), '--roster', file, ...args],
      tty,
      connectTimeoutSeconds: this.spec.timeoutSeconds,
      control: await this.control(),
    });
  }

  /** `mosaic --version` there, without sending the roster (for `host check`). */
  async version(): Promise<string> {
    const result = await this.ssh([...this.spec.mosaic, '--version'], {});
    if (result.status !== 0)
      throw new UserError(`host "${this.name}": \`${this.spec.mosaic.join(' ')} --version\` failed: ${lastLine(result.stderr)}`);
    return result.stdout.trim();
  }

  /** Any command there (for `host check`: tmux, runtimes on the non-interactive PATH, linger). */
  async shell(argv: readonly string[], options: RemoteOptions = {}): Promise<RemoteResult> {
    return this.ssh(argv, options);
  }

  private async ssh(remote: readonly string[], options: RemoteOptions): Promise<RemoteResult> {
    const timeoutMs = options.timeoutMs ?? this.spec.timeoutSeconds * 1000;
    const argv = sshArgv(this.spec, {
      remote,
      connectTimeoutSeconds: Math.min(this.spec.timeoutSeconds, timeoutMs / 1000),
      control: await this.control(),
    });
    const result = await this.local.runner(argv, {
      allowFailure: true,
      timeoutMs,
      env: this.local.env,
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
    if (result.status === null) throw new HostUnreachableError(this.name, `no answer within ${Math.round(timeoutMs / 1000)} s`);
    // 255 is ssh's own failure (connect, auth, host key, a dropped link), never mosaic's.
    if (result.status === 255) throw new HostUnreachableError(this.name, lastLine(result.stderr) || 'ssh failed (exit 255)');
    if (result.status === 127) {
      throw new UserError(`host "${this.name}": \`${this.spec.mosaic[0]}\` is not on its non-interactive PATH`, {
        hint: `install mosaic there, or set hosts.${this.name}.mosaic to its full path (e.g. ["node", "/opt/mosaic/dist/cli/main.js"])`,
      });
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  private async control(): Promise<string> {
    const dir = controlDirectory(this.local.env, this.local.uid);
    await this.local.files.ensurePrivateDir(dir);
    const socket = controlPath(dir, this.spec);
    return (await probeMaster(socket)) === 'hung' ? 'none' : socket;
  }

  /** The host's copy of its roster: sent (validated there) when it is new or changed. */
  private async rosterFile(force = false): Promise<string> {
    const hash = sha256Hex(this.roster.yaml);
    const record = path.join(this.roster.stateDir, 'hosts', `${this.name}.json`);
    const known = force ? undefined : parseSync(await this.local.files.read(record));
    if (known?.hash === hash) return known.file;
    const result = await this.ssh([...this.mosaic(), '_host-roster', '--origin', this.roster.origin], { input: this.roster.yaml });
    if (result.status !== 0) {
      throw new UserError(`host "${this.name}" refused its roster: ${result.stderr.trim() || `exit ${result.status}`}`, {
        hint: 'is mosaic there the same version as here? `mosaic host check`',
      });
    }
    const reply = parseReply(result.stdout);
    if (!reply || reply.protocol !== REMOTE_PROTOCOL) {
      throw new UserError(
        `host "${this.name}" runs a mosaic that speaks protocol ${reply?.protocol ?? 'unknown'} (version ${reply?.version ?? 'unknown'}); this one speaks protocol ${REMOTE_PROTOCOL}`,
        { hint: 'install the same mosaic version on both machines' },
      );
    }
    await this.local.files.ensurePrivateDir(path.dirname(record));
    await this.local.files.writeAtomic(record, JSON.stringify({ hash, file: reply.file } satisfies SyncRecord), { mode: 0o600 });
    return reply.file;
  }
}

function parseSync(text: string | undefined): SyncRecord | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as SyncRecord);
  } catch {
    return undefined;
  }
}

function parseReply(text: string): { file: string; protocol: number; version: string } | undefined {
  try {
    const value = JSON.parse(text) as { file?: unknown; protocol?: unknown; version?: unknown };
    return typeof value.file === 'string' && typeof value.protocol === 'number'
      ? { file: value.file, protocol: value.protocol, version: String(value.version) }
      : undefined;
  } catch {
    return undefined;
  }
}

const lastLine = (text: string): string => text.trim().split('\n').filter(Boolean).at(-1)?.slice(0, 300) ?? '';
