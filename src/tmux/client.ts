import { lstatSync } from 'node:fs';
import { CommandError, UserError } from '../core/errors.js';
import { DEFAULT_TIMEOUT_MS, type CommandRunner, type RunOptions, type RunResult } from '../system/runner.js';
import { runOverSocket, socketPath } from './wire.js';

/** One tmux client message is limited to ~16 KiB; stay well under it. */
export const MAX_BATCH_BYTES = 15_000;
export const MIN_TMUX_VERSION = [3, 2] as const;

/** Exact targets: `=name` never prefix-matches `name0`. */
export const exactSession = (session: string): string => `=${session}`;
export const exactPane = (session: string): string => `=${session}:0.0`;
/** For commands whose -t takes a pane or window (set-option): the session's current window, exactly. */
export const exactSessionWindow = (session: string): string => `=${session}:`;

const NO_SERVER = /no server running|error connecting to|server exited unexpectedly/i;

export interface BatchOptions {
  /** Per tmux call (default: the runner's). */
  timeoutMs?: number;
}

export interface TmuxClientOptions {
  socket: string;
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  binary?: string;
  /**
   * Speak tmux's client protocol to a running server instead of starting the binary for each
   * call (src/tmux/wire.ts); off for injected runners, which record or fake the binary's calls,
   * and when the environment sets MOSAIC_TMUX_WIRE=0.
   */
  wire?: boolean;
  /**
   * false: every call carries tmux's `-N` (3.2+), so none can start a server (a `new-session` with none
   * running fails instead). For the systemd supervisor, whose server must be the holder unit's.
   */
  startsServer?: boolean;
}

/**
 * A typed client for one tmux server, named by socket. Every call carries `-L <socket>`
 * and `-f /dev/null` (so the user's ~/.tmux.conf never shapes our server), and never
 * inherits $TMUX, so nothing can fall through to the user's own server or session.
 */
export class TmuxClient {
  readonly socket: string;
  private readonly runner: CommandRunner;
  private readonly env: NodeJS.ProcessEnv;
  private readonly binary: string;
  private readonly wire: boolean;
  private readonly options: TmuxClientOptions;

  constructor(options: TmuxClientOptions) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(options.socket)) {
      throw new UserError(`invalid tmux socket name "${options.socket}"`, { hint: 'use letters, digits, "_", "." or "-"' });
    }
    this.socket = options.socket;
    this.runner = options.runner;
    const env = { ...options.env };
    delete env.TMUX;
    delete env.TMUX_PANE;
    this.env = env;
    this.binary = options.binary ?? 'tmux';
    this.wire = options.wire === true && env.MOSAIC_TMUX_WIRE !== '0';
    this.options = options;
  }

  /** The same client, except that no call of it can start a server (see TmuxClientOptions.startsServer). */
  withoutServerStart(): TmuxClient {
    return new TmuxClient({ ...this.options, startsServer: false });
  }

  /**
   * The argv this client uses for one tmux invocation (also used by tests and benchmarks).
   * `-u`: without a UTF-8 locale in the caller's environment (cron, `env -i`, some service
   * managers) tmux rewrites tabs and non-ASCII characters in its output to "_", which breaks our
   * tab-separated listings and every screen read of a TUI. Our output is always read as UTF-8.
   */
  argv(args: readonly string[]): string[] {
    return [this.binary, '-u', ...(this.options.startsServer === false ? ['-N'] : []), '-L', this.socket, '-f', '/dev/null', ...args];
  }

  /** The environment tmux processes of this client run with (no $TMUX), for a long-lived client we spawn ourselves. */
  get childEnv(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  /** For a client on the operator's own terminal (watch, attach): its locale decides, not ours. */
  terminalArgv(args: readonly string[]): string[] {
    return [this.binary, '-L', this.socket, '-f', '/dev/null', ...args];
  }

  async run(args: readonly string[], options: Omit<RunOptions, 'env'> = {}): Promise<RunResult> {
    const wired = this.wire ? await this.runOverWire(args, options) : undefined;
    if (wired) {
      if (wired.status === 0 || options.allowFailure) return wired;
      throw new CommandError(wired.argv, wired.status, wired.signal, wired.stderr, wired.durationMs);
    }
    try {
      return await this.runner(this.argv(args), { ...options, env: this.env });
    } catch (error) {
      if (error instanceof CommandError && error.stderr.includes('command not found')) {
        throw new UserError('tmux is not installed', {
          hint: 'install it: sudo apt-get install -y tmux (Debian/Ubuntu), then run the command again',
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Our socket's directory is one tmux would use and has no socket of that name. */
  private socketMissing(): boolean {
    const path = socketPath(this.socket, this.env, process.getuid?.() ?? 0);
    if (!path) return false;
    try {
      lstatSync(path);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT';
    }
  }

  /** The call over the server's socket; undefined when the binary has to make it (no server yet, among others). */
  private async runOverWire(args: readonly string[], options: Omit<RunOptions, 'env'>): Promise<RunResult | undefined> {
    const path = socketPath(this.socket, this.env, process.getuid?.() ?? 0);
    if (!path) return undefined;
    return runOverSocket(path, this.argv(args), args, {
      input: options.input,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      env: this.env,
      cwd: options.cwd,
    });
  }

  /**
   * Run many commands in as few tmux invocations as the message-size limit allows.
   * Commands are argv arrays; they are joined with tmux's ";" separator argument.
   */
  async batch(commands: readonly (readonly string[])[], options: BatchOptions = {}): Promise<RunResult[]> {
    const results: RunResult[] = [];
    for (const chunk of chunkCommands(commands)) {
      results.push(await this.run(joinCommands(chunk), { timeoutMs: options.timeoutMs }));
    }
    return results;
  }

  async serverRunning(): Promise<boolean> {
    const result = await this.run(['list-sessions', '-F', '#{session_id}'], { allowFailure: true });
    return result.status === 0;
  }

  /**
   * One `-F` listing call; returns [] when no server runs on our socket. A server that has no session yet (another
   * mosaic's `start-server` has just made it, and its first `new-session` is still to come) answers `list-panes -a`
   * with "no current target": it has no pane, so that is [] too.
   */
  async list(command: 'list-panes' | 'list-sessions', fields: readonly string[], extra: readonly string[] = []): Promise<string[][]> {
    // No socket at all: no server, as the binary would say after a fork of node and an exec of tmux (a stopped
    // fleet's ps, the listing after a stop, the first listing of a start).
    if (this.wire && this.socketMissing()) return [];
    const format = fields.map((field) => `#{${field}}`).join('\t');
    const args = command === 'list-panes' ? [command, '-a', ...extra, '-F', format] : [command, ...extra, '-F', format];
    const result = await this.run(args, { allowFailure: true });
    if (result.status !== 0) {
      if (NO_SERVER.test(result.stderr)) return [];
      if (command === 'list-panes' && result.stderr.trim() === 'no current target') return [];
      throw new CommandError(result.argv, result.status, result.signal, result.stderr, result.durationMs);
    }
    return parseRows(result.stdout, fields.length);
  }

  async version(): Promise<string> {
    const result = await this.runner([this.binary, '-V'], { env: this.env }).catch((error: unknown) => {
      if (error instanceof CommandError) {
        throw new UserError('tmux is not installed or does not run', {
          hint: 'install it: sudo apt-get install -y tmux (Debian/Ubuntu)',
          cause: error,
        });
      }
      throw error;
    });
    return result.stdout.trim();
  }

  /** Throws a clear error if tmux is missing or older than we support. */
  async assertSupportedVersion(): Promise<void> {
    const text = await this.version();
    if (!isSupportedVersion(text)) {
      throw new UserError(`${text} is too old: mosaic needs tmux ${MIN_TMUX_VERSION.join('.')} or newer`, {
        hint: 'upgrade tmux from your distribution (Debian 12 ships 3.3a)',
      });
    }
  }
}

export function isSupportedVersion(text: string): boolean {
  const match = /(\d+)\.(\d+)/.exec(text);
  if (!match) return /master|next/.test(text); // development builds are newer than any release
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > MIN_TMUX_VERSION[0] || (major === MIN_TMUX_VERSION[0] && minor >= MIN_TMUX_VERSION[1]);
}

/** Split `-F` output: tab-separated, the last field takes any remaining tabs. */
export function parseRows(stdout: string, fieldCount: number): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const parts = line.split('\t');
      if (parts.length > fieldCount) parts.splice(fieldCount - 1, parts.length, parts.slice(fieldCount - 1).join('\t'));
      while (parts.length < fieldCount) parts.push('');
      return parts;
    });
}

/**
 * tmux reads a lone ";" argument as a command separator and strips one backslash from a
 * trailing "\;", so arguments ending in ";" get one more backslash to stay literal.
 */
export function escapeArgument(arg: string): string {
  return arg.endsWith(';') ? `${arg.slice(0, -1)}\\;` : arg;
}

export function joinCommands(commands: readonly (readonly string[])[]): string[] {
  const argv: string[] = [];
  commands.forEach((command, index) => {
    if (index > 0) argv.push(';');
    argv.push(...command.map(escapeArgument));
  });
  return argv;
}

function commandBytes(command: readonly string[]): number {
  return command.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 2);
}

export function chunkCommands(
  commands: readonly (readonly string[])[],
  maxBytes = MAX_BATCH_BYTES,
  maxCommands = Number.POSITIVE_INFINITY,
): (readonly string[])[][] {
  const chunks: (readonly string[])[][] = [];
  let current: (readonly string[])[] = [];
  let size = 0;
  for (const command of commands) {
    const bytes = commandBytes(command);
    if (current.length > 0 && (size + bytes > maxBytes || current.length >= maxCommands)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(command);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
