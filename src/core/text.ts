/**
 * Text another process wrote (a hook's summary, a sink's stderr, a forge's error body) as one printable
 * line: control characters (C0, DEL, C1) become spaces, runs of white space one space, so an escape
 * sequence or a newline in it cannot act on the terminal it is printed to, nor break a log line.
 * Longer than `maxChars`, it is cut with an ellipsis.
 */
export function oneLine(value: unknown, maxChars = Number.POSITIVE_INFINITY): string {
  const line = String(value)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
}
