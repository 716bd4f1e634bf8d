import { describe, expect, it } from 'vitest';
import type { PsRecord } from '../fleet/ps.js';
import { ageBucket, FleetFeed, fingerprint, type FeedEvent, type FleetSnapshot } from './fleet-feed.js';

const record = (agent: string, state: string, idle: number | null): PsRecord =>
  ({
    agent,
    state,
    idle_seconds: idle,
    heartbeat: { health: 'healthy', age_seconds: idle, status: null, pid: null },
  }) as unknown as PsRecord;

const snapshot = (records: PsRecord[]): FleetSnapshot =>
  ({
    tenant_id: 't',
    host: 'h',
    socket: 's',
    supervisor: 'builtin',
    systemd_error: null,
    holder: 'alive',
    records,
    pending: [],
  }) as FleetSnapshot;

describe('ageBucket and fingerprint', () => {
  it('counts an age as changed only when it crosses into the next bucket', () => {
    expect([0, 9, 10, 59, 60, 119, 120, 3599, 3600, 7300].map(ageBucket)).toEqual([
      '00s',
      '00s',
      '10s',
      '50s',
      '1m',
      '1m',
      '2m',
      '59m',
      '1h',
      '2h',
    ]);
    expect(ageBucket(null)).toBeNull();
    expect(fingerprint(snapshot([record('a', 'running', 11)]))).toBe(fingerprint(snapshot([record('a', 'running', 19)])));
    expect(fingerprint(snapshot([record('a', 'running', 19)]))).not.toBe(fingerprint(snapshot([record('a', 'running', 20)])));
    expect(fingerprint(snapshot([record('a', 'running', 5)]))).not.toBe(fingerprint(snapshot([record('a', 'dead', 5)])));
  });
});

describe('FleetFeed', () => {
  it('reads once per interval for all listeners, sends only changes, and stops when nobody listens', async () => {
    const reads: string[] = [];
    let state = 'running';
    const feed = new FleetFeed(
      async () => {
        reads.push(state);
        return snapshot([record('a', state, 1)]);
      },
      (error) => {
        throw error;
      },
      5,
    );
    const first: FeedEvent[] = [];
    const second: FeedEvent[] = [];
    const stopFirst = feed.subscribe((event) => first.push(event));
    const stopSecond = feed.subscribe((event) => second.push(event));
    await until(() => reads.length >= 3);
    expect(first).toHaveLength(1); // the same fleet read three times: one event
    expect(second.map((e) => e.id)).toEqual(first.map((e) => e.id));
    state = 'dead';
    await until(() => first.length === 2);
    expect(first[1]!.snapshot.records[0]!.state).toBe('dead');
    expect(first[1]!.id).not.toBe(first[0]!.id);
    expect(feed.current?.id).toBe(first[1]!.id);
    stopFirst();
    stopSecond();
    const settled = reads.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(reads.length).toBeLessThanOrEqual(settled + 1); // at most the read in flight
    // Listening again starts from a fresh read, not the stale event.
    const third: FeedEvent[] = [];
    feed.subscribe((event) => third.push(event));
    expect(feed.current).toBeUndefined();
    await until(() => third.length === 1);
    feed.close();
  });

  it('reports a failed read and keeps going', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const feed = new FleetFeed(
      async () => {
        if (fail) {
          fail = false;
          throw new Error('tmux went away');
        }
        return snapshot([]);
      },
      (error) => errors.push(error),
      5,
    );
    const events: FeedEvent[] = [];
    feed.subscribe((event) => events.push(event));
    await until(() => events.length === 1);
    expect(String(errors[0])).toMatch(/tmux went away/);
    feed.close();
  });
});

describe('FleetFeed failures', () => {
  it('reports a failure once while it lasts (not once a second), and again after a good read', async () => {
    const errors: string[] = [];
    const script = ['bad', 'bad', 'bad', 'bad', 'ok', 'bad', 'worse', 'ok'];
    let reads = 0;
    const feed = new FleetFeed(
      async () => {
        const step = script[Math.min(reads++, script.length - 1)]!;
        if (step !== 'ok') throw new Error(`roster ${step}`);
        return snapshot([]);
      },
      (error) => errors.push(String(error)),
      5,
    );
    feed.subscribe(() => undefined);
    await until(() => reads >= script.length + 1);
    feed.close();
    expect(errors).toEqual(['Error: roster bad', 'Error: roster bad', 'Error: roster worse']);
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
