import path from 'node:path';
import type { Command } from 'commander';
import { InternalError, UsageError } from '../../core/errors.js';
import { EMPTY_CONFIG, loadSanitizeConfig, type SanitizeConfig } from '../../sanitize/config.js';
import { BUILTIN_RULES, DENY_RULE_ID, selfTest } from '../../sanitize/rules.js';
import { gitTop, listFiles, MAX_FILE_BYTES, scanFiles, type Finding } from '../../sanitize/scan.js';
import { cliHost } from '../host.js';
import { colour, err, out, printJson } from '../output.js';
import { options } from './shared.js';

interface SanitizeFlags {
  config?: string;
  selfTest?: boolean;
  json?: boolean;
}

export const DEFAULT_CONFIG = path.join('.mosaic', 'sanitize.yaml');

const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;

function findingLine(f: Finding, config: string | undefined): string {
  const what = f.rule === DENY_RULE_ID ? `deny-list entry ${f.entry ?? '?'}${config ? ` of ${config}` : ''}` : f.description;
  return `${f.file}:${f.line}:${f.column}: ${colour.red(f.rule)}: ${what}`;
}

/** `mosaic sanitize check [paths…]`: 0 clean, 1 findings (or a rule failing its self-test), 2 bad config. */
export async function check(command: Command): Promise<number> {
  const flags = options<SanitizeFlags>(command);
  const host = cliHost();
  const deps = { runner: host.runner, env: host.env, cwd: process.cwd() };
  const base = (await gitTop(deps, deps.cwd)) ?? deps.cwd;
  let config: SanitizeConfig;
  if (flags.config !== undefined) {
    const loaded = await loadSanitizeConfig(path.resolve(flags.config));
    if (!loaded) throw new UsageError(`--config ${flags.config}: no such file`);
    config = loaded;
  } else {
    config = (await loadSanitizeConfig(path.join(base, DEFAULT_CONFIG))) ?? EMPTY_CONFIG;
  }

  const tested = selfTest({ rules: BUILTIN_RULES, deny: config.deny });
  const broken = tested.filter((t) => !t.ok);
  if (flags.selfTest) {
    if (flags.json) printJson({ ok: broken.length === 0, rules: tested });
    else {
      for (const t of tested) out(t.ok ? `${colour.green('ok')}      ${t.rule}` : `${colour.red('BROKEN')}  ${t.rule}: ${t.problem}`);
      out(
        broken.length === 0
          ? `self-test passed: ${plural(tested.length, 'rule')} fire on their samples`
          : `self-test FAILED: ${plural(broken.length, 'rule')}`,
      );
    }
    return broken.length === 0 ? 0 : 1;
  }
  if (broken.length > 0) {
    throw new InternalError(
      `the sanitization rules fail their self-test (${broken.map((b) => b.rule).join(', ')}): the scan cannot be trusted`,
    );
  }

  const args = command.args.length > 0 ? command.args : ['.'];
  const files = await listFiles(deps, args);
  const report = await scanFiles(deps, files, { config, base });
  if (flags.json) {
    printJson(report);
    return report.clean ? 0 : 1;
  }
  // Binaries are skipped by design; a text file too large to read is a file the gate did not look at: say so.
  for (const skipped of report.files_skipped.filter((f) => f.why === 'too large')) {
    err(`warning: ${skipped.file}: not scanned (over ${MAX_FILE_BYTES / 1024 / 1024} MiB)`);
  }
  if (report.clean) {
    out(
      `sanitize: clean: ${plural(report.files_scanned, 'file')} scanned, ${plural(report.rules.length, 'rule')}, ${plural(report.deny_entries, 'deny-list entry', 'deny-list entries')}`,
    );
  } else {
    for (const finding of report.findings) out(findingLine(finding, report.config));
    const filesWith = new Set(report.findings.map((f) => f.file)).size;
    err(
      `mosaic: sanitize: ${plural(report.findings.length, 'finding')} in ${plural(filesWith, 'file')} (${plural(report.files_scanned, 'file')} scanned)`,
    );
    err(
      `  hint: move the value out of the file (environment, a 0600 file); a justified exception goes under "allow:" in ${DEFAULT_CONFIG}`,
    );
  }
  return report.clean ? 0 : 1;
}
