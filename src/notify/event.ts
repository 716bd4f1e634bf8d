import { randomUUID } from 'node:crypto';
import type { GateFire } from './gate.js';
import type { NotificationEvent } from './types.js';

/** What the daemon knows about the agent beyond what the gate decided. */
export interface EventContext {
  /** The fleet's tmux socket name. */
  fleet: string;
  host: string;
  runtime: string;
  /** Human-readable: the prompt's question, the error line, "exit 1 (SIGKILL)", … */
  detail: string;
  resets_at?: string | null;
  tool?: string;
  summary?: string;
}

/** The JSON a sink receives for one notification the gate let through; a new `id` each call. */
export function notificationEvent(fire: GateFire, context: EventContext, now: Date): NotificationEvent {
  const event: NotificationEvent = {
    version: 1,
    fleet: context.fleet,
    host: context.host,
    agent: fire.agent,
    runtime: context.runtime,
    state: fire.state,
    detail: context.detail,
    since: fire.since.toISOString(),
    id: randomUUID(),
    ts: now.toISOString(),
  };
  if (context.resets_at !== undefined) event.resets_at = context.resets_at;
  if (context.tool !== undefined) event.tool = context.tool;
  if (context.summary !== undefined) event.summary = context.summary;
  return event;
}
