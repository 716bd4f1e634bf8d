import { UserError } from '../core/errors.js';

/*
 * Escaping for the three syntaxes a generated unit touches (systemd.syntax(7), systemd.exec(5)):
 * - unit-file values: `%` starts a specifier everywhere, so a literal `%` is `%%`;
 * - quoted words in Environment= and Exec*= lines: C-style escapes inside double quotes, and in
 *   Exec*= lines `$` starts a variable, so a literal `$` is `$$`;
 * - EnvironmentFile= files: inside double quotes only `\`, `"`, `` ` `` and `$` take a backslash.
 * Control characters have no safe spelling in all three, so they are refused.
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

function assertPrintable(value: string, what: string): void {
  if (CONTROL.test(value)) {
    throw new UserError(`${what} contains a newline or control character, which a systemd unit cannot carry: ${JSON.stringify(value)}`, {
      hint: 'rename the path or value so it has no control characters',
    });
  }
}

const escapeSpecifiers = (value: string): string => value.replace(/%/g, '%%');

/** One argument of an Exec*= line (the executable included): double-quoted, `%` and `$` doubled. */
export function execWord(value: string, what = 'command argument'): string {
  assertPrintable(value, what);
  const quoted = value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\t/g, '\\t');
  return `"${escapeSpecifiers(quoted).replace(/\$/g, '$$$$')}"`;
}

/** One `NAME=value` word of an Environment= line: double-quoted, `%` doubled; `$` is literal there. */
export function environmentWord(name: string, value: string): string {
  assertPrintable(value, `environment value ${name}`);
  const quoted = `${name}=${value}`.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\t/g, '\\t');
  return `"${escapeSpecifiers(quoted)}"`;
}

/**
 * A path in a setting that takes the rest of the line verbatim (EnvironmentFile=, WorkingDirectory=):
 * no quoting there, only specifiers; surrounding blanks would be trimmed away, so they are refused.
 */
export function unitPath(value: string, what = 'path'): string {
  assertPrintable(value, what);
  if (value.trim() !== value || !value.startsWith('/')) {
    throw new UserError(`${what} ${JSON.stringify(value)} must be an absolute path without leading or trailing blanks`, {
      hint: 'use a plain absolute path',
    });
  }
  return escapeSpecifiers(value);
}

/** Free text (Description=): specifiers escaped, single line. */
export function unitText(value: string): string {
  assertPrintable(value, 'description');
  return escapeSpecifiers(value);
}

/** One line of an EnvironmentFile=: the value double-quoted with shell-style escapes, read back verbatim. */
export function envFileLine(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UserError(`invalid environment variable name "${name}"`);
  assertPrintable(value, `environment value ${name}`);
  return `${name}="${value.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
}

/** Parse what envFileLine wrote (for checks and tests; systemd itself reads the file at start). */
export function parseEnvFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(line);
    if (match) result[match[1]!] = match[2]!.replace(/\\([\\"`$])/g, '$1');
  }
  return result;
}
