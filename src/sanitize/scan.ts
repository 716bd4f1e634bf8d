import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { CommandRunner } from '../system/runner.js';
import { allowedRules, type SanitizeConfig } from './config.js';
import { BUILTIN_RULES, DENY_RULE_ID, scanText, type Rule } from './rules.js';

/*
 * Which files the gate reads, and reading them. A directory inside a git work tree is listed with
 * `git ls-files` (tracked files plus untracked ones that are not ignored: what a commit could
 * carry); elsewhere it is walked, skipping node_modules, .git and dist. A file named on the
 * command line is always read. Every text file counts, whatever its extension; a file with a NUL
 * byte in its first 8 KB is binary and skipped, as are symbolic links and files over 10 MB.
 */

export interface Finding {
  /** Relative to the directory paths are shown from (the working directory). */
  file: string;
  line: number;
  column: number;
  rule: string;
  description: string;
  /** deny-list findings: the entry's number in the config (the name itself is not repeated). */
  entry?: number;
}

export interface ScanReport {
  clean: boolean;
  files_scanned: number;
  files_skipped: { file: string; why: 'binary' | 'too large' }[];
  rules: string[];
  deny_entries: number;
  config?: string;
  findings: Finding[];
}

export interface ScanDeps {
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  /** Where relative paths start and are shown from. */
  cwd: string;
}

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist']);
const BINARY_SNIFF_BYTES = 8192;
export const MAX_FILE_BYTES = 10 * 1024 * 1024;

/** The top of the git work tree holding `dir`, or undefined outside one (or without git). */
export async function gitTop(deps: ScanDeps, dir: string): Promise<string | undefined> {
  try {
    const result = await deps.runner(['git', '-C', dir, 'rev-parse', '--show-toplevel'], { allowFailure: true, env: deps.env });
    const top = result.status === 0 ? result.stdout.trim() : '';
    return top ? top : undefined;
  } catch {
    return undefined; // no git on PATH: walk instead
  }
}

async function walk(dir: string, found: string[]): Promise<void> {
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) await walk(full, found);
    } else if (entry.isFile()) {
      found.push(full);
    }
  }
}

/** Absolute paths of the files to read under `targets` (files and directories), without duplicates. */
export async function listFiles(deps: ScanDeps, targets: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const target of targets) {
    let absolute = path.resolve(deps.cwd, target);
    let stat;
    try {
      stat = await fsp.lstat(absolute);
    } catch {
      throw new UserError(`${target}: no such file or directory`);
    }
    // A link named on the command line is what it points to (it was skipped: "clean, 0 files scanned");
    // links met inside a directory are still skipped (their targets in the tree are scanned as themselves).
    if (stat.isSymbolicLink()) {
      try {
        absolute = await fsp.realpath(absolute);
        stat = await fsp.stat(absolute);
      } catch {
        throw new UserError(`${target}: a symbolic link to nothing (no such file or directory)`);
      }
    }
    if (stat.isFile()) {
      files.add(absolute);
      continue;
    }
    if (!stat.isDirectory()) continue;
    if (await gitTop(deps, absolute)) {
      const listed = await deps.runner(['git', '-C', absolute, 'ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.'], {
        env: { ...deps.env, GIT_OPTIONAL_LOCKS: '0' },
        timeoutMs: 120_000,
      });
      for (const name of listed.stdout.split('\0')) if (name) files.add(path.resolve(absolute, name));
    } else {
      const found: string[] = [];
      await walk(absolute, found);
      for (const file of found) files.add(file);
    }
  }
  return [...files].sort();
}

const toSlash = (p: string): string => p.split(path.sep).join('/');

export interface ScanOptions {
  config: SanitizeConfig;
  /** Allow-list globs are relative to this directory (the repository top). */
  base: string;
  rules?: readonly Rule[];
}

export async function scanFiles(deps: ScanDeps, files: readonly string[], options: ScanOptions): Promise<ScanReport> {
  const rules = options.rules ?? BUILTIN_RULES;
  const descriptions = new Map(rules.map((r) => [r.id, r.description]));
  const configFile = options.config.file ? path.resolve(options.config.file) : undefined;
  const report: ScanReport = {
    clean: true,
    files_scanned: 0,
    files_skipped: [],
    rules: rules.map((r) => r.id),
    deny_entries: options.config.deny.length,
    ...(configFile ? { config: toSlash(path.relative(deps.cwd, configFile)) } : {}),
    findings: [],
  };
  for (const file of files) {
    const shown = toSlash(path.relative(deps.cwd, file)) || path.basename(file);
    let stat;
    try {
      stat = await fsp.lstat(file);
    } catch {
      continue; // listed by git but deleted in the work tree
    }
    if (!stat.isFile()) continue; // symbolic links, submodules
    if (stat.size > MAX_FILE_BYTES) {
      report.files_skipped.push({ file: shown, why: 'too large' });
      continue;
    }
    const bytes = await fsp.readFile(file);
    if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
      report.files_skipped.push({ file: shown, why: 'binary' });
      continue;
    }
    report.files_scanned++;
    const allowed = allowedRules(options.config, toSlash(path.relative(options.base, file)));
    if (allowed === 'all') continue;
    const found = scanText(
      bytes.toString('utf8'),
      { rules, deny: options.config.deny },
      // The config names the denied words: it is the one file allowed to.
      { rules: allowed, deny: file === configFile },
    );
    for (const f of found) {
      report.findings.push({
        file: shown,
        line: f.line,
        column: f.column,
        rule: f.rule,
        description: f.rule === DENY_RULE_ID ? 'a name on the deny list' : (descriptions.get(f.rule) ?? f.rule),
        ...(f.entry !== undefined ? { entry: f.entry } : {}),
      });
    }
  }
  report.clean = report.findings.length === 0;
  return report;
}
