import { locateInput, type InputLocator } from './input-box.js';
import { CLAUDE, CODEX, PI } from './runtimes.js';

/**
 * Usage and rate limits as each real runtime shows them on screen, checked against the screens
 * under test/fixtures/screens/<runtime>/limit-*.txt, captured from the real TUIs (claude 2.1.197,
 * codex 0.171.0, opencode 1.18.33, pi 0.73.1) against the fake model's limit rule. The hooks'
 * structured signal (`$MOSAIC_HEARTBEAT_FILE.limit`, framework/bin/mosaic-limit) is better where a
 * runtime has one; this is for the rest (codex above all) and for checking.
 */
export interface ScreenLimit {
  /**
   * When the limit resets, when the screen says. A time shown to the minute ("resets 3:05pm",
   * "Try again at 3:05 PM") is the end of that minute: the runtimes drop the seconds, so the reset
   * is surely past by then. A wait ("try again in 20s", "retrying in 4m 49s") counts from `now`.
   */
  resetsAt: Date | null;
  /** A short token: `session_limit`, `weekly_limit`, `usage_limit`, `rate_limit`, `rate_limit_429`, `limit_dialog`. */
  detail: string;
}

interface LimitRule {
  pattern: RegExp;
  detail: (match: RegExpExecArray) => string;
  /** The part of the (joined) text that holds the reset time; default: the whole text. */
  reset?: (match: RegExpExecArray) => string | undefined;
  /** Counts only when no limit message is found above it (a dialog that follows the message). */
  fallback?: boolean;
}

interface RuntimeLimits {
  /** Where the runtime draws its input: only the transcript above it is read (absent: the whole screen, live lines). */
  input?: InputLocator;
  rules: readonly LimitRule[];
  /** Lines that may follow a limit message while it is still the latest thing that happened. */
  trailers: readonly RegExp[];
  /** A time of day without a date: the next one after now (claude shows resets up to 24 h ahead), or today (codex). */
  timeOnly: 'next' | 'today';
}

const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/['’]/gu, '')
    .replace(/[^a-z0-9]+/gu, '_')
    .replace(/^_+|_+$/gu, '')
    .slice(0, 40) || 'limit';

/** A horizontal rule (the top of claude's and pi's input box, a dialog's edge). */
const RULE_LINE = /^[\s─━]+$/u;

const LIMIT_WORDS = /rate.?limit|usage limit|too many requests|\b429\b|quota|limit (?:has been |was )?reached/iu;

const RUNTIMES: Record<string, RuntimeLimits> = {
  claude: {
    input: CLAUDE.input,
    rules: [
      // A subscriber: "You've hit your session limit · resets 10:08am (UTC)".
      {
        pattern: /You(?:'|’)ve hit your (.+? limit)(?:\s*·\s*(.*))?$/u,
        detail: (m) => slug(m[1]!),
        reset: (m) => m[2],
      },
      // An API key: "API Error: Request rejected (429) · <the provider's message>".
      { pattern: /API Error: (?:Request rejected )?\(?429\)?/u, detail: () => 'rate_limit_429' },
      // What claude asks a subscriber after the limit message (it holds the input).
      { pattern: /Stop and wait for limit to reset/u, detail: () => 'limit_dialog', fallback: true },
    ],
    trailers: [/^✻ /u, /^❯ \/rate-limit-options\s*$/u, /^\s*(?:What do you want to do\?|❯?\s*\d\. |Enter to confirm)/u],
    timeOnly: 'next',
  },
  codex: {
    input: CODEX.input,
    rules: [
      // "■ You’ve hit your usage limit. Try again at 10:08 AM." (or "… or try again at Dec 29th, 2025 10:15 PM.")
      {
        pattern: /You(?:'|’)ve hit your usage limit(?: for ([^.]+))?\./u,
        detail: () => 'usage_limit',
        reset: (m) => /try again at (.+?)\.?$/iu.exec(m.input.slice(m.index))?.[1],
      },
      { pattern: /You hit your spend cap|workspace is out of credits/u, detail: () => 'spend_cap' },
      { pattern: /Quota exceeded\. Check your plan/u, detail: () => 'quota_exceeded' },
      // A plain 429: codex retries it ("reconnecting n/5"), then gives up.
      { pattern: /exceeded retry limit, last status: 429/iu, detail: () => 'rate_limit_429' },
    ],
    trailers: [/^\s+└ Tip:/u, /^\s+Approaching rate limits/u, /^\s+Switch to .* for lower credit usage\?/u],
    timeOnly: 'today',
  },
  opencode: {
    // The status bar while opencode waits to retry: "<message> [retrying in 59m 48s attempt #1]".
    rules: [
      {
        pattern: /^\s*[■⬝]*\s*(.*?)\s*\[retrying(?: in ([^\]]*?))? attempt #\d+\]/u,
        detail: (m) => (/usage limit/iu.test(m[1]!) ? 'usage_limit' : 'rate_limit'),
        reset: (m) => (m[2] ? `in ${m[2]}` : undefined),
      },
    ],
    trailers: [],
    timeOnly: 'next',
  },
  pi: {
    input: PI.input,
    // "Error: 429 The usage limit has been reached", "Error: Retry failed after 3 attempts: 429 …"
    rules: [
      {
        pattern: /^\s*Error: (?:Retry failed after \d+ attempts: )?429\b(.*)$/u,
        detail: (m) => (/usage limit/iu.test(m[1]!) ? 'usage_limit' : 'rate_limit_429'),
      },
    ],
    trailers: [/^\s*Error: /u],
    timeOnly: 'next',
  },
};

/**
 * The usage or rate limit the runtime shows as the latest thing on its screen, or undefined. For
 * claude, codex and pi only the transcript above the input counts, and only while nothing but the
 * runtime's own trailers (turn timing, its limit dialog) follows the message: an answer or a new
 * prompt after it means the limit is over. opencode shows the limit in its status bar while it
 * waits to retry, so there it is current by nature.
 */
export function screenLimit(runtime: string, lines: string[], now: Date): ScreenLimit | undefined {
  const spec = RUNTIMES[runtime];
  if (!spec) return undefined;
  const region = transcript(lines, spec.input);
  let fallback: ScreenLimit | undefined;
  for (let i = region.length - 1; i >= 0; i--) {
    const line = region[i]!;
    if (line.trim() === '' || RULE_LINE.test(line) || isContinuation(region, i)) continue;
    // A long message wraps: read the line with the ones that continue it.
    const text = joined(region, i);
    const found = spec.rules.find((rule) => {
      const match = rule.pattern.exec(text);
      return match && (runtime !== 'opencode' || LIMIT_WORDS.test(match[1] ?? ''));
    });
    if (found) {
      const match = found.pattern.exec(text)!;
      const resetText = found.reset ? found.reset(match) : text;
      const limit = { resetsAt: resetText ? parseResetTime(resetText, now, spec.timeOnly) : null, detail: found.detail(match) };
      if (!found.fallback) return limit;
      fallback ??= limit;
      continue;
    }
    // Only the latest message speaks for the present: stop at the first line that is not a trailer.
    if (spec.input && !spec.trailers.some((t) => t.test(line))) return fallback;
  }
  return fallback;
}

/** The screen above the input box (the whole screen when the runtime has no transcript rule or no box is found). */
function transcript(lines: string[], input: InputLocator | undefined): string[] {
  if (!input) return lines;
  const region = locateInput({ lines, width: 0, height: lines.length, cursorY: lines.length - 1, alternate: false, dead: false }, input);
  return region ? lines.slice(0, region.start) : lines;
}

/** An indented line under a non-blank one, not itself a marker line: the wrapped tail of a message. */
function isContinuation(lines: readonly string[], i: number): boolean {
  const line = lines[i]!;
  return i > 0 && lines[i - 1]!.trim() !== '' && /^\s{2,}\S/u.test(line) && !/^\s*[└⎿✻•◦■●❯›]/u.test(line);
}

function joined(lines: readonly string[], i: number): string {
  const parts = [lines[i]!.trimEnd()];
  for (let j = i + 1; j < lines.length && parts.length < 6 && isContinuation(lines, j); j++) parts.push(lines[j]!.trim());
  return parts.join(' ');
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };

/**
 * A reset time in the words the runtimes and providers use: an ISO time; a wait ("in 3600s",
 * "in 1h2m3s", "in 2h 15m", "in 59m 48s", "in 5 minutes"); or a clock time with an optional date
 * and time zone ("10:08am (UTC)", "3pm (Europe/Berlin)", "Dec 4, 3pm (UTC)", "Jan 2, 2027, 9:05am",
 * "4:05 PM", "Dec 29th, 2025 10:15 PM", "16:05"). Clock times without a zone are local time.
 */
export function parseResetTime(text: string, now: Date, timeOnly: 'next' | 'today' = 'next'): Date | null {
  const iso = /\b(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)/u.exec(text);
  if (iso) {
    const at = Date.parse(iso[1]!.replace(' ', 'T'));
    if (!Number.isNaN(at)) return new Date(at);
  }
  const wait =
    /\b(?:in|after)\s+((?:\d+(?:\.\d+)?\s*(?:hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s|ms)(?![a-z])[\s,]*(?:and\s+)?)+)/iu.exec(text);
  if (wait) {
    let seconds = 0;
    for (const part of wait[1]!.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/giu)) {
      const unit = part[2]!.toLowerCase();
      const key = unit === 'ms' ? 'ms' : unit[0]!;
      seconds += Number(part[1]) * (UNIT_SECONDS[key] ?? 0);
    }
    return new Date(now.getTime() + Math.round(seconds * 1000));
  }
  const clock =
    /(?:\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(?:(\d{4}),?\s+)?)?\b(\d{1,2})(?::(\d{2}))?\s*(?:([ap])\.?m\.?\b)?(?:\s*\(([A-Za-z][A-Za-z0-9_+\-/]*)\))?/iu;
  for (const match of text.matchAll(new RegExp(clock.source, 'giu'))) {
    const [, month, day, year, hourText, minuteText, ampm, zone] = match;
    if (!ampm && minuteText === undefined) continue; // a bare number is no time
    let hour = Number(hourText);
    const minute = minuteText === undefined ? 0 : Number(minuteText);
    if (ampm) {
      if (hour < 1 || hour > 12) continue;
      hour = (hour % 12) + (ampm.toLowerCase() === 'p' ? 12 : 0);
    } else if (hour > 23) continue;
    if (minute > 59) continue;
    const tz = zone && validZone(zone) ? zone : undefined;
    const today = partsIn(now, tz);
    const y = year ? Number(year) : today.year;
    const mo = month ? MONTHS.indexOf(month.toLowerCase()) : today.month;
    const d = day ? Number(day) : today.day;
    // The runtimes drop the seconds: the reset is surely past at the end of the shown minute.
    let at = zonedTime(y, mo, d, hour, minute, tz).getTime() + 60_000;
    if (!month && timeOnly === 'next' && at < now.getTime() - 15 * 60_000)
      at = zonedTime(y, mo, d + 1, hour, minute, tz).getTime() + 60_000;
    if (month && !year && at < now.getTime() - 86_400_000) at = zonedTime(y + 1, mo, d, hour, minute, tz).getTime() + 60_000;
    return new Date(at);
  }
  return null;
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock parts of an instant in a time zone (local time without one). */
function partsIn(at: Date, zone: string | undefined): Parts {
  if (!zone) {
    return {
      year: at.getFullYear(),
      month: at.getMonth(),
      day: at.getDate(),
      hour: at.getHours(),
      minute: at.getMinutes(),
      second: at.getSeconds(),
    };
  }
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
      .formatToParts(at)
      .filter((p) => p.type !== 'literal')
      .map((p) => [p.type, Number(p.value)]),
  );
  return {
    year: parts.year!,
    month: parts.month! - 1,
    day: parts.day!,
    hour: parts.hour! % 24,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The instant a wall-clock time names in a time zone (local time without one); month 0-based, days may overflow. */
function zonedTime(year: number, month: number, day: number, hour: number, minute: number, zone: string | undefined): Date {
  if (!zone) return new Date(year, month, day, hour, minute, 0, 0);
  const wall = Date.UTC(year, month, day, hour, minute);
  let guess = wall;
  // Twice: the offset at the guess may differ from the one at the answer (a DST change in between).
  for (let i = 0; i < 2; i++) {
    const p = partsIn(new Date(guess), zone);
    const shown = Date.UTC(p.year, p.month, p.day, p.hour, p.minute, p.second);
    guess = wall - (shown - guess);
  }
  return new Date(guess);
}

/**
 * The dialog a runtime opens after a limit, which holds the input until it is closed, and the key
 * that closes it without choosing anything costly: claude's "What do you want to do?" (Enter picks
 * its first entry, "Stop and wait for limit to reset"), codex's offer of a cheaper model (Esc keeps
 * the current one). `on_limit: continue` closes it before it sends "continue".
 */
const LIMIT_DIALOGS: Record<string, { pattern: RegExp; key: string }> = {
  claude: { pattern: /Stop and wait for limit to reset/u, key: 'Enter' },
  codex: { pattern: /Switch to \S+ for lower credit usage\?/u, key: 'Escape' },
};

export function limitDialogKey(runtime: string, lines: readonly string[]): string | undefined {
  const dialog = LIMIT_DIALOGS[runtime];
  return dialog && lines.some((line) => dialog.pattern.test(line)) ? dialog.key : undefined;
}
