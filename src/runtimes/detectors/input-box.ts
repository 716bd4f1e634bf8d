import type { Screen } from './types.js';

/** Where a runtime draws its input, so the detector reads only that part of the screen. */
export type InputLocator =
  /** An editor between the last two horizontal rules (claude, pi). */
  | { kind: 'between-rules' }
  /**
   * From the last line that starts with the prompt glyph down to the footer (codex: `› `).
   * The footer is the last block of non-blank lines at the bottom; the input may hold blank lines.
   */
  | { kind: 'prompt-line'; prompt: string }
  /** A box drawn with a left border, just above its bottom edge (opencode: `┃` … `╹▀▀▀`). */
  | { kind: 'left-border'; border: string; bottomEdge: RegExp }
  /** The cursor's row and the wrapped rows that lead into it (any line-oriented program). */
  | { kind: 'cursor-line' };

export interface InputRegion {
  /** First and last screen row of the input, inclusive. */
  start: number;
  end: number;
  lines: string[];
}

const RULE = /^[\s─━╭╮╰╯├┤┌┐└┘]*─{10,}[\s─━╭╮╰╯├┤┌┐└┘]*$/u;
const MAX_WRAPPED_ROWS = 200;

export function locateInput(screen: Screen, locator: InputLocator): InputRegion | undefined {
  const { lines } = screen;
  const region = (start: number, end: number): InputRegion | undefined =>
    start <= end ? { start, end, lines: lines.slice(start, end + 1) } : { start, end: start - 1, lines: [] };
  switch (locator.kind) {
    case 'between-rules': {
      const rules = lines.flatMap((line, i) => (RULE.test(line) ? [i] : []));
      if (rules.length < 2) return undefined;
      return region(rules[rules.length - 2]! + 1, rules[rules.length - 1]! - 1);
    }
    case 'prompt-line': {
      const start = lastIndex(lines, (line) => line.trimStart().startsWith(locator.prompt));
      if (start < 0) return undefined;
      let end = lines.length - 1;
      while (end > start && lines[end]!.trim() === '') end--;
      // Drop the footer block (the last non-blank lines), unless it is the prompt's own block.
      let footer = end;
      while (footer > start && lines[footer]!.trim() !== '') footer--;
      if (footer > start) end = footer;
      while (end > start && lines[end]!.trim() === '') end--;
      return region(start, end);
    }
    case 'left-border': {
      const bottom = lastIndex(lines, (line) => locator.bottomEdge.test(line));
      if (bottom < 1) return undefined;
      let start = bottom;
      while (start > 0 && lines[start - 1]!.trimStart().startsWith(locator.border)) start--;
      return start === bottom ? undefined : region(start, bottom - 1);
    }
    case 'cursor-line': {
      const end = Math.min(Math.max(screen.cursorY, 0), Math.max(lines.length - 1, 0));
      let start = end;
      // A row that fills the whole width was most likely wrapped into the next one.
      while (start > 0 && end - start < MAX_WRAPPED_ROWS && [...(lines[start - 1] ?? '')].length >= screen.width) start--;
      return region(start, end);
    }
  }
}

function lastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

/** The screen without the input rows, for "did anything else change" comparisons. */
export function outsideInput(screen: Screen, input: InputRegion | undefined): string[] {
  if (!input) return screen.lines;
  return [...screen.lines.slice(0, input.start), ...screen.lines.slice(input.end + 1)];
}
