import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { localHost } from '../../host/local.js';
import { holderCheck } from '../../systemd/exec.js';
import { err } from '../output.js';

/**
 * `mosaic _systemd <step>`: what the generated units run. Kept apart from the other commands
 * so the holder's pre-check loads no roster parser. Messages go to the journal.
 */
export async function step(command: Command): Promise<number> {
  const [name] = command.args;
  switch (name) {
    case 'holder-check':
      await holderCheck(localHost({ env: process.env }));
      return 0;
    case 'holder-ready': {
      const { loadFleetContext } = await import('../../context/context.js');
      const { holderReady } = await import('../../systemd/exec.js');
      const host = localHost({ env: process.env });
      const ctx = await loadFleetContext(host, { roster: command.optsWithGlobals<{ roster?: string }>().roster });
      const pid = await holderReady(ctx);
      err(`mosaic: tmux server pid ${pid} on socket ${ctx.tmux.socket} is set up (hook, watchdog session ${ctx.roster.holderSession})`);
      return 0;
    }
    default:
      throw new UsageError(`unknown systemd step "${name}"`);
  }
}
