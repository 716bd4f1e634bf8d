import type { Heartbeat } from '../heartbeat/heartbeat.js';
import type { ActivityReading } from './activity.js';
import type { PendingRequest } from './pending.js';
import type { LimitReport } from './signals.js';

/**
 * Does an agent need its operator now, and why. One rule for `fleet ps`, `fleet pending` and the
 * needs-you process, fed (best first) by the runtime's hooks, then the terminal bell, then the screen.
 */
export type AttentionState = 'permission' | 'question' | 'done' | 'error' | 'limit' | 'none';
export const ATTENTION_STATES: readonly AttentionState[] = ['permission', 'question', 'error', 'limit', 'done', 'none'];

export interface Attention {
  state: AttentionState;
  /** When the agent entered this state, when known (ISO). */
  since: string | null;
  detail: string;
  /** permission: the tool and a one-line summary of what it wants to do (from the request). */
  tool?: string;
  summary?: string;
  /** permission: the open request's id (answer with `mosaic agent approve <agent> <id>`). */
  request_id?: string;
  /** limit: when the runtime says the limit resets, when it says so. */
  resets_at?: string | null;
}

export interface AttentionInput {
  /** The supervisor's view: running, restarting, failed, dead, stopped. */
  supervisorState: string;
  failedReason: string | null;
  activity: ActivityReading;
  /** The heartbeat with the runtime's last status report merged in (mosaic-report fields). */
  beat: Heartbeat | undefined;
  pending: readonly PendingRequest[];
  limit: LimitReport | undefined;
  /** A usage-limit message on the agent's screen (runtimes without a structured signal). */
  screenLimit?: { resetsAt: Date | null; detail: string } | undefined;
  /** When the agent's terminal last rang its bell (tmux alert-bell), if it did. */
  bellAt?: Date | undefined;
}

/** Events that end a turn: the agent worked and stopped (claude/codex Stop, opencode idle, pi agent_end). */
const TURN_END = new Set(['Stop', 'session.status.idle', 'session.idle', 'agent_end']);

const time = (value: string | undefined): number => (value ? Date.parse(value) : Number.NaN);

export function deriveAttention(input: AttentionInput): Attention {
  const { beat, activity } = input;
  const fields = beat?.fields ?? {};
  const statusAt = fields.status_ts ?? (beat ? beat.ts.toISOString() : null);

  if (input.supervisorState === 'failed') {
    return { state: 'error', since: null, detail: `the supervisor gave up: ${input.failedReason ?? 'crash loop'}` };
  }
  if (input.supervisorState === 'restarting' || input.supervisorState === 'dead') {
    return { state: 'error', since: null, detail: `the agent's process exited (${input.supervisorState})` };
  }
  if (input.supervisorState !== 'running') return { state: 'none', since: null, detail: `agent is ${input.supervisorState}` };

  // An unanswered request first; one answered but not taken yet still holds the runtime.
  const request = input.pending.find((r) => !r.answered) ?? input.pending[0];
  if (request) {
    const more = input.pending.length > 1 ? ` (+${input.pending.length - 1} more)` : '';
    const answered = request.answered;
    return {
      state: 'permission',
      since: request.created || null,
      detail: answered
        ? `${request.tool} was ${answered.decision === 'allow' ? 'approved' : 'denied'} (${request.id}) but the runtime has not taken the answer yet${more}`
        : `${request.tool} wants approval${more}: mosaic agent approve|deny ${request.agent} ${request.id}`,
      tool: request.tool,
      summary: request.summary,
      request_id: request.id,
    };
  }
  if (activity.activity === 'waiting') {
    const asked = fields.attention === 'question' || activity.reason === 'dialog';
    return {
      state: asked ? 'question' : 'permission',
      since: activity.source === 'runtime' ? statusAt : null,
      detail: asked ? `waiting for an answer (${activity.detail})` : `a permission prompt is open in the pane (${activity.detail})`,
    };
  }
  if (fields.attention === 'error' && activity.activity !== 'busy') {
    return { state: 'error', since: statusAt, detail: `the runtime reported an error (${fields.event ?? 'unknown event'})` };
  }
  const limit = input.limit && input.limit.active ? input.limit : undefined;
  if (limit || input.screenLimit) {
    const resetsAt = limit ? limit.resetsAt : input.screenLimit!.resetsAt;
    return {
      state: 'limit',
      since: limit ? limit.ts.toISOString() : null,
      detail: `usage limit (${limit ? `${limit.detail}, from ${limit.source}` : input.screenLimit!.detail})${
        resetsAt ? `; resets at ${resetsAt.toISOString()}` : '; reset time unknown'
      }`,
      resets_at: resetsAt ? resetsAt.toISOString() : null,
    };
  }
  const bellAt = input.bellAt?.getTime() ?? Number.NaN;
  // Only the runtime's own reports answer a bell (the launcher's heartbeat loop says nothing about
  // it); a message sent to the agent removes the bell file (src/messaging/send.ts).
  const lastReport = Math.max(...[time(fields.status_ts), time(fields.ack_ts)].filter((t) => !Number.isNaN(t)));
  if (activity.activity !== 'busy' && !Number.isNaN(bellAt) && !(lastReport >= bellAt)) {
    return {
      state: 'question',
      since: input.bellAt!.toISOString(),
      detail: 'the terminal rang its bell (no newer report from the runtime)',
    };
  }
  // Done: the last turn ended after the operator's last prompt, and nothing new was asked since.
  if (
    activity.activity === 'idle' &&
    activity.source === 'runtime' &&
    TURN_END.has(fields.event ?? '') &&
    fields.ack_ts !== undefined &&
    time(fields.status_ts) >= time(fields.ack_ts)
  ) {
    return { state: 'done', since: statusAt, detail: `finished its turn (${fields.event})` };
  }
  return { state: 'none', since: null, detail: activity.activity === 'busy' ? 'working' : activity.detail };
}

/** `fleet ps --attention`: who needs the operator first. */
export const attentionRank = (state: AttentionState): number => ATTENTION_STATES.indexOf(state);
