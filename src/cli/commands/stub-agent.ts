import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Command } from 'commander';
import { packageRoot } from '../../system/package.js';

/** Runs the POSIX-sh stub agent in this terminal; fleets launch the script directly (no Node per agent). */
export async function stubAgent(command: Command): Promise<number> {
  const opts = command.opts<{ dropFirstEnter?: boolean; crashAfter?: string; slowMs?: string; interval?: string; recordDir?: string }>();
  const args: string[] = [];
  if (opts.dropFirstEnter) args.push('--drop-first-enter');
  if (opts.crashAfter !== undefined) args.push('--crash-after', opts.crashAfter);
  if (opts.slowMs !== undefined) args.push('--slow-ms', opts.slowMs);
  if (opts.interval !== undefined) args.push('--interval', opts.interval);
  if (opts.recordDir !== undefined) args.push('--record-dir', opts.recordDir);
  const script = path.join(packageRoot(), 'framework', 'bin', 'mosaic-stub-agent');
  const child = spawn('sh', [script, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}
