import { promises as fsp } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { UsageError } from '../core/errors.js';
import { BUILTIN_RULES, DENY_RULE_ID } from './rules.js';

/*
 * `.mosaic/sanitize.yaml`:
 *
 *   deny:                      # private host and user names that must not appear (case-insensitive, whole words)
 *     - git.corp.example
 *     - jdoe
 *   allow:                     # exemptions, each with a reason in review
 *     - docs/vendor/**         # a path glob: no rule applies to these files
 *     - path: test/fixtures/*.txt
 *       rules: [github-token]  # only these rules are off there
 *       reason: fake tokens the parser tests read
 *
 * Globs are relative to the repository top: `*` stays within a directory, `**` crosses them, a
 * pattern without "/" matches a file name at any depth, a trailing "/" means everything below.
 * Anything else in the file is an error that names its line (exit 2).
 */

export interface AllowEntry {
  glob: string;
  matcher: RegExp;
  /** Undefined: every rule. */
  rules?: ReadonlySet<string>;
}

export interface SanitizeConfig {
  /** The file it came from, if any. */
  file?: string;
  deny: string[];
  allow: AllowEntry[];
}

export const EMPTY_CONFIG: SanitizeConfig = { deny: [], allow: [] };

const KNOWN_RULES = new Set([...BUILTIN_RULES.map((r) => r.id), DENY_RULE_ID]);

/** A path glob as an anchored expression over "/"-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let pattern = glob.trim().replace(/^\.\//, '').replace(/^\/+/, '');
  if (pattern.endsWith('/')) pattern += '**';
  if (!pattern.includes('/')) pattern = `**/${pattern}`;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Read and check a config file; undefined when it does not exist. Errors are UsageErrors (exit 2) naming file:line. */
export async function loadSanitizeConfig(file: string): Promise<SanitizeConfig | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return { file, ...parseSanitizeConfig(text, file) };
}

export function parseSanitizeConfig(text: string, file: string): Omit<SanitizeConfig, 'file'> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const fail = (node: Node | undefined | null, message: string): never => {
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : 1;
    throw new UsageError(`${file}:${line}: ${message}`, { hint: 'see `mosaic sanitize check --help` for the format' });
  };
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lineCounter.linePos(yamlError.pos[0]).line;
    throw new UsageError(`${file}:${line}: not valid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const config: Omit<SanitizeConfig, 'file'> = { deny: [], allow: [] };
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) return config;
  if (!isMap(root)) return fail(root, 'expected a mapping with "deny" and/or "allow"');
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as Node | null;
    if (key === 'deny') {
      if (value === null || (isScalar(value) && value.value === null)) continue;
      if (!isSeq(value)) return fail(value, '"deny" must be a list of names');
      for (const item of value.items as Node[]) {
        if (!isScalar(item) || typeof item.value !== 'string')
          return fail(item, 'each "deny" entry must be a string (a host or user name)');
        const name = item.value.trim();
        if (name.length < 3) return fail(item, `deny entry "${name}" is shorter than 3 characters: it would match almost anything`);
        config.deny.push(name);
      }
    } else if (key === 'allow') {
      if (value === null || (isScalar(value) && value.value === null)) continue;
      if (!isSeq(value)) return fail(value, '"allow" must be a list of path globs or {path, rules, reason} entries');
      for (const item of value.items as Node[]) config.allow.push(allowEntry(item, fail));
    } else {
      return fail(pair.key as Node, `unknown key "${key}" (known: deny, allow)`);
    }
  }
  return config;
}

function allowEntry(item: Node, fail: (node: Node | undefined | null, message: string) => never): AllowEntry {
  if (isScalar(item)) {
    if (typeof item.value !== 'string' || item.value.trim() === '') return fail(item, 'an "allow" entry must be a path glob or a mapping');
    return { glob: item.value, matcher: globToRegExp(item.value) };
  }
  if (!isMap(item)) return fail(item, 'an "allow" entry must be a path glob or a mapping with "path" and "rules"');
  let glob: string | undefined;
  let rules: Set<string> | undefined;
  for (const pair of item.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as Node | null;
    if (key === 'path') {
      if (!isScalar(value) || typeof value.value !== 'string' || value.value.trim() === '')
        return fail(value ?? item, '"path" must be a path glob');
      glob = value.value;
    } else if (key === 'rules') {
      if (!isSeq(value) || value.items.length === 0) return fail(value ?? item, '"rules" must be a non-empty list of rule ids');
      rules = new Set();
      for (const rule of value.items as Node[]) {
        if (!isScalar(rule) || typeof rule.value !== 'string' || !KNOWN_RULES.has(rule.value)) {
          return fail(rule, `unknown rule ${isScalar(rule) ? `"${String(rule.value)}"` : ''} (known: ${[...KNOWN_RULES].join(', ')})`);
        }
        rules.add(rule.value);
      }
    } else if (key === 'reason') {
      if (!isScalar(value) || typeof value.value !== 'string') return fail(value ?? item, '"reason" must be text');
    } else {
      return fail(pair.key as Node, `unknown key "${key}" in an "allow" entry (known: path, rules, reason)`);
    }
  }
  if (glob === undefined) return fail(item, 'an "allow" entry needs a "path"');
  return { glob, matcher: globToRegExp(glob), ...(rules ? { rules } : {}) };
}

/** The rules switched off for `relativePath` ("all" when a plain path entry covers it). */
export function allowedRules(config: SanitizeConfig, relativePath: string): 'all' | Set<string> {
  const off = new Set<string>();
  for (const entry of config.allow) {
    if (!entry.matcher.test(relativePath)) continue;
    if (!entry.rules) return 'all';
    for (const rule of entry.rules) off.add(rule);
  }
  return off;
}
