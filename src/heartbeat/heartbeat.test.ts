import { describe, expect, it } from 'vitest';
import { formatHeartbeat, heartbeatHealth, parseHeartbeat, withNewerStatus } from './heartbeat.js';

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
    const live = { paneAlive: true, writerAlive: true };
    expect(heartbeatHealth(beat, live, new Date('2026-11-27T01:00:45Z'), 15).health).toBe('healthy');
    expect(heartbeatHealth(beat, live, new Date('2026-11-27T01:00:46Z'), 15).health).toBe('stale');
    expect(heartbeatHealth(undefined, live, new Date(), 15)).toEqual({ health: 'unknown', age: null });
    // A young beat from a dead pane, or from a writer that is gone, is stale: the one rule everywhere.
    expect(heartbeatHealth(beat, { paneAlive: false, writerAlive: true }, new Date('2026-11-27T01:00:01Z'), 15).health).toBe('stale');
    expect(heartbeatHealth(beat, { paneAlive: true, writerAlive: false }, new Date('2026-11-27T01:00:01Z'), 15).health).toBe('stale');
  });

  it('takes the status from .hb.status when a heartbeat-loop tick put an older one back into .hb', () => {
    const stale = parseHeartbeat('ts=2026-11-27T01:00:05Z pid=7 status=busy source=runtime status_ts=2026-11-27T01:00:00Z ack=aaaa1111')!;
    const report = 'ts=2026-11-27T01:00:04Z status=idle event=agent_end source=runtime status_ts=2026-11-27T01:00:04Z ack=aaaa1111';
    const merged = withNewerStatus(stale, report)!;
    expect(merged).toMatchObject({ pid: 7, status: 'idle', fields: { status_ts: '2026-11-27T01:00:04Z', event: 'agent_end' } });
    expect(merged.ts.toISOString()).toBe('2026-11-27T01:00:05.000Z'); // liveness stays the loop's
    // An older or equal report changes nothing; nor does a missing one or a missing beat.
    const fresh = parseHeartbeat('ts=2026-11-27T01:00:05Z pid=7 status=idle source=runtime status_ts=2026-11-27T01:00:04Z')!;
    expect(withNewerStatus(fresh, report.replace('status=idle', 'status=busy'))).toBe(fresh);
    expect(withNewerStatus(fresh, undefined)).toBe(fresh);
    expect(withNewerStatus(undefined, report)).toBeUndefined();
  });
});
