import type { EventEmitter } from 'node:events';
import type { Command, Option } from 'commander';
import type { VerbTarget } from './run-verb.js';

/**
 * What the quick path (quick.ts) needs to know of the program to parse a plain command line
 * without commander: each verb's options at every level (program, group, verb), their values
 * before parsing, its operand count and where its action lives. Derived from the commander
 * program itself (at build time, into dist/cli/verbs.json), so the two cannot disagree.
 */
export interface VerbSpec {
  /** The program's own level (`--roster`): its options may stand before the verb's words. */
  program: LevelSpec;
  /** "agent send" → the verb. */
  verbs: Record<string, VerbEntry>;
}

export interface VerbEntry {
  target: VerbTarget;
  /** The program's, each group's and the verb's own options, outermost first. */
  levels: LevelSpec[];
  /** Operands: at least `min`, at most `max` (null: any number). */
  min: number;
  max: number | null;
}

export interface LevelSpec {
  name: string;
  options: OptionSpec[];
  /** The option values before anything is parsed (defaults, `--no-x` options' true). */
  initial: Record<string, unknown>;
}

export interface OptionSpec {
  /** The attribute name commander stores the value under (`--source-label` → sourceLabel). */
  key: string;
  long?: string;
  short?: string;
  /** Takes a value (`<text>`); else a flag. */
  value: boolean;
  /** `--no-x`: sets its key to false. */
  negate: boolean;
  choices?: string[];
  /** Used on a command line, it sends that line to commander (see plainOption). */
  commanderOnly?: true;
}

/** Options the quick path leaves to commander: optional or variadic values, parsers, env, conflicts, presets. */
function plainOption(option: Option): boolean {
  const o = option as Option & { parseArg?: unknown; envVar?: unknown; conflictsWith: string[]; implied?: unknown; presetArg?: unknown };
  return !o.optional && !o.variadic && !o.parseArg && !o.envVar && !o.conflictsWith.length && !o.implied && o.presetArg === undefined;
}

function levelOf(command: Command): LevelSpec | undefined {
  // A required option (`requiredOption`): commander checks its presence, so such verbs stay with it.
  if (command.options.some((option) => option.mandatory)) return undefined;
  // The program's `-V, --version` prints the version and exits (commander's own listener).
  const version = (option: Option): boolean => !command.parent && option.long === '--version';
  const options = command.options.map((option): OptionSpec => ({
    key: option.attributeName(),
    ...(option.long ? { long: option.long } : {}),
    ...(option.short ? { short: option.short } : {}),
    value: option.required,
    negate: option.negate,
    ...(option.argChoices ? { choices: [...option.argChoices] } : {}),
    // Any listener beyond commander's own (program.ts's `--source` also sets sourceLabel) is
    // behaviour the spec cannot carry, like the option kinds plainOption leaves out.
    ...(plainOption(option) && !version(option) && (command as unknown as EventEmitter).listenerCount(`option:${option.name()}`) === 1
      ? {}
      : { commanderOnly: true }),
  }));
  const initial = command.opts();
  // verbs.json carries these values: only strings, flags and lists of strings survive it unchanged.
  const plainValue = (v: unknown): boolean =>
    typeof v === 'string' || typeof v === 'boolean' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (!Object.values(initial).every(plainValue)) return undefined;
  return { name: command.name(), options, initial };
}

/** The spec of every verb the quick path can take; `targetOf` says where a command's action lives. */
export function describeProgram(program: Command, targetOf: (command: Command) => VerbTarget | undefined): VerbSpec {
  const verbs: Record<string, VerbEntry> = {};
  const root = levelOf(program);
  if (!root) return { program: { name: program.name(), options: [], initial: {} }, verbs };
  // `chain` holds the levels down to `command`, its own included.
  const visit = (command: Command, path: string[], chain: LevelSpec[]): void => {
    for (const sub of command.commands) {
      const level = levelOf(sub);
      if (level) visit(sub, [...path, sub.name()], [...chain, level]);
    }
    const target = targetOf(command);
    if (command.commands.length > 0 || !target || path.length === 0) return;
    const args = command.registeredArguments;
    if (args.some((a) => a.parseArg || a.argChoices || a.defaultValue !== undefined)) return;
    const last = args[args.length - 1];
    verbs[path.join(' ')] = {
      target,
      levels: chain,
      min: args.filter((a) => a.required).length,
      max: last?.variadic ? null : args.length,
    };
  };
  visit(program, [], [root]);
  return { program: root, verbs };
}
