import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, roster, type TestFleet } from './harness.js';
import { fakeModel, runtimeSection } from './runtime-fixtures.js';
import { webhookServer } from './webhook.js';

type Event = Record<string, unknown>;

const screen = async (fleet: TestFleet): Promise<string> => (await fleet.mosaic(['agent', 'tail', 'r1', '-n', '40'])).stdout;

/** Wait for a condition; on timeout, show the agent's screen. */
async function until<T>(fleet: TestFleet, probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 45_000): Promise<T> {
  try {
    return await eventually(probe, ms, what);
  } catch (error) {
    throw new Error(`${(error as Error).message}; screen:\n${await screen(fleet)}`);
  }
}

describe('needs-you with a real runtime (claude, safe mode, fake model)', () => {
  it('notifies permission (tool and summary), done and limit; approve runs the tool; on_limit: continue resumes after the reset', async () => {
    const model = await fakeModel({
      // Over 60 s of retry-after claude gives up at once; the provider's message says when the limit resets.
      rules: [{ match: 'limit-now', name: 'limit', limit: { resetsInSeconds: 6, retryAfterSeconds: 3600, times: 1 } }],
    });
    const hook = await webhookServer();
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        [
          'notify:',
          `  - webhook: ${JSON.stringify(`${hook.url}/mosaic`)}`,
          '    on: [permission, done, limit]',
          '    dwell_seconds: 0',
          '    cooldown_seconds: 0',
          `runtimes:\n${runtimeSection('claude', model, fleet.dir)}`,
          'agents:',
          '  - {name: r1, runtime: claude, working_directory: work, on_limit: continue}',
          '',
        ].join('\n'),
      ),
    );
    const started = await fleet.mosaic(['fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);
    const send = async (text: string): Promise<void> => {
      const sent = await fleet.mosaic(['agent', 'send', 'r1', '--verify', '--verify-timeout', '30000', '--json', '-m', text]);
      expect(JSON.parse(sent.stdout || '{}').status, `${sent.stdout}${sent.stderr}${await screen(fleet)}`).toBe('accepted');
    };
    const told = (state: string): Event[] => hook.posts.map((p) => p.body).filter((e) => e.state === state);

    // Permission: the webhook is told which tool wants to do what; approving runs it; the finished turn is "done".
    await send('please ask permission');
    // The hook's "waiting" report can come a moment before the request (with tool and summary) is filed;
    // with no dwell both are told, the second with the details.
    const permission = await until(fleet, () => told('permission').find((e) => e.tool), 'a permission notification with the tool');
    expect(permission).toMatchObject({ version: 1, agent: 'r1', runtime: 'claude', tool: 'Bash' });
    expect(String(permission.summary)).toContain('touch mosaic-permission-probe');
    const approved = await fleet.mosaic(['agent', 'approve', 'r1']);
    expect(approved.status, approved.stderr).toBe(0);
    await until(fleet, () => existsSync(path.join(fleet.home, 'work', 'mosaic-permission-probe')) || undefined, 'the approved file');
    await until(fleet, () => told('done')[0], 'a done notification after the approved turn');

    // A usage limit: told with its reset time; "continue" goes out once after it, and the turn goes through.
    await send('please limit-now');
    const limit = await until(fleet, () => told('limit')[0], 'a limit notification');
    const resetsAt = Date.parse(String(limit.resets_at));
    expect(Number.isNaN(resetsAt), String(limit.resets_at)).toBe(false);
    expect(Math.abs(resetsAt - Date.now())).toBeLessThan(30_000);
    const resumed = await model.waitForRequest((r) => r.status === 200 && r.lastUserText.trim().endsWith('continue') && !r.isTitle, 60_000);
    expect(Date.parse(resumed.ts)).toBeGreaterThanOrEqual(resetsAt);
    const events = async (): Promise<Event[]> =>
      (await fleet.mosaic(['fleet', 'events', '--json', '--agent', 'r1'])).stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Event);
    const onLimit = await until(
      fleet,
      async () => (await events()).find((e) => e.type === 'send' && e.source === 'mosaic on_limit'),
      'the on_limit send in the event log',
    );
    expect(onLimit.verdict).toBe('accepted');
    await until(fleet, () => (existsSync(path.join(fleet.home, 'run', 'r1.hb.limit')) ? undefined : true), 'the limit to clear');
    expect((await events()).filter((e) => e.type === 'send' && e.source === 'mosaic on_limit')).toHaveLength(1);
    const log = (await events())
      .filter((e) => e.type === 'approval' || e.type === 'notification')
      .map((e) => `${e.type}:${e.state ?? e.decision}`);
    expect(log).toEqual(expect.arrayContaining(['approval:allow', 'notification:permission', 'notification:done', 'notification:limit']));
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 180_000);
});
