import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { parseSince, parseTypes } from './events.js';

describe('parseSince', () => {
  const now = Date.parse('2026-06-15T12:00:00Z');

  it('takes an ISO 8601 time or a span back from now', () => {
    expect(parseSince('2026-02-28', now).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect(parseSince('2024-02-29T10:00:00Z', now).toISOString()).toBe('2024-02-29T10:00:00.000Z');
    expect(parseSince('2026-04-30T10:00+02:00', now).toISOString()).toBe('2026-04-30T08:00:00.000Z');
    expect(parseSince('2h', now).toISOString()).toBe('2026-06-15T10:00:00.000Z');
  });

  it('refuses a date that does not exist instead of rolling it into the next month', () => {
    for (const value of ['2026-02-29', '2026-02-30', '2026-04-31T10:00', '2026-13-01', '2026-00-10', '2026-01-00']) {
      expect(() => parseSince(value, now), value).toThrow(UsageError);
    }
  });
});

describe('parseTypes', () => {
  it('takes known types; an empty list asks for one instead of calling nothing "unknown"', () => {
    expect(parseTypes('crash, restart')).toEqual(['crash', 'restart']);
    expect(() => parseTypes('crash,bogus')).toThrow('--type: unknown event type "bogus" (known: start,');
    for (const value of ['', ',', ' , '])
      expect(() => parseTypes(value), value).toThrow(/^--type needs at least one event type \(known: start,/);
  });
});
