import type { PendingRow } from '../fleet/approvals.js';
import type { PsRecord, PsReport } from '../fleet/ps.js';

/** What a `fleet` event carries: the fleet ps report and the open permission requests. */
export type FleetSnapshot = Omit<PsReport, 'records'> & { records: PsRecord[]; pending: PendingRow[] };

export interface FeedEvent {
  id: string;
  snapshot: FleetSnapshot;
}

export type FeedListener = (event: FeedEvent) => void;

/** How often the fleet is read while at least one page listens. */
export const FEED_INTERVAL_MS = 1000;

/**
 * Ages as a page shows them: exact under 10 s would send an event every second for nothing, so an
 * age only counts as a change when it crosses into the next bucket (10 s under a minute, then
 * minutes, then hours).
 */
export function ageBucket(seconds: number | null): string | null {
  if (seconds === null) return null;
  if (seconds < 60) return `${Math.floor(seconds / 10)}0s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

/** The snapshot with its ages bucketed: equal fingerprints mean a page would show the same thing. */
export function fingerprint(snapshot: FleetSnapshot): string {
  return JSON.stringify({
    ...snapshot,
    records: snapshot.records.map((r) => ({
      ...r,
      idle_seconds: ageBucket(r.idle_seconds),
      heartbeat: { ...r.heartbeat, age_seconds: ageBucket(r.heartbeat.age_seconds) },
    })),
    pending: snapshot.pending.map((p) => ({ ...p, age_seconds: ageBucket(p.age_seconds) })),
  });
}

/**
 * The fleet for every connected page: one read per interval whoever listens (so the cost does not
 * grow with pages), only while someone listens, and an event only when the fingerprint changed
 * (edge-triggered). Event ids carry this server's start so a page coming back from an older
 * server never mistakes its last id for the current one.
 */
export class FleetFeed {
  private readonly listeners = new Set<FeedListener>();
  private latest: FeedEvent | undefined;
  private latestPrint = '';
  private sequence = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly boot = Date.now().toString(36);
  /** The failure last reported: the same one again, once a second, is not reported again. */
  private lastError: string | undefined;

  constructor(
    private readonly read: () => Promise<FleetSnapshot>,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = FEED_INTERVAL_MS,
  ) {}

  /** The newest event, if the feed has read the fleet at least once. */
  get current(): FeedEvent | undefined {
    return this.latest;
  }

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    if (!this.running) {
      this.running = true;
      this.latest = undefined; // read while nobody listened: stale
      this.latestPrint = '';
      void this.refresh();
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  close(): void {
    this.listeners.clear();
    clearTimeout(this.timer);
    this.running = false;
  }

  private async refresh(): Promise<void> {
    try {
      const snapshot = await this.read();
      const print = fingerprint(snapshot);
      if (print !== this.latestPrint || !this.latest) {
        this.latestPrint = print;
        this.sequence += 1;
        this.latest = { id: `${this.boot}-${this.sequence}`, snapshot };
        for (const listener of [...this.listeners]) listener(this.latest);
      }
      this.lastError = undefined;
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (text !== this.lastError) this.onError(error);
      this.lastError = text;
    }
    if (this.listeners.size === 0) {
      this.running = false;
      return;
    }
    this.timer = setTimeout(() => void this.refresh(), this.intervalMs);
  }
}
