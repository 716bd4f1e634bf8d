/* eslint-disable no-control-regex -- this module is about control characters */

/**
 * Terminal escape sequences: CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), DCS/SOS/PM/APC
 * (ESC P|X|^|_ … ESC \) and the short ESC forms (ESC ( B, ESC 7, ESC =, …; never ESC [ and
 * the other introducers alone, which are the start of a longer sequence still arriving).
 */
const SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[ -/]*(?![[\]PX^_])[0-~])/g;
const SEQUENCE_AT = new RegExp(SEQUENCE.source, 'y');
/** Controls other than TAB and LF (CR is handled before this). */
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;
/** An unterminated sequence longer than this is not a sequence being split: drop it. */
const MAX_PENDING = 4096;

function clean(text: string): string {
  return text.replace(SEQUENCE, '').replace(/\r+\n/g, '\n').replace(/\r/g, '\n').replace(CONTROLS, '');
}

/** Strip escape sequences from a whole text: what a terminal would leave as plain lines. */
export function stripAnsi(text: string): string {
  return clean(text);
}

/**
 * The same for a stream: a sequence (or a CR before its LF) split across two chunks is
 * held back until the next chunk completes it.
 */
export class AnsiStripper {
  private pending = '';

  push(chunk: string): string {
    let text = this.pending + chunk;
    this.pending = '';
    const esc = text.lastIndexOf('\x1b');
    if (esc >= 0 && text.length - esc <= MAX_PENDING) {
      SEQUENCE_AT.lastIndex = esc;
      if (!SEQUENCE_AT.test(text)) {
        this.pending = text.slice(esc);
        text = text.slice(0, esc);
      }
    }
    if (text.endsWith('\r')) {
      this.pending = `\r${this.pending}`;
      text = text.slice(0, -1);
    }
    return clean(text);
  }

  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return clean(rest);
  }
}
