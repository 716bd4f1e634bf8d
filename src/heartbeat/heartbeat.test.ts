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

  describe('heartbeatHealth: the one rule of fleet ps, fleet status and agent status', () => {
    const now = new Date('2026-11-27T01:01:00Z');
    const PANE = 100;
    const WRITER = 101; // alive, under the pane
    const DEAD = 102; // gone
    const ELSEWHERE = 103; // alive, not under the pane (a reused pid, or a loop that outlived its pane)
    const parents = new Map([
      [WRITER, PANE],
      [ELSEWHERE, 1],
    ]);
    const processes = { aliveUnder: (pid: number, root: number | null): boolean => root !== null && parents.get(pid) === root };
    const beat = (pid: number, age: number) =>
      parseHeartbeat(`ts=${new Date(now.getTime() - age * 1000).toISOString()} pid=${pid} status=ok`)!;
    const FRESH = 45; // three intervals of 15 s: still healthy
    const OLD = 46;
    // The pane: alive (its pid), dead, or none (a stopped agent). Dead and none reach the rule alike: no live pane pid.
    const panes = { alive: PANE, dead: null, none: null } as const;
    const beats = {
      fresh: beat(WRITER, FRESH),
      old: beat(WRITER, OLD),
      missing: undefined,
      'writer dead': beat(DEAD, 1),
      'writer not under the pane': beat(ELSEWHERE, 1),
    } as const;
    const expected: Record<keyof typeof panes, Record<keyof typeof beats, string>> = {
      alive: { fresh: 'healthy', old: 'stale', missing: 'unknown', 'writer dead': 'stale', 'writer not under the pane': 'stale' },
      dead: { fresh: 'stale', old: 'stale', missing: 'unknown', 'writer dead': 'stale', 'writer not under the pane': 'stale' },
      none: { fresh: 'stale', old: 'stale', missing: 'unknown', 'writer dead': 'stale', 'writer not under the pane': 'stale' },
    };
    for (const [paneName, panePid] of Object.entries(panes)) {
      for (const [beatName, b] of Object.entries(beats)) {
        const want = expected[paneName as keyof typeof panes][beatName as keyof typeof beats];
        it(`pane ${paneName}, beat ${beatName}: ${want}`, () => {
          const got = heartbeatHealth(b, panePid, processes, now, 15);
          expect(got.health).toBe(want);
          // The age is shown whenever there is a beat, whatever its health (a stopped agent's last beat too).
          expect(got.age).toBe(b ? Math.round((now.getTime() - b.ts.getTime()) / 100) / 10 : null);
          expect(got.writerAlive).toBe(want === 'healthy' || (panePid !== null && b?.pid === WRITER));
        });
      }
    }
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
