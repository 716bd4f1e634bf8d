import { describe, expect, it } from 'vitest';
import { parseHeartbeat } from '../heartbeat/heartbeat.js';
import type { ActivityReading } from './activity.js';
import type { PendingRequest } from './pending.js';
import { parseLimit } from './signals.js';
import { attentionRank, deriveAttention, type AttentionInput } from './state.js';

const idle: ActivityReading = { activity: 'idle', source: 'runtime', age_seconds: 1, detail: 'reported by claude' };
const busy: ActivityReading = { activity: 'busy', source: 'runtime', age_seconds: 1, detail: 'reported by claude' };
const beat = (fields: string) => parseHeartbeat(`ts=2026-12-03T10:00:05.000Z pid=7 ${fields}`);
const input = (over: Partial<AttentionInput>): AttentionInput => ({
  supervisorState: 'running',
  failedReason: null,
  activity: idle,
  beat: undefined,
  pending: [],
  limit: undefined,
  ...over,
});
const request: PendingRequest = {
  id: 'p1',
  agent: 'a',
  runtime: 'claude',
  tool: 'Bash',
  summary: 'touch x',
  created: '2026-12-03T10:00:00.000Z',
  expires: null,
  pid: 1,
  answered: null,
};

describe('deriveAttention', () => {
  it('says done only for a turn that ended after the last prompt', () => {
    const ended = beat(
      'status=idle event=Stop source=runtime status_ts=2026-12-03T10:00:05.000Z ack=ab12cd34 ack_ts=2026-12-03T10:00:01.000Z',
    );
    expect(deriveAttention(input({ beat: ended }))).toMatchObject({ state: 'done', since: '2026-12-03T10:00:05.000Z' });
    const fresh = beat('status=idle event=SessionStart source=runtime status_ts=2026-12-03T10:00:05.000Z');
    expect(deriveAttention(input({ beat: fresh })).state).toBe('none');
    expect(deriveAttention(input({ beat: ended, activity: busy })).state).toBe('none');
  });

  it('puts an open request first, with its tool, summary and id', () => {
    const a = deriveAttention(input({ pending: [request, { ...request, id: 'p2' }] }));
    expect(a).toMatchObject({ state: 'permission', tool: 'Bash', summary: 'touch x', request_id: 'p1', since: request.created });
    expect(a.detail).toContain('+1 more');
    // An answer the runtime has not taken yet: still open, an unanswered request first.
    const answered = { ...request, answered: { decision: 'allow' as const, by: 'vm:me', at: '2026-12-03T10:00:09.000Z' } };
    expect(deriveAttention(input({ pending: [answered, { ...request, id: 'p2' }] }))).toMatchObject({ request_id: 'p2' });
    const waiting = deriveAttention(input({ pending: [answered] }));
    expect(waiting).toMatchObject({ state: 'permission', request_id: 'p1' });
    expect(waiting.detail).toBe('Bash was approved (p1) but the runtime has not taken the answer yet');
  });

  it('reads a permission prompt or a question off the activity', () => {
    const waiting: ActivityReading = {
      activity: 'waiting',
      source: 'screen',
      age_seconds: null,
      detail: 'screen shows x',
      reason: 'permission',
    };
    expect(deriveAttention(input({ activity: waiting })).state).toBe('permission');
    expect(deriveAttention(input({ activity: { ...waiting, reason: 'dialog' } })).state).toBe('question');
    const asked = beat('status=waiting attention=question event=PreToolUse source=runtime status_ts=2026-12-03T10:00:05.000Z');
    expect(deriveAttention(input({ activity: { ...waiting, source: 'runtime' }, beat: asked })).state).toBe('question');
  });

  it('says error for a failed, dead or restarting agent', () => {
    expect(deriveAttention(input({ supervisorState: 'failed', failedReason: 'crash storm' })).detail).toContain('crash storm');
    expect(deriveAttention(input({ supervisorState: 'restarting' })).state).toBe('error');
    expect(deriveAttention(input({ supervisorState: 'stopped' })).state).toBe('none');
  });

  it('says limit with the reset time until the runtime clears it', () => {
    const limit = parseLimit('ts=2026-12-03T10:00:00.000Z resets_at=2026-12-03T11:00:00.000Z source=hook runtime=claude detail=rate_limit');
    expect(deriveAttention(input({ limit }))).toMatchObject({ state: 'limit', resets_at: '2026-12-03T11:00:00.000Z' });
    const cleared = parseLimit('ts=2026-12-03T10:10:00.000Z resets_at=- source=hook runtime=claude detail=clear');
    expect(deriveAttention(input({ limit: cleared })).state).toBe('none');
    const onScreen = deriveAttention(input({ screenLimit: { resetsAt: null, detail: 'screen shows usage limit' } }));
    expect(onScreen).toMatchObject({ state: 'limit', resets_at: null });
  });

  it('takes a bell newer than the last report as a question', () => {
    const reported = beat('status=idle event=Stop source=runtime status_ts=2026-12-03T10:00:05.000Z');
    expect(deriveAttention(input({ beat: reported, bellAt: new Date('2026-12-03T10:00:09.000Z') })).state).toBe('question');
    expect(deriveAttention(input({ beat: reported, bellAt: new Date('2026-12-03T10:00:01.000Z') })).state).toBe('none');
  });

  it('ranks who needs the operator first', () => {
    const order = (['done', 'none', 'permission', 'limit', 'error', 'question'] as const)
      .slice()
      .sort((a, b) => attentionRank(a) - attentionRank(b));
    expect(order).toEqual(['permission', 'question', 'error', 'limit', 'done', 'none']);
  });
});
