import { spawn } from 'node:child_process';
import { CommandError, UserError } from '../core/errors.js';
import { monotonicMs } from './clock.js';

export interface RunOptions {
  /** Bytes written to the child's stdin, then stdin is closed. */
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Return a result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  /**
   * Run the child in a process group of its own and kill the whole group on timeout: what it
   * started goes with it (a notification sink's `curl` or `sleep`), instead of running on orphaned.
   */
  killGroup?: boolean;
}

export interface RunResult {
  argv: readonly string[];
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs an external command given as an argv array. Never goes through a shell. */
export type CommandRunner = (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;

export const DEFAULT_TIMEOUT_MS = 30_000;
/** How long output is still read after the child exited (from grandchildren that share its pipes). */
const PIPE_GRACE_MS = 250;

export const runCommand: CommandRunner = (argv, options = {}) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) {
      reject(new UserError('internal: empty command'));
      return;
    }
    const started = monotonicMs();
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: options.killGroup === true,
    });
    // Our own timer (not spawn's `timeout`), cleared on every ending: a command that cannot
    // even start must not keep mosaic alive until the timeout.
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (options.killGroup === true && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
          return;
        } catch {
          /* the group is gone already: kill the child itself below */
        }
      }
      child.kill('SIGKILL');
    }, timeoutMs);
    const done = (): void => clearTimeout(timer);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => {
      /* the child may exit before reading stdin; its exit status tells the story */
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      done();
      const durationMs = Math.round(monotonicMs() - started);
      if (error.code === 'ENOENT') {
        reject(
          new CommandError(argv, null, null, `${file}: command not found`, durationMs, {
            hint: `install ${file} or put it on PATH`,
            cause: error,
          }),
        );
      } else {
        reject(new CommandError(argv, null, null, error.message, durationMs, { cause: error }));
      }
    });
    // A child that leaves a background process holding its stdout/stderr (a setup script's
    // `server &`, a sink's `notify &`) would keep 'close' from firing until that process ends:
    // shortly after the child itself exits, stop waiting for its pipes.
    child.on('exit', () => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, PIPE_GRACE_MS).unref();
    });
    child.on('close', (status, signal) => {
      done();
      const result: RunResult = {
        argv,
        status,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (timedOut ? `timed out after ${timeoutMs / 1000} s and was killed\n` : ''),
        durationMs: Math.round(monotonicMs() - started),
      };
      if (status === 0 || options.allowFailure) resolve(result);
      else reject(new CommandError(argv, status, signal, result.stderr, result.durationMs));
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
