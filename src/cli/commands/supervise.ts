import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { resolveFleetPaths } from '../../roster/paths.js';
import { handlePaneDied } from '../../supervisor/pane-died.js';
import { runCommand } from '../../system/runner.js';
import { TmuxClient } from '../../tmux/client.js';
import { err } from '../output.js';

/** Entry point of the tmux pane-died hook. Its stderr is appended to logs/supervisor.log. */
export async function supervise(command: Command): Promise<number> {
  const [eventName] = command.args;
  const opts = command.opts<{
    socket: string;
    agent: string;
    status?: string;
    signal?: string;
    pid?: string;
    pane: string;
    deadTime?: string;
    watchdog?: boolean;
  }>();
  if (eventName !== 'pane-died') throw new UsageError(`unknown supervisor event "${eventName}"`);
  const paths = resolveFleetPaths(process.env);
  const tmux = new TmuxClient({ socket: opts.socket, runner: runCommand, env: process.env });
  const number = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));
  const event = {
    agent: opts.agent,
    paneId: opts.pane,
    deadPid: number(opts.pid),
    exitStatus: number(opts.status),
    exitSignal: number(opts.signal),
    deadTime: number(opts.deadTime),
    backstop: Boolean(opts.watchdog),
  };
  const result = await handlePaneDied(event, { tmux, runDir: paths.runDir, now: Date.now });
  const how = event.exitSignal ? `signal ${event.exitSignal}` : `status ${event.exitStatus ?? '?'}`;
  if (result === 'deferred') return 0;
  err(
    `${new Date().toISOString()} ${opts.watchdog ? 'watchdog' : 'hook'}: ${opts.agent} (${opts.pane}, pid ${event.deadPid ?? '?'}) exited with ${how}: ${result}`,
  );
  return 0;
}
