import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { UserError } from '../core/errors.js';

/**
 * Run a program in this terminal (stdio inherited: a tmux client, or a runtime in the
 * foreground) and return its exit code. $TMUX is removed so it works from inside another tmux;
 * SIGTERM and SIGHUP are passed on so the child never outlives us.
 */
export function runInteractive(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  installHint = 'install tmux: sudo apt-get install -y tmux',
): Promise<number> {
  const childEnv = { ...env };
  delete childEnv.TMUX;
  delete childEnv.TMUX_PANE;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: childEnv });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];
    for (const signal of signals) process.on(signal, forward);
    const done = (): void => {
      for (const signal of signals) process.off(signal, forward);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      done();
      reject(error.code === 'ENOENT' ? new UserError(`${argv[0]} is not installed`, { hint: installHint }) : error);
    });
    child.on('close', (status, signal) => {
      done();
      resolve(status ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
