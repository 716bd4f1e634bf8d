/**
 * Upstream's spellings of the agent verbs: `mosaic agent --new <name> …`, `agent --list` and
 * `agent --show <name>` mean `agent new`, `agent list` and `agent show`. Only right after `agent`
 * (so `agent reset x --new` keeps its own meaning); global options before it are skipped.
 */
const ALIASES: Record<string, string> = { '--new': 'new', '--list': 'list', '--show': 'show' };
/** Global options that take a value (program.ts). */
const GLOBAL_WITH_VALUE = new Set(['--roster']);

export function rewriteAliases(argv: readonly string[]): string[] {
  const out = [...argv];
  for (let i = 2; i < out.length; i++) {
    const arg = out[i]!;
    if (GLOBAL_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    if (arg === 'agent' && out[i + 1] !== undefined && ALIASES[out[i + 1]!]) out[i + 1] = ALIASES[out[i + 1]!]!;
    break; // the first word is the command: nothing further is rewritten
  }
  return out;
}
