import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import { packageRoot } from '../system/package.js';

/** How to recognise a runtime's process in a pane's process tree (for drift checks). */
export interface ProcessSignature {
  /** Accepted /proc/<pid>/comm values. */
  comm: string[];
  /** Basenames that, found as an argv element of an interpreter (node, bun, sh), identify the runtime. */
  scriptNames: string[];
}

export interface RuntimeDefinition {
  name: string;
  builtin: boolean;
  /** Launch argv; argv[0] is looked up on the pane's PATH. */
  command: string[];
  signature: ProcessSignature;
  /** Typed into the agent by `agent reset --clear` / `--new`. */
  reset: { clear: string; new: string };
  installHint: string;
  /** Writes heartbeat v1 itself (the stub); others get the launcher's heartbeat loop. */
  writesHeartbeat: boolean;
}

const STUB_SCRIPT = (): string => path.join(packageRoot(), 'framework', 'bin', 'mosaic-stub-agent');

const BUILTIN: Record<string, Omit<RuntimeDefinition, 'name' | 'builtin' | 'writesHeartbeat'>> = {
  claude: {
    command: ['claude'],
    signature: { comm: ['claude'], scriptNames: ['claude', 'cli.js'] },
    reset: { clear: '/clear', new: '/clear' },
    installHint: 'npm install -g @anthropic-ai/claude-code',
  },
  codex: {
    command: ['codex'],
    signature: { comm: ['codex'], scriptNames: ['codex', 'codex.js'] },
    reset: { clear: '/clear', new: '/new' },
    installHint: 'npm install -g @openai/codex',
  },
  pi: {
    command: ['pi'],
    signature: { comm: ['pi'], scriptNames: ['pi'] },
    reset: { clear: '/new', new: '/new' },
    installHint: 'npm install -g @mariozechner/pi-coding-agent',
  },
  opencode: {
    command: ['opencode'],
    signature: { comm: ['opencode'], scriptNames: ['opencode'] },
    reset: { clear: '/new', new: '/new' },
    installHint: 'npm install -g opencode-ai',
  },
  stub: {
    command: ['sh', '<stub>'],
    signature: { comm: [], scriptNames: ['mosaic-stub-agent'] },
    reset: { clear: '/clear', new: '/new' },
    installHint: 'the stub agent ships with mosaic; reinstall the mosaic-fleet package',
  },
};

export const BUILTIN_RUNTIMES: readonly string[] = Object.keys(BUILTIN);

/** The runtime of an agent, with the roster's overrides applied. */
export function resolveRuntime(roster: Roster, runtimeName: string): RuntimeDefinition {
  const base = BUILTIN[runtimeName];
  const override = roster.runtimes[runtimeName];
  if (!base && !override?.command) {
    throw new UserError(`unknown runtime "${runtimeName}"`, {
      hint: `use one of ${BUILTIN_RUNTIMES.join(', ')} or define runtimes.${runtimeName}.command in the roster`,
    });
  }
  const command = override?.command ?? base!.command.map((arg) => (arg === '<stub>' ? STUB_SCRIPT() : arg));
  const resetOverride = override?.resetCommand;
  const reset = base?.reset ?? { clear: '/clear', new: '/new' };
  return {
    name: runtimeName,
    builtin: Boolean(base),
    command,
    // A custom command is recognised by its own executable name.
    signature:
      base && !override?.command
        ? base.signature
        : { comm: [path.basename(command[0]!).slice(0, 15)], scriptNames: command.slice(0, 3).map((a) => path.basename(a)) },
    reset: resetOverride ? { clear: resetOverride, new: resetOverride } : reset,
    installHint: base?.installHint ?? `check runtimes.${runtimeName}.command in the roster`,
    writesHeartbeat: runtimeName === 'stub' && !override?.command,
  };
}

export function launchArgv(roster: Roster, agent: AgentSpec): string[] {
  return [...resolveRuntime(roster, agent.runtime).command, ...agent.args];
}
