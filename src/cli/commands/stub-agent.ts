import path from 'node:path';
import type { Command } from 'commander';
import { runInteractive } from '../../observe/interactive.js';
import { packageRoot } from '../../system/package.js';

/**
 * Runs the POSIX-sh stub agent in this terminal; fleets launch the script directly (no Node per
 * agent). SIGTERM and SIGHUP are passed on and the stub is waited for, so it never outlives us.
 */
export async function stubAgent(command: Command): Promise<number> {
  const opts = command.opts<{
    dropFirstEnter?: boolean;
    ignoreEnter?: boolean;
    crashAfter?: string;
    slowMs?: string;
    interval?: string;
    recordDir?: string;
  }>();
  const args: string[] = [];
  if (opts.dropFirstEnter) args.push('--drop-first-enter');
  if (opts.ignoreEnter) args.push('--ignore-enter');
  if (opts.crashAfter !== undefined) args.push('--crash-after', opts.crashAfter);
  if (opts.slowMs !== undefined) args.push('--slow-ms', opts.slowMs);
  if (opts.interval !== undefined) args.push('--interval', opts.interval);
  if (opts.recordDir !== undefined) args.push('--record-dir', opts.recordDir);
  const script = path.join(packageRoot(), 'framework', 'bin', 'mosaic-stub-agent');
  return runInteractive(['sh', script, ...args], process.env, 'reinstall mosaic-fleet: the stub agent is missing');
}
