import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { holderCheck } from '../../supervisor/systemd-exec.js';
import { runCommand } from '../../system/runner.js';
import { err } from '../output.js';

/**
 * `mosaic _systemd <step>`: what the generated units run. Kept apart from the other commands
 * so the holder's pre-check loads no roster parser. Messages go to the journal.
 */
export async function step(command: Command): Promise<number> {
  const [name] = command.args;
  switch (name) {
    case 'holder-check':
      await holderCheck(process.env, runCommand);
      return 0;
    case 'holder-ready': {
      const { openFleet } = await import('../../fleet/context.js');
      const { holderReady } = await import('../../supervisor/systemd-exec.js');
      const ctx = await openFleet({ env: process.env, globals: { roster: command.optsWithGlobals<{ roster?: string }>().roster } });
      const pid = await holderReady(ctx);
      err(`mosaic: tmux server pid ${pid} on socket ${ctx.tmux.socket} is set up (hook, watchdog session ${ctx.roster.holderSession})`);
      return 0;
    }
    default:
      throw new UsageError(`unknown systemd step "${name}"`);
  }
}
