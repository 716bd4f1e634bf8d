import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { rewriteAliases } from './aliases.js';
import type { VerbTarget } from './run-verb.js';
import type { LevelSpec, OptionSpec, VerbEntry, VerbSpec } from './verb-spec.js';

/**
 * The quick path: a plain command line (`mosaic agent send coder0 --verify -m text`, `mosaic fleet
 * ps --json`) runs its verb without loading commander and building the whole program, about 18 ms
 * of every such process (decision 026). It takes only what it is sure commander would parse the
 * same way: known verbs, known options as `--long`, `--long=value`, `-s`, values that do not start
 * with `-`, the right number of operands. Anything else (help, errors, `--`, combined short flags,
 * values or operands that start with `-`) returns undefined and commander parses it, as before.
 */
export interface QuickCall {
  target: VerbTarget;
  /** The verb's path ("agent send"), for the invocation's name and parents. */
  path: string[];
  args: string[];
  /** Each level's option values, outermost first. */
  values: Record<string, unknown>[];
}

export function parseQuick(argv: readonly string[], spec: VerbSpec): QuickCall | undefined {
  const tokens = rewriteAliases(argv).slice(2);
  // The verb's words come first; only the program's own options (`--roster <path>`) may stand before
  // or between them. Everything after the verb is parsed against the verb's levels.
  const words: string[] = [];
  const programOptions: string[] = [];
  let i = 0;
  let entry: VerbEntry | undefined;
  while (!entry) {
    const token = tokens[i++];
    if (token === undefined) return undefined;
    if (token.startsWith('-')) {
      const taken = takeOption([spec.program], tokens, i - 1);
      if (!taken) return undefined;
      programOptions.push(...tokens.slice(i - 1, taken.next));
      i = taken.next;
      continue;
    }
    words.push(token);
    const path = words.join(' ');
    entry = Object.prototype.hasOwnProperty.call(spec.verbs, path) ? spec.verbs[path] : undefined;
    if (!entry && !Object.keys(spec.verbs).some((verb) => verb.startsWith(`${path} `))) return undefined;
  }
  const rest = [...programOptions, ...tokens.slice(i)];
  const values = entry.levels.map((level) => ({ ...level.initial }));
  const args: string[] = [];
  for (let j = 0; j < rest.length;) {
    const token = rest[j]!;
    if (!token.startsWith('-')) {
      args.push(token);
      j += 1;
      continue;
    }
    const taken = takeOption(entry.levels, rest, j);
    if (!taken) return undefined;
    values[taken.level]![taken.option.key] = taken.value;
    j = taken.next;
  }
  if (args.length < entry.min || (entry.max !== null && args.length > entry.max)) return undefined;
  return { target: entry.target, path: words, args, values };
}

/** The option at tokens[at] with its value, or undefined when commander should judge it. */
function takeOption(
  levels: readonly LevelSpec[],
  tokens: readonly string[],
  at: number,
): { option: OptionSpec; level: number; value: string | boolean; next: number } | undefined {
  const token = tokens[at]!;
  const eq = token.startsWith('--') ? token.indexOf('=') : -1;
  const found = optionFor(levels, eq > 0 ? token.slice(0, eq) : token);
  if (!found || found.option.commanderOnly) return undefined;
  const { option, level } = found;
  if (!option.value) return eq > 0 ? undefined : { option, level, value: !option.negate, next: at + 1 };
  const value = eq > 0 ? token.slice(eq + 1) : tokens[at + 1];
  // A value that looks like an option: commander has its own rules for that; leave it to them.
  if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
  if (option.choices && !option.choices.includes(value)) return undefined;
  return { option, level, value, next: eq > 0 ? at + 1 : at + 2 };
}

/** The outermost level's option of that flag: commander's program takes its own options first. */
function optionFor(levels: readonly LevelSpec[], flag: string): { option: OptionSpec; level: number } | undefined {
  if (flag === '--' || flag === '-') return undefined;
  for (let level = 0; level < levels.length; level++) {
    const option = levels[level]!.options.find((o) => o.long === flag || o.short === flag);
    if (option) return { option, level };
  }
  return undefined;
}

/**
 * What actions and tracing read of commander's Command: the operands, each level's option values
 * (merged as commander merges them: the outer level wins) and the names up to the program.
 */
export function invocation(call: QuickCall): Command {
  const names = ['mosaic', ...call.path];
  let parent: unknown = null;
  for (let level = 0; level < names.length; level++) {
    const own = call.values[level]!;
    const up = parent as { optsWithGlobals(): Record<string, unknown> } | null;
    parent = {
      name: () => names[level],
      parent,
      args: level === names.length - 1 ? call.args : [],
      opts: () => ({ ...own }),
      optsWithGlobals: () => ({ ...own, ...up?.optsWithGlobals() }),
    };
  }
  // The actions are typed for commander's Command; they use only what is built above (quick.test.ts
  // runs every verb both ways and compares).
  return parent as Command;
}

/** dist/cli/verbs.json, written at build time; without it (running from src/) every command goes to commander. */
function loadSpec(): VerbSpec | undefined {
  try {
    return JSON.parse(readFileSync(new URL('./verbs.json', import.meta.url), 'utf8')) as VerbSpec;
  } catch {
    return undefined;
  }
}

/** Run the command line's verb on the quick path and return its exit code; undefined: commander's turn. */
export function quickRun(argv: readonly string[]): Promise<number> | undefined {
  const spec = loadSpec();
  const call = spec && parseQuick(argv, spec);
  if (!call) return undefined;
  return (async () => {
    try {
      const { runVerb } = await import('./run-verb.js');
      await runVerb(call.target, invocation(call));
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    } catch (error) {
      return (await import('./output.js')).reportError(error);
    }
  })();
}
