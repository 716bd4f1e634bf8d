import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { rewriteAliases } from './aliases.js';
import { buildProgram, verbSpec } from './program.js';
import { invocation, parseQuick } from './quick.js';
import { verbModule, type VerbTarget } from './run-verb.js';
import { describeProgram, type OptionSpec, type VerbEntry } from './verb-spec.js';

/** What an action sees: the verb's path, operands, own options and options with the globals. */
interface Seen {
  path: string;
  args: string[];
  opts: Record<string, unknown>;
  globals: Record<string, unknown>;
}

const seenBy = (command: Command): Seen => {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return { path: names.join(' '), args: [...command.args], opts: command.opts(), globals: command.optsWithGlobals() };
};

/** Commander's reading of a command line (as runProgram parses it), with every action replaced by a recorder; undefined on a usage error. */
async function commanderReading(argv: string[]): Promise<Seen | undefined> {
  const program = buildProgram();
  let seen: Seen | undefined;
  const silence = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    if (command.commands.length === 0) command.action((...values: unknown[]) => void (seen = seenBy(values[values.length - 1] as Command)));
    command.commands.forEach(silence);
  };
  silence(program);
  try {
    await program.parseAsync(rewriteAliases(['node', 'mosaic', ...argv]));
  } catch {
    return undefined;
  }
  return seen;
}

const spec = verbSpec();

const sampleValue = (option: OptionSpec): string => option.choices?.[option.choices.length - 1] ?? 'v1';
const operands = (entry: VerbEntry, count: number): string[] => Array.from({ length: count }, (_, i) => `a${i + 1}`);
const allOptions = (entry: VerbEntry): OptionSpec[] => entry.levels.flatMap((level) => level.options);

/** Command lines the quick path must take (and read as commander does). */
function plainLines(verb: string, entry: VerbEntry): string[][] {
  const words = verb.split(' ');
  const base = [...words, ...operands(entry, entry.min)];
  const lines: string[][] = [base, ['--roster', 'r.yaml', ...base], [...base, '--roster=r.yaml']];
  if (words.length > 1) lines.push([words[0]!, '--roster', 'r.yaml', ...base.slice(1)]);
  if (entry.max === null || entry.max > entry.min) lines.push([...words, ...operands(entry, entry.min + 1)]);
  if (entry.max === null) lines.push([...words, ...operands(entry, entry.min + 3)]);
  for (const option of allOptions(entry)) {
    if (option.commanderOnly) continue;
    const flags = [option.long, option.short].filter((f): f is string => f !== undefined);
    for (const flag of flags) lines.push(option.value ? [...base, flag, sampleValue(option)] : [...base, flag]);
    if (option.value && option.long) {
      lines.push([...base, `${option.long}=${sampleValue(option)}`], [...base, option.long, '']);
      // Options before the operands, and the same option twice (the last one counts).
      lines.push([...words, option.long, 'first', option.long, sampleValue(option), ...operands(entry, entry.min)]);
    }
  }
  const everything = allOptions(entry)
    .filter((o) => !o.commanderOnly)
    .flatMap((o) => (o.value ? [o.long ?? o.short!, sampleValue(o)] : [o.long ?? o.short!]));
  lines.push([...base, ...everything]);
  return lines;
}

/** Command lines the quick path must leave to commander (help, mistakes, forms it does not read). */
function otherLines(verb: string, entry: VerbEntry): string[][] {
  const words = verb.split(' ');
  const base = [...words, ...operands(entry, entry.min)];
  const lines: string[][] = [
    [...base, '--help'],
    [...base, '-h'],
    [...base, '--bogus'],
    [...base, '--', 'x'],
    [...base, '-'],
    [...base, '-5'],
    [words[0]!, '--json', ...words.slice(1), ...operands(entry, entry.min)],
  ];
  if (entry.min > 0) lines.push(words);
  if (entry.max !== null) lines.push([...words, ...operands(entry, entry.max + 1)]);
  for (const option of allOptions(entry)) {
    const flag = option.long ?? option.short!;
    if (option.commanderOnly) lines.push([...base, flag, ...(option.value ? ['v1'] : [])]);
    else if (option.value) {
      lines.push([...base, flag], [...base, flag, '-x'], [...base, flag, '--json']);
      if (option.short) lines.push([...base, `${option.short}joined`]);
      if (option.choices) lines.push([...base, flag, 'not-a-choice']);
    } else lines.push([...base, `${flag}=yes`]);
  }
  return lines;
}

describe('the quick path reads a command line as commander does', () => {
  it('covers the verbs scripts run most', () => {
    for (const verb of ['agent send', 'agent broadcast', 'fleet ps', 'fleet status', 'agent status', 'fleet start', 'fleet stop']) {
      expect(spec.verbs[verb], verb).toBeDefined();
    }
    expect(Object.keys(spec.verbs).length).toBeGreaterThan(30);
  });

  it.each(Object.entries(spec.verbs))('%s: plain lines are taken, with the same reading', async (verb, entry) => {
    for (const line of plainLines(verb, entry)) {
      const call = parseQuick(['node', 'mosaic', ...line], spec);
      expect(call, line.join(' ')).toBeDefined();
      expect(seenBy(invocation(call!)), line.join(' ')).toEqual(await commanderReading(line));
      expect(call!.target).toEqual(entry.target);
    }
  });

  it.each(Object.entries(spec.verbs))('%s: other lines go to commander', async (verb, entry) => {
    for (const line of otherLines(verb, entry)) {
      const call = parseQuick(['node', 'mosaic', ...line], spec);
      // Leaving a line to commander is always safe; taking one is only right when commander reads it the same.
      if (call) expect(seenBy(invocation(call)), line.join(' ')).toEqual(await commanderReading(line));
    }
  });

  it('upstream spellings and --source go the same way', async () => {
    const alias = ['agent', '--show', 'coder0', '--json'];
    expect(seenBy(invocation(parseQuick(['node', 'mosaic', ...alias], spec)!))).toEqual(await commanderReading(alias));
    // --source has a listener of its own (it sets sourceLabel): commander's.
    expect(parseQuick(['node', 'mosaic', 'agent', 'send', 'a', '--source', 'ci', '-m', 'x'], spec)).toBeUndefined();
    expect(parseQuick(['node', 'mosaic'], spec)).toBeUndefined();
    expect(parseQuick(['node', 'mosaic', 'fleet'], spec)).toBeUndefined();
    expect(parseQuick(['node', 'mosaic', 'help', 'fleet'], spec)).toBeUndefined();
  });

  it("every verb's action exists where its spec says", async () => {
    for (const [verb, { target }] of Object.entries(spec.verbs)) {
      expect(typeof (await verbModule(target.module))[target.name], verb).toBe('function');
    }
  });
});

describe('describeProgram leaves to commander what its spec cannot carry', () => {
  const target: VerbTarget = { module: 'fleet', name: 'x' };
  const spec = (build: (group: Command) => void) => {
    const program = new Command('mosaic').option('--roster <path>');
    build(program.command('g'));
    return describeProgram(program, () => target);
  };

  it('takes a plain verb, with its defaults and --no- options as commander sets them', () => {
    const verbs = spec((g) => g.command('plain').argument('<a>').option('--n <x>', '', '2').option('--no-reset')).verbs;
    expect(verbs['g plain']).toMatchObject({ min: 1, max: 1, target });
    expect(verbs['g plain']!.levels[2]!.initial).toEqual({ n: '2', reset: true });
  });

  it('drops verbs with a required option, a default JSON would change, or an operand with a default', () => {
    const verbs = spec((g) => {
      g.command('required').requiredOption('--runtime <r>');
      g.command('number').addOption(new Option('--n <x>').default(2));
      g.command('operand').argument('[a]', '', 'x');
    }).verbs;
    expect(Object.keys(verbs)).toEqual([]);
  });

  it('marks options with behaviour of their own commanderOnly, and the program version', () => {
    const program = new Command('mosaic').version('1.0.0', '-V, --version');
    const verb = program.command('v').option('--source <s>').option('--opt [x]').option('--plain');
    verb.on('option:source', () => undefined);
    const level = describeProgram(program, () => target).verbs.v!.levels;
    expect(level[0]!.options.find((o) => o.long === '--version')?.commanderOnly).toBe(true);
    expect(level[1]!.options.map((o) => [o.long, o.commanderOnly ?? false])).toEqual([
      ['--source', true],
      ['--opt', true],
      ['--plain', false],
    ]);
  });
});
