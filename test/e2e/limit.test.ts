import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenLimit } from '../../src/runtimes/detectors/limit.js';
import type { FakeModel, FakeRule } from '../fake-model/server.mjs';
import { activityBecomes, createFleet, eventually, roster, type TestFleet } from './harness.js';
import { fakeModel, runtimeSection, type RealRuntime } from './runtime-fixtures.js';

/**
 * Usage and rate limits, detected from the real runtimes (pinned, offline) against the fake model's
 * limit rule: the runtime's own signal in `<heartbeat>.limit` (framework/bin/mosaic-limit: claude's
 * StopFailure hook and status line, the opencode plugin, the pi extension) with the reset time the
 * model gave, cleared by the next turn that goes through; codex, which has no such signal, by
 * src/runtimes/detectors/limit.ts on its screen.
 */

interface LimitLine {
  ts: string;
  resets_at: string;
  source: string;
  runtime: string;
  detail: string;
}

const limitPath = (fleet: TestFleet): string => path.join(fleet.home, 'run', 'r1.hb.limit');

function readLimit(fleet: TestFleet): LimitLine | undefined {
  if (!existsSync(limitPath(fleet))) return undefined;
  const line = readFileSync(limitPath(fleet), 'utf8');
  expect(line).toMatch(/^ts=\S+ resets_at=\S+ source=(hook|statusline|rollout) runtime=\S+ detail=[A-Za-z0-9_.-]+\n$/);
  return Object.fromEntries(
    line
      .trim()
      .split(' ')
      .map((field) => field.split('=', 2) as [string, string]),
  ) as unknown as LimitLine;
}

async function limitBecomes(fleet: TestFleet, want: (limit: LimitLine) => boolean, what: string, timeoutMs = 60_000): Promise<LimitLine> {
  try {
    return await eventually(
      () => {
        const limit = readLimit(fleet);
        return limit && want(limit) ? limit : undefined;
      },
      timeoutMs,
      what,
    );
  } catch (error) {
    const tail = (await fleet.mosaic(['agent', 'tail', 'r1', '-n', '40'])).stdout;
    throw new Error(`${(error as Error).message}; .limit: ${JSON.stringify(readLimit(fleet))}; screen:\n${tail}`);
  }
}

/** The reset time in the file is whole seconds: within `slackMs` of the one the fake model sent. */
function expectResetNear(limit: LimitLine, expected: number, slackMs = 5000): void {
  const at = Date.parse(limit.resets_at);
  expect(Number.isNaN(at), limit.resets_at).toBe(false);
  expect(Math.abs(at - expected), `${limit.resets_at} vs ${new Date(expected).toISOString()}`).toBeLessThanOrEqual(slackMs);
}

async function startFleet(runtime: RealRuntime, model: FakeModel, edit: (section: string, fleet: TestFleet) => string = (s) => s) {
  const fleet = createFleet();
  const section = edit(runtimeSection(runtime, model, fleet.dir, { approvals: false }), fleet);
  fleet.writeRoster(roster(fleet.socket, `runtimes:\n${section}agents:\n  - {name: r1, runtime: ${runtime}, working_directory: work}\n`));
  const started = await fleet.mosaic(['fleet', 'start']);
  expect(started.status, started.stderr).toBe(0);
  await activityBecomes(fleet, 'r1', 'idle', 120_000);
  return fleet;
}

async function send(fleet: TestFleet, message: string): Promise<void> {
  const sent = await fleet.mosaic(['agent', 'send', 'r1', '--verify', '--verify-timeout', '45000', '--json', '-m', message]);
  const result = JSON.parse(sent.stdout || '{}') as { status?: string };
  expect(result.status, `${sent.stdout}\n${sent.stderr}`).toBe('accepted');
}

/** The fake model's reset time for the first limited request with this text (ms). */
async function limitedAt(model: FakeModel, text: string): Promise<number> {
  const entry = await model.waitForRequest((r) => r.status === 429 && r.lastUserText.includes(text), 60_000);
  return Date.parse(entry.limit!.resetsAt);
}

const tail = async (fleet: TestFleet): Promise<string[]> => (await fleet.mosaic(['agent', 'tail', 'r1', '-n', '80'])).stdout.split('\n');

describe('usage and rate limits from the real runtimes (fake model limit rule)', () => {
  it('claude with an API key: StopFailure → .limit rate_limit_429 with the reset of "try again in 3600s"; the next good turn clears it', async () => {
    const rule: FakeRule = { match: 'limit-now', name: 'limit', limit: { resetsInSeconds: 3600 } };
    const model = await fakeModel({ rules: [rule] });
    const fleet = await startFleet('claude', model);

    await send(fleet, 'please limit-now');
    const resetsAt = await limitedAt(model, 'limit-now');
    const limit = await limitBecomes(fleet, (l) => l.source === 'hook', 'the StopFailure hook to write .limit');
    expect(limit).toMatchObject({ source: 'hook', runtime: 'claude', detail: 'rate_limit_429' });
    expectResetNear(limit, resetsAt);
    // Over 60 s of retry-after, claude gives up at once: one request, and StopFailure reports the turn over.
    expect(model.requests.filter((r) => r.status === 429)).toHaveLength(1);
    await activityBecomes(fleet, 'r1', 'idle');
    // The screen says the same.
    const seen = screenLimit('claude', await tail(fleet), new Date());
    expect(seen?.detail).toBe('rate_limit_429');
    expect(Math.abs(seen!.resetsAt!.getTime() - resetsAt)).toBeLessThan(60_000);

    model.rules.splice(0, model.rules.length); // the limit is over
    await send(fleet, 'continue');
    await eventually(() => (existsSync(limitPath(fleet)) ? undefined : true), 30_000, 'the Stop hook to remove .limit');
    expect(screenLimit('claude', await tail(fleet), new Date())).toBeUndefined();
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 240_000);

  it('claude as a subscriber: the status line records a full 5 h window exactly; the 429 shows "resets <time> (UTC)" and a dialog', async () => {
    const fullAt = Math.floor(Date.now() / 1000 + 2 * 3600) * 1000;
    const model = await fakeModel({
      rules: [
        { match: 'use-it-up', name: 'full', usage: { usedPercent: 100, resetsAt: fullAt } },
        { match: 'limit-now', name: 'limit', limit: { kind: 'usage_limit', resetsInSeconds: 3600 } },
        { match: 'continue', name: 'fresh', usage: { usedPercent: 3, resetsInSeconds: 5 * 3600 } },
      ],
    });
    // A subscription login (CLAUDE_CODE_OAUTH_TOKEN) instead of an API key: claude reads the
    // subscription's rate-limit headers only then.
    const fleet = await startFleet('claude', model, (section) =>
      section.replace(
        /ANTHROPIC_API_KEY: .*\n/,
        'CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-mosaic-fake"\n      CLAUDE_CODE_SUBSCRIPTION_TYPE: "max"\n',
      ),
    );
    const settings = JSON.parse(readFileSync(path.join(fleet.home, 'agents', 'r1', 'claude', 'settings.json'), 'utf8')) as {
      statusLine?: { command?: string };
    };
    expect(settings.statusLine?.command).toContain('mosaic-limit');

    await send(fleet, 'please use-it-up');
    const full = await limitBecomes(fleet, (l) => l.source === 'statusline', 'the status line to record the full window');
    expect(full).toMatchObject({
      runtime: 'claude',
      detail: 'five_hour_100pct',
      resets_at: new Date(fullAt).toISOString().replace('.000', ''),
    });

    await send(fleet, 'please limit-now');
    const resetsAt = await limitedAt(model, 'limit-now');
    const limit = await limitBecomes(fleet, (l) => l.source === 'hook', 'the StopFailure hook to write .limit');
    expect(limit.detail).toBe('session_limit');
    // "resets 10:08am (UTC)": to the minute, so the end of the shown minute.
    const endOfMinute = Math.floor(resetsAt / 60_000) * 60_000 + 60_000;
    expectResetNear(limit, endOfMinute, 0);
    const seen = await eventually(async () => screenLimit('claude', await tail(fleet), new Date()), 20_000, 'the limit on screen');
    expect(seen).toEqual({ resetsAt: new Date(endOfMinute), detail: 'session_limit' });

    // claude asks what to do; "Stop and wait" (Enter) gives the input back.
    await eventually(async () => ((await tail(fleet)).some((l) => l.includes('Stop and wait for limit to reset')) ? true : undefined));
    fleet.tmux(['send-keys', '-t', '=r1:0.0', 'Enter']);
    await eventually(
      async () => ((await tail(fleet)).some((l) => l.includes('Stop and wait')) ? undefined : true),
      15_000,
      'the dialog to close',
    );
    model.rules.splice(1, 1); // the limit is over
    await send(fleet, 'continue');
    await eventually(() => (existsSync(limitPath(fleet)) ? undefined : true), 30_000, 'the Stop hook to remove .limit');
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 240_000);

  it('codex: no hook fires on a usage limit; the screen detector reads "Try again at <time>." and sees it end', async () => {
    const model = await fakeModel({
      rules: [{ match: 'limit-now', name: 'limit', limit: { kind: 'usage_limit', resetsInSeconds: 3600 } }],
    });
    const fleet = await startFleet('codex', model);

    await send(fleet, 'please limit-now');
    const resetsAt = await limitedAt(model, 'limit-now');
    const seen = await eventually(async () => screenLimit('codex', await tail(fleet), new Date()), 30_000, 'the limit on screen');
    expect(seen).toEqual({ resetsAt: new Date(Math.floor(resetsAt / 60_000) * 60_000 + 60_000), detail: 'usage_limit' });
    expect(existsSync(limitPath(fleet))).toBe(false);

    // codex then offers a cheaper model; Esc keeps this one.
    await eventually(
      async () => ((await tail(fleet)).some((l) => l.includes('lower credit usage')) ? true : undefined),
      15_000,
      'the dialog',
    );
    fleet.tmux(['send-keys', '-t', '=r1:0.0', 'Escape']);
    await eventually(
      async () => ((await tail(fleet)).some((l) => l.includes('lower credit usage')) ? undefined : true),
      15_000,
      'the dialog to close',
    );
    model.rules.splice(0, model.rules.length);
    await send(fleet, 'continue');
    await model.waitForRequest((r) => r.status === 200 && r.lastUserText.includes('continue') && !r.isTitle, 30_000);
    await eventually(async () => (screenLimit('codex', await tail(fleet), new Date()) ? undefined : true), 30_000, 'the limit to be over');
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 240_000);

  it("opencode: the plugin records its retry (the provider's retry-after) and clears it when the retry goes through", async () => {
    // One limited request with a 3 s retry-after: opencode waits, retries, and the turn goes through.
    const model = await fakeModel({ rules: [{ match: 'limit-now', name: 'limit', limit: { resetsInSeconds: 3, times: 1 } }] });
    const fleet = await startFleet('opencode', model);

    await send(fleet, 'please limit-now');
    const resetsAt = await limitedAt(model, 'limit-now');
    const limit = await limitBecomes(fleet, () => true, 'the plugin to write .limit', 30_000);
    expect(limit).toMatchObject({ source: 'hook', runtime: 'opencode', detail: 'rate_limit' });
    const retried = await model.waitForRequest((r) => r.status === 200 && r.lastUserText.includes('limit-now') && !r.isTitle, 30_000);
    // The reset is opencode's own time of its next attempt: its clock when it read the 429 plus the
    // retry-after. Under load it reads the 429 late (2.4 s once in a full run), so the bounds are what
    // it cannot break: not before the provider allows (the file keeps whole seconds), not after the
    // retry it made.
    const at = Date.parse(limit.resets_at);
    expect(at, `${limit.resets_at} vs the provider's ${new Date(resetsAt).toISOString()}`).toBeGreaterThanOrEqual(resetsAt - 1000);
    expect(at, `${limit.resets_at} vs the retry at ${retried.ts}`).toBeLessThanOrEqual(Date.parse(retried.ts));
    await eventually(() => (existsSync(limitPath(fleet)) ? undefined : true), 30_000, 'the plugin to remove .limit');
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 240_000);

  it('pi: the extension records a turn that ended on a 429 ("try again in 3600s"); the next good turn clears it', async () => {
    const model = await fakeModel({
      rules: [{ match: 'limit-now', name: 'limit', limit: { resetsInSeconds: 3600, retryAfterSeconds: 0 } }],
    });
    const fleet = await startFleet('pi', model, (section, f) => {
      // pi's own retries (2 s, 4 s, 8 s) only slow the test down.
      const settings = path.join(f.dir, 'seed', 'pi', 'settings.json');
      writeFileSync(settings, JSON.stringify({ ...JSON.parse(readFileSync(settings, 'utf8')), retry: { enabled: false } }));
      return section;
    });

    await send(fleet, 'please limit-now');
    const limit = await limitBecomes(fleet, () => true, 'the extension to write .limit');
    expect(limit).toMatchObject({ source: 'hook', runtime: 'pi', detail: 'rate_limit_429' });
    const last = model.requests.filter((r) => r.status === 429).at(-1)!;
    expectResetNear(limit, Date.parse(last.limit!.resetsAt));
    expect(screenLimit('pi', await tail(fleet), new Date())?.detail).toBe('rate_limit_429');

    model.rules.splice(0, model.rules.length);
    await send(fleet, 'continue');
    await eventually(() => (existsSync(limitPath(fleet)) ? undefined : true), 30_000, 'the extension to remove .limit');
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 240_000);
});
