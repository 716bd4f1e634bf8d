import type { Command } from 'commander';
import type { FleetContext } from '../context/context.js';

/**
 * When the command's agent runs on another host, run the whole command there and return its exit
 * code; undefined when it runs here. The ssh code is loaded only for rosters that have other hosts.
 */
export async function runElsewhere(
  view: FleetContext,
  command: Command,
  how: { tty?: boolean; input?: string | Buffer; drop?: readonly string[]; extra?: readonly string[] } = {},
): Promise<number | undefined> {
  if (!view.roster.remoteAgents?.length) return undefined;
  const { forwardToHost } = await import('./remote.js');
  return forwardToHost(view, command, how);
}
