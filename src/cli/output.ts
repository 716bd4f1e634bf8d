import { CheckFailedError, CommandError, MosaicError } from '../core/errors.js';
import { stateTone } from '../fleet/ps-cells.js';

/** The only place that writes to the terminal. */
export const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};
export const err = (text: string): void => {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
};
export const printJson = (value: unknown): void => out(JSON.stringify(value, null, 2));
/** Exactly these characters, no newline added: for redraws in place and raw transcripts. */
export const write = (text: string): void => {
  if (text.length > 0) process.stdout.write(text);
};

const useColour = (stream: NodeJS.WriteStream): boolean => Boolean(stream.isTTY) && !process.env.NO_COLOR;
const paint =
  (code: string) =>
  (text: string, stream: NodeJS.WriteStream = process.stdout): string =>
    useColour(stream) ? `\u001b[${code}m${text}\u001b[0m` : text;
export const colour = { red: paint('31'), green: paint('32'), yellow: paint('33'), dim: paint('2'), bold: paint('1') };

/** A state word in its colour (the same tones the dashboard uses: fleet/ps-cells.ts). */
export function stateColour(state: string): string {
  const tone = stateTone(state);
  return tone === '' ? state : colour[tone](state);
}

/** Fixed-width columns; widths ignore colour codes. */
export function table(header: string[], rows: string[][]): string {
  // eslint-disable-next-line no-control-regex
  const visible = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell))))
      .join('  ')
      .trimEnd();
  return [colour.bold(line(header)), ...rows.map(line)].join('\n');
}

/**
 * Terminal control characters (C0 but tab and newline, DEL, C1) spelled out as `\u001b`: a message that
 * quotes what the user typed (a name, a label) must not act on the terminal it is printed to.
 */
export function visibleControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Turn any error into a message and an exit code. The single exit point's helper. */
export function reportError(error: unknown): number {
  if (error instanceof MosaicError) {
    err(`mosaic: ${visibleControls(error.message)}`);
    if (error instanceof CheckFailedError) for (const problem of error.problems) err(`  - ${visibleControls(problem)}`);
    if (error.hint) err(`  hint: ${visibleControls(error.hint)}`);
    if (process.env.MOSAIC_DEBUG && error instanceof CommandError) err(String(error.stack));
    return error.exitCode;
  }
  err(`mosaic: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  err('  this is a bug; please report it with the command you ran');
  return 70;
}
