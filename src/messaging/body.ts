import { UsageError, UserError } from '../core/errors.js';

/** Far above any prompt an agent reads, far below what would strain tmux's paste buffers. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Terminal control characters: C0 except tab and newline (ESC, CR, NUL included), DEL and
 * C1. In a paste they would act on the agent's terminal input (ESC [201~ ends a bracketed
 * paste early; CR submits), so such a body is refused, never cleaned up silently.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;

const NAMES: Record<number, string> = { 0: 'NUL', 0x0d: 'CR (carriage return)', 0x1b: 'ESC', 0x7f: 'DEL' };

/** Decode message bytes strictly: invalid UTF-8 is refused rather than replaced. */
export function decodeMessage(bytes: Buffer, from: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UserError(`the message from ${from} is not valid UTF-8; nothing was sent`, {
      hint: 'convert it to UTF-8 (e.g. iconv -t UTF-8) and send it again',
    });
  }
}

/** Refuse what cannot be delivered byte-for-byte; returns the body unchanged. */
export function validateBody(body: string): string {
  if (body.trim() === '') {
    throw new UserError('the message is empty; nothing was sent', { hint: 'give the text with --message, --file or on stdin' });
  }
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new UserError(`the message is ${bytes} bytes, more than the ${MAX_MESSAGE_BYTES} allowed; nothing was sent`, {
      hint: 'send a path to a file with the details instead of the whole text',
    });
  }
  const match = CONTROL.exec(body);
  if (match) {
    const code = match[0].codePointAt(0)!;
    const name = NAMES[code] ?? `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    const line = body.slice(0, match.index).split('\n').length;
    throw new UserError(`the message contains a terminal control character (${name}) on line ${line}; nothing was sent`, {
      hint:
        code === 0x0d
          ? 'use LF line endings (e.g. dos2unix); tabs and newlines are fine'
          : 'remove control characters and escape sequences; tabs and newlines are fine',
    });
  }
  return body;
}

/** A label such as `host:operator` for the preamble: one line of printable text. */
export function validateSourceLabel(label: string): string {
  if (label.trim() === '' || CONTROL.test(label) || label.includes('\n')) {
    throw new UsageError(`invalid --source-label "${label}"`, { hint: 'use one line of printable text' });
  }
  return label;
}

/**
 * `[<source> -> <agent> #<send id>] <body>`, or the body alone without a preamble. The send
 * id lets a runtime's prompt hook (framework/bin/mosaic-report --ack) acknowledge this send.
 */
export function composeMessage(body: string, options: { source: string; agent: string; preamble: boolean; sendId: string }): string {
  return options.preamble ? `[${options.source} -> ${options.agent} #${options.sendId}] ${body}` : body;
}
