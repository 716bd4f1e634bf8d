import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screen } from '../../../test/unit/screen-fixtures.js';
import { limitDialogKey, parseResetTime, screenLimit } from './limit.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'screens');

/** A limit screen (test/fixtures/screens/<runtime>/limit-*.txt) and the time it was captured (its header's `captured=`). */
function captured(name: string): { lines: string[]; at: Date } {
  const header = readFileSync(path.join(FIXTURES, `${name}.txt`), 'utf8').split('\n', 1)[0]!;
  return { lines: screen(name).lines, at: new Date(/captured=(\S+)/.exec(header)![1]!) };
}

const plus = (at: Date, seconds: number): Date => new Date(at.getTime() + seconds * 1000);

// Times without a zone are local: the fixtures were captured with TZ=UTC.
let savedTz: string | undefined;
beforeAll(() => {
  savedTz = process.env.TZ;
  process.env.TZ = 'UTC';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('screenLimit: the limit screens captured from the real runtimes (fake model limit rule)', () => {
  it('claude with an API key: "API Error: Request rejected (429) · … try again in 3600s"', () => {
    const { lines, at } = captured('claude/limit-api-key');
    expect(screenLimit('claude', lines, at)).toEqual({ resetsAt: plus(at, 3600), detail: 'rate_limit_429' });
  });

  it('claude as a subscriber: "You\'ve hit your session limit · resets 10:08am (UTC)" under its rate-limit dialog', () => {
    const { lines, at } = captured('claude/limit-subscriber');
    // Shown to the minute: the end of that minute.
    expect(screenLimit('claude', lines, at)).toEqual({ resetsAt: new Date('2026-12-03T10:09:00Z'), detail: 'session_limit' });
  });

  it('claude: the rate-limit dialog alone (its message scrolled away) still says limit, without a time', () => {
    const { lines, at } = captured('claude/limit-subscriber');
    const dialogOnly = lines.filter((line) => !line.includes("You've hit"));
    expect(screenLimit('claude', dialogOnly, at)).toEqual({ resetsAt: null, detail: 'limit_dialog' });
  });

  it('codex usage limit: "You’ve hit your usage limit. Try again at 10:08 AM." under its model-switch dialog', () => {
    const { lines, at } = captured('codex/limit-usage');
    expect(screenLimit('codex', lines, at)).toEqual({ resetsAt: new Date('2026-12-03T10:09:00Z'), detail: 'usage_limit' });
  });

  it('codex plain 429: while reconnecting, and after it gave up; no reset time is shown', () => {
    for (const name of ['codex/limit-429-reconnecting', 'codex/limit-429-exhausted']) {
      const { lines, at } = captured(name);
      expect(screenLimit('codex', lines, at), name).toEqual({ resetsAt: null, detail: 'rate_limit_429' });
    }
  });

  it('opencode waiting to retry: "<message> [retrying in 4m 49s attempt #1]" in its status bar', () => {
    const usage = captured('opencode/limit-usage-retrying');
    expect(screenLimit('opencode', usage.lines, usage.at)).toEqual({ resetsAt: plus(usage.at, 4 * 60 + 49), detail: 'usage_limit' });
    const rate = captured('opencode/limit-rate-retrying');
    expect(screenLimit('opencode', rate.lines, rate.at)).toEqual({ resetsAt: plus(rate.at, 59 * 60 + 48), detail: 'rate_limit' });
  });

  it('pi after its retries: "Error: Retry failed after 3 attempts: 429 The usage limit has been reached"', () => {
    const { lines, at } = captured('pi/limit-usage');
    expect(screenLimit('pi', lines, at)).toEqual({ resetsAt: null, detail: 'usage_limit' });
  });

  it('no limit on the ordinary screens (idle, busy, answered, drafts, dialogs)', () => {
    const now = new Date('2026-12-03T09:00:00Z');
    const names: Record<string, string[]> = {
      claude: ['answered', 'busy', 'draft', 'idle', 'queued', 'trust-dialog'],
      codex: ['answered', 'busy', 'draft', 'idle', 'queued', 'hooks-trust-dialog'],
      opencode: ['after-submit', 'busy', 'draft', 'idle', 'queued'],
      pi: ['after-submit', 'draft', 'idle'],
    };
    for (const [runtime, list] of Object.entries(names)) {
      for (const name of list) expect(screenLimit(runtime, screen(`${runtime}/${name}`).lines, now), `${runtime}/${name}`).toBeUndefined();
    }
  });

  it('an answer or a new prompt after the limit message means the limit is over', () => {
    const claude = captured('claude/limit-api-key');
    const at = claude.lines.findIndex((line) => line.startsWith('✻ '));
    const later = [...claude.lines.slice(0, at + 1), '', '❯ continue', '', '● FAKE-OK: continue', '', ...claude.lines.slice(at + 1)];
    expect(screenLimit('claude', later, claude.at)).toBeUndefined();

    const codex = captured('codex/limit-429-exhausted');
    const composer = codex.lines.findIndex((line) => line.startsWith('› Ask Codex'));
    const answered = [...codex.lines.slice(0, composer), '› continue', '', '• FAKE-OK: continue', '', ...codex.lines.slice(composer)];
    expect(screenLimit('codex', answered, codex.at)).toBeUndefined();

    const pi = captured('pi/limit-usage');
    const rule = pi.lines.findIndex((line) => line.startsWith('───'));
    const working = [...pi.lines.slice(0, rule), ' continue', '', ' ⠙ Working...', ...pi.lines.slice(rule)];
    expect(screenLimit('pi', working, pi.at)).toBeUndefined();
  });

  it('a limit message that wraps on a narrow pane is read whole', () => {
    const { at } = captured('claude/limit-api-key');
    const lines = [
      '❯ hello',
      '',
      '● API Error: Request rejected (429) · This request would exceed the rate limit for your organization of 50 requests',
      '  per minute. Please try again in 90s.',
      '',
      '✻ Baked for 0s',
      '',
      '─'.repeat(40),
      '❯ ',
      '─'.repeat(40),
    ];
    expect(screenLimit('claude', lines, at)).toEqual({ resetsAt: plus(at, 90), detail: 'rate_limit_429' });
  });

  it('runtimes without limit rules: undefined', () => {
    expect(screenLimit('stub', ['rate limit reached, try again in 5s'], new Date())).toBeUndefined();
  });
});

describe('parseResetTime', () => {
  const now = new Date('2026-12-03T09:08:30Z');
  it.each([
    // waits, from now
    ['Please try again in 3600s.', '2026-12-03T10:08:30.000Z'],
    ['try again in 20s', '2026-12-03T09:08:50.000Z'],
    ['in 1h2m3s', '2026-12-03T10:10:33.000Z'],
    ['in 2h 15m', '2026-12-03T11:23:30.000Z'],
    ['retrying in 59m 48s', '2026-12-03T10:08:18.000Z'],
    ['in 5 minutes', '2026-12-03T09:13:30.000Z'],
    ['after 500ms', '2026-12-03T09:08:30.500Z'],
    // ISO
    ['resets at 2026-12-03T12:00:00Z', '2026-12-03T12:00:00.000Z'],
    ['2026-12-03T13:00:00+02:00', '2026-12-03T11:00:00.000Z'],
    // clock times: the end of the shown minute; zone in parentheses, else local (UTC here)
    ['resets 10:08am (UTC)', '2026-12-03T10:09:00.000Z'],
    ['resets 3pm (Europe/Berlin)', '2026-12-03T14:01:00.000Z'],
    ['resets 8am (UTC)', '2026-12-04T08:01:00.000Z'], // well past today: tomorrow
    ['resets 9am (UTC)', '2026-12-03T09:01:00.000Z'], // just past: today (the reset has passed)
    ['resets Dec 4, 3pm (America/New_York)', '2026-12-04T20:01:00.000Z'],
    ['resets Jan 2, 2027, 9:05am (UTC)', '2027-01-02T09:06:00.000Z'],
    ['Try again at 4:05 PM.', '2026-12-03T16:06:00.000Z'],
    ['or try again at Dec 29th, 2026 10:15 PM.', '2026-12-29T22:16:00.000Z'],
    ['try again at 16:05', '2026-12-03T16:06:00.000Z'],
  ])('%s → %s', (text, expected) => {
    expect(parseResetTime(text, now)?.toISOString()).toBe(expected);
  });

  it("codex shows today's time only: a past one stays today (the reset has passed)", () => {
    expect(parseResetTime('Try again at 8:00 AM.', now, 'today')?.toISOString()).toBe('2026-12-03T08:01:00.000Z');
    expect(parseResetTime('Try again at 8:00 AM.', now, 'next')?.toISOString()).toBe('2026-12-04T08:01:00.000Z');
  });

  it('no time: null', () => {
    for (const text of ['The usage limit has been reached', 'Error: Retry failed after 3 attempts: 429', 'Limit 3, Used 3', '']) {
      expect(parseResetTime(text, now), text).toBeNull();
    }
  });
});

describe('limitDialogKey: the dialog after a limit and the key that closes it', () => {
  it('claude: Enter ("Stop and wait"); codex: Escape (keep the model); none elsewhere', () => {
    expect(limitDialogKey('claude', captured('claude/limit-subscriber').lines)).toBe('Enter');
    expect(limitDialogKey('codex', captured('codex/limit-usage').lines)).toBe('Escape');
    expect(limitDialogKey('claude', captured('claude/limit-api-key').lines)).toBeUndefined();
    expect(limitDialogKey('pi', captured('pi/limit-usage').lines)).toBeUndefined();
  });
});
