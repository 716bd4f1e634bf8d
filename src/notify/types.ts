/*
 * Notification sinks as the roster's `notify:` list declares them, and the JSON event a sink receives.
 * The roster loader produces `NotifySink[]`; the "needs-you" daemon feeds a `NotificationGate`
 * (gate.ts) and hands what it lets through to `deliver` (sinks.ts). Sinks run in mosaic's own
 * process environment, never in an agent's pane or environment.
 */

// The roster loader produces these (src/roster/model.ts); one definition for both.
import { NOTIFY_ON, type NotifyOn, type NotifySink } from '../roster/model.js';
export { NOTIFY_ON, type NotifyOn, type NotifySink };

/** The two that arrive as events (`NotificationGate.event`), with no dwell. */
export const NOTIFY_EVENTS: readonly NotifyOn[] = ['crash', 'failed'];

/**
 * A sink's `on:` when the roster gives none: everything that needs a person, nothing that is
 * routine. `done` is left out (an agent finishing each task is noisy; ask for it with `on: [done, …]`);
 * `crash` is left out because the supervisor restarts a crashed agent on its own, and `failed`
 * (the supervisor gave up) is what needs you.
 */
export const DEFAULT_NOTIFY_ON: readonly NotifyOn[] = ['permission', 'question', 'error', 'limit', 'failed'];

export const DEFAULT_DWELL_SECONDS = 5;
export const DEFAULT_COOLDOWN_SECONDS = 60;

/** The JSON a sink receives (exec: on stdin; webhook: the POST body; desktop: rendered as title and body). */
export interface NotificationEvent {
  version: 1;
  /** The fleet's tmux socket name. */
  fleet: string;
  host: string;
  agent: string;
  runtime: string;
  state: NotifyOn;
  detail: string;
  /** When the agent entered this state (ISO 8601). */
  since: string;
  resets_at?: string | null;
  tool?: string;
  summary?: string;
  /** Unique per notification. */
  id: string;
  /** When the notification was made (ISO 8601). */
  ts: string;
}

export type SinkKind = 'exec' | 'webhook' | 'desktop';

export function sinkKind(sink: NotifySink): SinkKind {
  if ('exec' in sink) return 'exec';
  if ('webhook' in sink) return 'webhook';
  return 'desktop';
}

/**
 * The sink's name for logs. Never the whole webhook URL: its path or query often is the secret
 * (Slack, Discord, ntfy tokens), so only the host is shown.
 */
export function sinkName(sink: NotifySink): string {
  if (sink.name) return sink.name;
  if ('exec' in sink) {
    const argv0 = sink.exec[0] ?? '';
    return `exec:${argv0.split('/').filter(Boolean).pop() ?? argv0}`;
  }
  if ('webhook' in sink) {
    try {
      return `webhook:${new URL(sink.webhook).host}`;
    } catch {
      return 'webhook:invalid-url';
    }
  }
  return 'desktop';
}

/** A sink with its defaults filled in: what the gate works with. */
export interface SinkPolicy {
  name: string;
  on: ReadonlySet<NotifyOn>;
  dwellMs: number;
  cooldownMs: number;
}

const seconds = (value: number | undefined, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value * 1000 : fallback * 1000;

export function sinkPolicy(sink: NotifySink): SinkPolicy {
  return {
    name: sinkName(sink),
    on: new Set(sink.on ?? DEFAULT_NOTIFY_ON),
    dwellMs: seconds(sink.dwellSeconds, DEFAULT_DWELL_SECONDS),
    cooldownMs: seconds(sink.cooldownSeconds, DEFAULT_COOLDOWN_SECONDS),
  };
}
