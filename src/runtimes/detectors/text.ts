import type { Screen } from './types.js';

/**
 * Characters a terminal shows as themselves, one per cell: letters, digits, punctuation and
 * symbols, but not emoji, combining marks or variation selectors, whose rendering varies.
 */
const STABLE_CHAR = /^[\p{L}\p{N}\p{P}\p{S}]$/u;
const UNSTABLE_CHAR = /[\p{Extended_Pictographic}\p{M}\uFE00-\uFE0F\u200B-\u200F]/u;
export const NEEDLE_LENGTH = 12;

/** The last few stable characters of the text's last non-blank line, whitespace removed. */
export function needleOf(text: string): string | undefined {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const last = lines[lines.length - 1];
  if (last === undefined) return undefined;
  const chars = [...last].filter((c) => STABLE_CHAR.test(c) && !UNSTABLE_CHAR.test(c));
  if (chars.length === 0) return undefined;
  return chars.slice(-NEEDLE_LENGTH).join('');
}

/** Screen text with all whitespace removed, so wrapping and tab expansion do not matter. */
export function squeeze(lines: readonly string[]): string {
  return lines.join('').replace(/\s+/gu, '');
}

export function containsNeedle(lines: readonly string[], needle: string | undefined): boolean {
  return needle !== undefined && squeeze(lines).includes(needle);
}

/** How many times the needle shows in the lines (a message sent twice shows twice). */
export function needleCount(lines: readonly string[], needle: string | undefined): number {
  return needle === undefined ? 0 : squeeze(lines).split(needle).length - 1;
}

export function isBlank(screen: Screen): boolean {
  return screen.lines.every((line) => line.trim() === '');
}

export function sameText(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}

/** How many lines match any of the patterns (a marker that was already there does not count twice). */
export function countMatches(lines: readonly string[], patterns: readonly RegExp[]): number {
  return lines.filter((line) => patterns.some((p) => p.test(line))).length;
}
