import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { resolveFleetPaths } from '../../roster/paths.js';
import { handlePaneDied, loggedOutcome, paneDiedLogLine, withZombieStatus } from '../../supervisor/pane-died.js';
import { maintainFleetTranscripts } from '../../supervisor/transcript.js';
import { cliHost } from '../host.js';
import { err } from '../output.js';

/**
 * Entry point of the tmux pane-died hook and of the fleet watchdog (pane-died backstop,
 * transcript cap). Its stderr is appended to logs/supervisor.log.
 */
export async function supervise(command: Command): Promise<number> {
  const [eventName] = command.args;
  const opts = command.opts<{
    socket: string;
    agent?: string;
    holder?: string;
    status?: string;
    signal?: string;
    pid?: string;
    pane?: string;
    deadTime?: string;
    watchdog?: boolean;
  }>();
  const host = cliHost();
  const paths = resolveFleetPaths(host.env);
  const tmux = host.tmux(opts.socket);
  if (eventName === 'transcripts') {
    if (!opts.holder) throw new UsageError('transcripts needs --holder <session>');
    const { rotated } = await maintainFleetTranscripts({ tmux, logsDir: paths.logsDir, env: host.env }, opts.holder);
    if (rotated.length > 0) err(`${new Date().toISOString()} watchdog: rotated the transcripts of ${rotated.join(', ')}`);
    return 0;
  }
  if (eventName !== 'pane-died') throw new UsageError(`unknown supervisor event "${eventName}"`);
  if (!opts.agent || !opts.pane) throw new UsageError('pane-died needs --agent and --pane');
  const number = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));
  const event = withZombieStatus({
    agent: opts.agent,
    paneId: opts.pane,
    deadPid: number(opts.pid),
    exitStatus: number(opts.status),
    exitSignal: number(opts.signal),
    deadTime: number(opts.deadTime),
    backstop: Boolean(opts.watchdog),
  });
  const outcome = await handlePaneDied(event, { tmux, runDir: paths.runDir, logsDir: paths.logsDir, now: host.now });
  if (loggedOutcome(outcome)) err(paneDiedLogLine(event, outcome, opts.watchdog ? 'watchdog' : 'hook', new Date()));
  return 0;
}
