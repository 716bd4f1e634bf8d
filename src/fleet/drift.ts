import path from 'node:path';
import { oneLine } from '../core/text.js';
import type { Roster } from '../roster/model.js';
import { resolveRuntime, type ProcessSignature } from '../runtimes/registry.js';
import type { ProcessTable } from '../system/proc.js';

/** Programs that run a script named by their first operand: `node …/pi` is pi, `sh …/mosaic-stub-agent` is the stub. */
const INTERPRETER = /^(node|nodejs|bun|deno|sh|dash|bash|zsh|ksh|python[0-9.]*|ruby|perl|env)$/;

/** How to recognise the roster's runtime among the processes of a pane. */
export type RuntimeMatcher =
  | { kind: 'signature'; runtime: string; signature: ProcessSignature }
  /** A roster-defined command: the process must have been started as that command. */
  | { kind: 'command'; runtime: string; command: string[] };

export function runtimeMatcher(roster: Roster, runtime: string): RuntimeMatcher {
  const definition = resolveRuntime(roster, runtime);
  if (roster.runtimes[runtime]?.command || !definition.builtin) {
    return { kind: 'command', runtime, command: definition.command };
  }
  return { kind: 'signature', runtime, signature: definition.signature };
}

/** The first argument that is not an option: the script an interpreter runs. */
function firstOperand(argv: readonly string[], from: number): number {
  for (let i = from; i < argv.length; i += 1) {
    if (!argv[i]!.startsWith('-')) return i;
  }
  return -1;
}

const base = (value: string): string => path.basename(value);

export function matchesRuntime(matcher: RuntimeMatcher, comm: string, argv: readonly string[]): boolean {
  const program = base(argv[0] ?? '');
  const interpreted = INTERPRETER.test(program) || INTERPRETER.test(comm);
  if (matcher.kind === 'signature') {
    const { comm: names, scriptNames } = matcher.signature;
    if (names.includes(comm) || names.includes(program)) return true;
    if (!interpreted) return false;
    const script = firstOperand(argv, 1);
    return script >= 0 && scriptNames.includes(base(argv[script]!));
  }
  // Command: argv is the command as launched (exec keeps argv[0] as written), or, for a
  // script with a shebang line, the interpreter followed by the script's path.
  const [head, ...rest] = matcher.command;
  if (!head) return false;
  let start = -1;
  if (program === base(head) || comm === base(head).slice(0, 15)) start = 0;
  else if (interpreted) {
    const script = firstOperand(argv, 1);
    if (script >= 0 && base(argv[script]!) === base(head)) start = script;
  }
  if (start < 0) return false;
  return rest.every((arg, i) => {
    const actual = argv[start + 1 + i];
    return actual !== undefined && (actual === arg || (arg.includes('/') && base(actual) === base(arg)));
  });
}

/** What the launcher runs while it waits out a crash backoff: not the runtime, and not drift either. */
export function isLauncher(argv: readonly string[]): boolean {
  return argv.slice(0, 3).some((arg) => base(arg) === 'mosaic-launch');
}

export interface PaneProcessReport {
  /** The runtime's process in the pane's tree, nearest the pane first. */
  agentPid: number | null;
  /** The pane's own process (what tmux started), as "argv" for messages. */
  paneCommand: string | null;
  /** The pane is between runs: its process is mosaic's launcher, sleeping a backoff. */
  launching: boolean;
}

/**
 * Find the runtime's process: the pane's own process first (the launcher execs the
 * runtime, so that is the usual answer without reading anything else), then its
 * descendants, which needs the full process table (read once, shared by all agents).
 */
export function findAgentProcess(table: ProcessTable, panePid: number, matcher: RuntimeMatcher | undefined): PaneProcessReport {
  const paneArgv = table.argv(panePid);
  const paneStat = table.stat(panePid);
  const paneCommand = paneArgv && paneArgv.length > 0 ? shorten(paneArgv) : paneStat ? oneLine(paneStat.comm) : null;
  if (!paneStat || !matcher) return { agentPid: null, paneCommand, launching: false };
  if (paneArgv && isLauncher(paneArgv)) return { agentPid: null, paneCommand, launching: true };
  if (matchesRuntime(matcher, paneStat.comm, paneArgv ?? [])) return { agentPid: panePid, paneCommand, launching: false };
  for (const pid of table.descendants(panePid)) {
    const stat = table.stat(pid);
    if (stat && table.alive(pid) && matchesRuntime(matcher, stat.comm, table.argv(pid) ?? [])) {
      return { agentPid: pid, paneCommand, launching: false };
    }
  }
  return { agentPid: null, paneCommand, launching: false };
}

/** argv for a message: directories of long paths elided, at most a few words. */
export function shorten(argv: readonly string[]): string {
  const words = argv.slice(0, 4).map((arg) => (arg.includes('/') && arg.length > 24 ? `…/${base(arg)}` : arg));
  return oneLine(`${words.join(' ')}${argv.length > 4 ? ' …' : ''}`);
}

export function expectedDescription(matcher: RuntimeMatcher): string {
  if (matcher.kind === 'command') return `"${shorten(matcher.command)}"`;
  const names = [...matcher.signature.comm, ...matcher.signature.scriptNames.map((name) => `<interpreter> …/${name}`)];
  return [...new Set(names)].join(' or ');
}
