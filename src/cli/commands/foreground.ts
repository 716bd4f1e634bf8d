import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { prepareForeground } from '../../fleet/foreground.js';
import { launcherScript } from '../../supervisor/hook.js';
import { runInteractive } from '../../observe/interactive.js';
import type { AgentMode } from '../../roster/model.js';
import { cliHost } from '../host.js';

interface ForegroundFlags {
  model?: string;
  name?: string;
  resume?: boolean;
  roster?: string;
}

/** Everything after a lone "--" on the command line goes to the runtime untouched. */
function runtimeArgs(argv: readonly string[]): string[] {
  const at = argv.indexOf('--');
  return at === -1 ? [] : argv.slice(at + 1);
}

const foreground =
  (mode: AgentMode) =>
  async (command: Command): Promise<number> => {
    const flags = command.optsWithGlobals<ForegroundFlags>();
    const [runtime, ...rest] = command.args;
    if (!runtime) throw new UsageError('name the runtime: claude, codex, opencode or pi');
    const extraArgs = runtimeArgs(process.argv);
    // commander hands operands after "--" to the prompt too: keep only those before it.
    const promptWords = rest.slice(0, rest.length - extraArgs.length);
    const host = cliHost();
    const spec = await prepareForeground(host, {
      runtime,
      mode,
      model: flags.model,
      prompt: promptWords.length > 0 ? promptWords.join(' ') : undefined,
      extraArgs,
      name: flags.name,
      resume: flags.resume,
      roster: flags.roster,
    });
    return runInteractive(['sh', launcherScript(), spec.file], host.env, 'reinstall mosaic-fleet: its launcher is missing');
  };

export const yolo = foreground('yolo');
export const run = foreground('safe');
