import { describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { checkItem, statusItem, verdictOf, waitForCi, type CiItem, type CiSnapshot } from './ci.js';
import { ForgeRequestError } from './client.js';

describe('reading statuses and check runs', () => {
  it('statuses: GitHub "state", Gitea "status"; error is a failure, warning passes, anything unknown waits', () => {
    expect(statusItem({ context: 'a', state: 'success' })).toMatchObject({ state: 'success', raw: 'success' });
    expect(statusItem({ context: 'a', status: 'error' })).toMatchObject({ kind: 'status', state: 'failure', raw: 'error' });
    expect(statusItem({ context: 'a', state: 'failure' }).state).toBe('failure');
    expect(statusItem({ context: 'a', status: 'warning' })).toMatchObject({ state: 'success', raw: 'warning' });
    expect(statusItem({ context: 'a', state: 'pending' }).state).toBe('pending');
    expect(statusItem({ context: 'a', state: 'something-new' }).state).toBe('pending');
    expect(statusItem({ state: 'success', target_url: 'https://ci/1' })).toMatchObject({ name: '(no context)', url: 'https://ci/1' });
  });

  it('check runs: only completed ones count; success, neutral and skipped pass', () => {
    expect(checkItem({ name: 'b', status: 'in_progress', conclusion: null })).toMatchObject({ state: 'pending', raw: 'in_progress' });
    expect(checkItem({ name: 'b', status: 'queued' }).state).toBe('pending');
    for (const c of ['success', 'neutral', 'skipped'])
      expect(checkItem({ name: 'b', status: 'completed', conclusion: c }).state).toBe('success');
    for (const c of ['failure', 'cancelled', 'timed_out', 'action_required', 'stale', 'startup_failure']) {
      expect(checkItem({ name: 'b', status: 'completed', conclusion: c })).toMatchObject({ state: 'failure', raw: c });
    }
  });

  it('verdict: none without items, any failure fails, any pending waits', () => {
    const item = (state: CiItem['state']): CiItem => ({ kind: 'check', name: state, state, raw: state });
    expect(verdictOf([])).toBe('none');
    expect(verdictOf([item('success'), item('pending'), item('failure')])).toBe('failure');
    expect(verdictOf([item('success'), item('pending')])).toBe('pending');
    expect(verdictOf([item('success')])).toBe('success');
  });
});

/** A clock that only moves when the wait sleeps. */
function fakeTime() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms), at: () => now };
}

const pending: CiItem = { kind: 'status', name: 'ci', state: 'pending', raw: 'pending' };
const green: CiItem = { kind: 'status', name: 'ci', state: 'success', raw: 'success' };
const red: CiItem = { kind: 'check', name: 'build', state: 'failure', raw: 'failure' };

/** Serve these snapshots in turn; the last repeats. */
const sequence = (snaps: (CiSnapshot | Error)[]) => {
  let i = 0;
  return async (): Promise<CiSnapshot> => {
    const next = snaps[Math.min(i++, snaps.length - 1)]!;
    if (next instanceof Error) throw next;
    return next;
  };
};
const snap = (items: CiItem[], sha = 'abc1234'): CiSnapshot => ({ sha, items });

describe('waitForCi', () => {
  const base = { intervalMs: 1000, timeoutMs: 60_000, graceMs: 5000 };

  it('no CI: zero statuses and zero check runs after the grace → no-ci at the grace, not the timeout', async () => {
    const t = fakeTime();
    const report = await waitForCi(sequence([snap([])]), { ...base, ...t });
    expect(report).toMatchObject({ result: 'no-ci', exit_code: 3, polls: 6 });
    expect(t.at()).toBe(5000);
  });

  it('webhook lag inside the grace: empty, then pending, then green → success', async () => {
    const t = fakeTime();
    const report = await waitForCi(sequence([snap([]), snap([]), snap([pending]), snap([green])]), { ...base, ...t });
    expect(report).toMatchObject({ result: 'success', exit_code: 0, polls: 4 });
  });

  it('after anything was reported, empty is not "no CI": it runs into the timeout', async () => {
    const t = fakeTime();
    const report = await waitForCi(sequence([snap([pending]), snap([])]), { ...base, graceMs: 1000, timeoutMs: 10_000, ...t });
    expect(report).toMatchObject({ result: 'timeout', exit_code: 124, reason: 'timed out after 10s; nothing reported' });
    expect(t.at()).toBe(10_000);
  });

  it('a failure ends the wait at once, even with others pending', async () => {
    const t = fakeTime();
    const report = await waitForCi(sequence([snap([pending, red])]), { ...base, ...t });
    expect(report).toMatchObject({
      result: 'failure',
      exit_code: 1,
      failing: ['build'],
      pending: ['ci'],
      reason: 'failed: build (failure)',
    });
    expect(t.at()).toBe(0);
  });

  it('a new head restarts the grace: no "no CI" for a commit that was just pushed', async () => {
    const t = fakeTime();
    // 3 s of pending on the old head, then the new head is empty for 4 s (less than the grace), then green.
    const snaps = [
      snap([pending], 'old1111'),
      snap([pending], 'old1111'),
      snap([pending], 'old1111'),
      ...Array(4).fill(snap([], 'new2222')),
      snap([green], 'new2222'),
    ];
    const report = await waitForCi(sequence(snaps), { ...base, ...t });
    expect(report).toMatchObject({ result: 'success', sha: 'new2222' });
  });

  it('transient errors are retried; the timeout reason carries the last one', async () => {
    const t = fakeTime();
    const flaky = new ForgeRequestError('could not reach git.example.com (GET /x): ECONNREFUSED', undefined, true);
    expect((await waitForCi(sequence([flaky, flaky, snap([green])]), { ...base, ...t })).result).toBe('success');
    const always = await waitForCi(sequence([flaky]), { ...base, timeoutMs: 3000, ...fakeTime() });
    expect(always).toMatchObject({ result: 'timeout', reason: `timed out after 3.0s; last error: ${flaky.message}` });
  });

  it('errors that polling cannot fix (401, 404) end the wait with the error', async () => {
    const rejected = new ForgeRequestError('git.example.com rejected the gitea token from GITEA_TOKEN (HTTP 401)', 401, false);
    await expect(waitForCi(sequence([rejected]), { ...base, ...fakeTime() })).rejects.toBe(rejected);
    await expect(waitForCi(sequence([new UserError('other')]), { ...base, ...fakeTime() })).rejects.toThrow('other');
  });

  it('the grace is clamped to the timeout; the progress callback sees every poll', async () => {
    const t = fakeTime();
    const seen: string[] = [];
    const report = await waitForCi(sequence([snap([])]), {
      intervalMs: 400,
      timeoutMs: 1000,
      graceMs: 20_000,
      ...t,
      onPoll: (p) => seen.push(`${p.elapsedMs}:${p.verdict}`),
    });
    expect(report.result).toBe('no-ci');
    expect(seen).toEqual(['0:none', '400:none', '800:none', '1000:none']);
  });
});
