import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendEvent, readEvents } from '../events/log.js';
import type { AgentSpec } from '../roster/model.js';
import type { AgentOutcome, Supervisor } from '../supervisor/types.js';
import { withEventLog } from './event-log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A supervisor that answers with fixed outcomes. */
function fake(kind: Supervisor['kind'], outcomes: AgentOutcome[]): Supervisor {
  const answer = async (): Promise<AgentOutcome[]> => outcomes;
  return { kind, start: answer, stop: answer, restart: answer, observe: async () => [] };
}

const agents = [{ name: 'a' }, { name: 'b' }, { name: 'c' }] as AgentSpec[];

describe('withEventLog', () => {
  it('logs what each verb did, for either supervisor, and nothing for agents it left alone', async () => {
    const logs = mkdtempSync(path.join(os.tmpdir(), 'mosaic-event-log-'));
    dirs.push(logs);
    await withEventLog(
      fake('systemd', [
        { agent: 'a', result: 'started' },
        { agent: 'b', result: 'already-running' },
        { agent: 'c', result: 'error', error: 'unit failed' },
      ]),
      logs,
    ).start(agents);
    await withEventLog(
      fake('builtin', [
        { agent: 'a', result: 'restarted' },
        { agent: 'b', result: 'started' },
      ]),
      logs,
    ).restart(agents);
    const outcomes = await withEventLog(
      fake('builtin', [
        { agent: 'a', result: 'stopped' },
        { agent: 'b', result: 'not-running' },
      ]),
      logs,
    ).stop(agents);
    expect(outcomes).toHaveLength(2);
    expect((await readEvents(logs)).map(({ ts: _ts, ...event }) => event)).toEqual([
      { type: 'start', agent: 'a', supervisor: 'systemd' },
      { type: 'start', agent: 'c', supervisor: 'systemd', error: 'unit failed' },
      { type: 'restart', agent: 'a', supervisor: 'builtin', trigger: 'command' },
      { type: 'start', agent: 'b', supervisor: 'builtin' },
      { type: 'stop', agent: 'a', supervisor: 'builtin' },
    ]);
  });

  it('stamps a start when it began, so a crash logged while it ran sorts after it; a stop when it ended', async () => {
    const logs = mkdtempSync(path.join(os.tmpdir(), 'mosaic-event-log-'));
    dirs.push(logs);
    const clock: string[] = [];
    // The agent crashes (and its handler logs that) while the start is still waiting for the others.
    const crashingDuringStart: Supervisor = {
      ...fake('systemd', [{ agent: 'a', result: 'started' }]),
      start: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        await appendEvent(logs, { type: 'crash', agent: 'a' });
        await new Promise((resolve) => setTimeout(resolve, 5));
        clock.push(new Date().toISOString());
        return [{ agent: 'a', result: 'started' }];
      },
      stop: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        clock.push(new Date().toISOString());
        return [{ agent: 'a', result: 'stopped' }];
      },
    };
    const logged = withEventLog(crashingDuringStart, logs);
    const before = new Date().toISOString();
    await logged.start(agents);
    await logged.stop(agents);
    const events = await readEvents(logs);
    expect(events.map((event) => event.type)).toEqual(['start', 'crash', 'stop']);
    expect(events[0]!.ts >= before && events[0]!.ts < events[1]!.ts).toBe(true);
    expect(events[2]!.ts >= clock[1]!).toBe(true);
  });
});
