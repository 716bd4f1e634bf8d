import { randomBytes } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import { CommandError } from '../core/errors.js';
import type { CommandRunner, RunResult } from '../system/runner.js';
import { PRIVATE_FILE_MODE } from '../system/fs.js';
import { TmuxClient } from './client.js';
import { ControlUnavailableError, TmuxControlClient } from './control-client.js';

/** The runner's own default, so a command behaves the same whichever way it runs. */
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Split a joined argv (see joinCommands) back into commands: a bare ";" separates them, and the
 * extra backslash escapeArgument put before a trailing ";" comes off again.
 */
export function splitCommands(args: readonly string[]): string[][] {
  const commands: string[][] = [[]];
  for (const arg of args) {
    if (arg === ';') commands.push([]);
    else commands[commands.length - 1]!.push(arg.endsWith('\\;') ? `${arg.slice(0, -2)};` : arg);
  }
  return commands.filter((command) => command.length > 0);
}

export interface ControlRunner {
  /** A TmuxClient for the same socket whose commands go through one control-mode client. */
  readonly tmux: TmuxClient;
  /** Detach the control client (the commands already answered are unaffected). */
  close(): void;
  /** How many control-mode tmux clients it started (tests and benchmarks count them). */
  clientsStarted(): number;
}

/**
 * Run a short burst of tmux calls (one `agent send`: about five) through one control-mode client
 * attached to `session` instead of one tmux process each: a spawned tmux call costs ~9 ms and
 * ~10 ms of CPU, a command on an attached client ~1 ms (docs/decisions/019-control-mode-send.md).
 * Anything it cannot carry (another binary, client flags, stdin other than load-buffer's) runs as
 * before; so does everything when the client cannot attach (it ran none of the commands then).
 */
export function controlRunner(base: TmuxClient, session: string, scratchDir: string): ControlRunner {
  const control = new TmuxControlClient(base, async () => session, { flags: 'ignore-size,no-output' });
  const prefix = base.argv([]);
  const runner: CommandRunner = (argv, options = {}) => base.run(argv.slice(prefix.length), options);
  let usable = true;
  const viaControl: CommandRunner = async (argv, options = {}) => {
    const commands = usable && prefix.every((arg, i) => argv[i] === arg) ? splitCommands(argv.slice(prefix.length)) : undefined;
    if (!commands || commands.length === 0 || commands[0]![0]!.startsWith('-') || commands.flat().some((arg) => /[\n\r]/.test(arg))) {
      return runner(argv, options);
    }
    const inputFile = options.input === undefined ? undefined : stdinAsFile(commands, options.input, scratchDir);
    if (options.input !== undefined && inputFile === undefined) return runner(argv, options);
    const started = performance.now();
    try {
      const replies = await withTimeout(control.runList(commands), options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => {
        usable = false; // its replies could no longer be matched to their commands
        control.close();
      });
      const failed = replies.find((reply) => !reply.ok);
      const result: RunResult = {
        argv,
        status: failed ? 1 : 0,
        signal: null,
        stdout: replies.flatMap((reply) => (reply.ok ? reply.lines.map((line) => `${line}\n`) : [])).join(''),
        stderr: failed ? `${failed.lines.join('\n')}\n` : '',
        durationMs: Math.round(performance.now() - started),
      };
      if (failed && !options.allowFailure) throw new CommandError(argv, 1, null, result.stderr, result.durationMs);
      return result;
    } catch (error) {
      if (error instanceof ControlUnavailableError) {
        usable = false;
        return runner(argv, options);
      }
      if (error instanceof CommandError) throw error;
      throw new CommandError(argv, null, null, (error as Error).message, Math.round(performance.now() - started));
    } finally {
      if (inputFile) unlinkQuietly(inputFile);
    }
  };
  const tmux = new TmuxClient({ socket: base.socket, runner: viaControl, env: base.childEnv, binary: prefix[0] });
  return { tmux, close: () => control.close(), clientsStarted: () => control.spawned };
}

/**
 * A control client's stdin is its command channel, so `load-buffer … -` reads from a private file
 * in `dir` instead (0600, created exclusively, removed after the call): the bytes never pass a parser.
 */
function stdinAsFile(commands: string[][], input: string | Buffer, dir: string): string | undefined {
  const reader = commands.filter((command) => command[0] === 'load-buffer' && command[command.length - 1] === '-');
  if (reader.length !== 1) return undefined;
  const file = `${dir}/paste-${process.pid}-${randomBytes(6).toString('hex')}`;
  writeFileSync(file, input, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  const command = reader[0]!;
  command[command.length - 1] = file;
  return file;
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`timed out after ${Math.round(ms / 1000)} s`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
