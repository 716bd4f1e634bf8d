import { describe, expect, it } from 'vitest';
import { formatHeartbeat, heartbeatHealth, parseHeartbeat } from './heartbeat.js';

describe('heartbeat v1', () => {
  it('round-trips and keeps unknown fields', () => {
    const ts = new Date('2026-11-27T01:00:00.000Z');
    const parsed = parseHeartbeat(formatHeartbeat({ ts, pid: 42, status: 'busy' }).trim() + ' ack=abc123');
    expect(parsed).toMatchObject({ pid: 42, status: 'busy', fields: { ack: 'abc123' } });
    expect(parsed?.ts.toISOString()).toBe(ts.toISOString());
  });

  it('rejects garbage', () => {
    expect(parseHeartbeat('')).toBeUndefined();
    expect(parseHeartbeat('ts=yesterday pid=1')).toBeUndefined();
    expect(parseHeartbeat('ts=2026-11-27T01:00:00Z pid=x')).toBeUndefined();
  });

  it('is healthy up to three intervals, then stale; missing is unknown', () => {
    const beat = parseHeartbeat('ts=2026-11-27T01:00:00Z pid=1 status=ok')!;
    expect(heartbeatHealth(beat, new Date('2026-11-27T01:00:45Z'), 15)).toBe('healthy');
    expect(heartbeatHealth(beat, new Date('2026-11-27T01:00:46Z'), 15)).toBe('stale');
    expect(heartbeatHealth(undefined, new Date(), 15)).toBe('unknown');
  });
});
