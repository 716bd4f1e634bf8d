import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { eventually, type TestFleet } from './harness.js';
import { startOneRuntimeAgent, type RealRuntime } from './runtime-fixtures.js';

interface AgentStatusJson {
  state: string;
  activity: string;
  status_source: string;
  activity_detail: string;
}
interface SendJson {
  status: string;
  detail: string;
  send_id: string;
}

const readIfExists = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const status = (fleet: TestFleet): Promise<AgentStatusJson> => fleet.json<AgentStatusJson>(['agent', 'status', 'r1']);

async function activityBecomes(fleet: TestFleet, activity: string, timeoutMs = 30_000): Promise<AgentStatusJson> {
  let last: AgentStatusJson | undefined;
  try {
    return await eventually(
      async () => {
        last = await status(fleet);
        return last.activity === activity ? last : undefined;
      },
      timeoutMs,
      `activity ${activity}`,
    );
  } catch (error) {
    const tail = (await fleet.mosaic(['agent', 'tail', 'r1', '-n', '30'])).stdout;
    throw new Error(`${(error as Error).message}; last status ${JSON.stringify(last)}; screen:\n${tail}`);
  }
}

/**
 * One real runtime, offline against the fake model, in a fleet on real tmux: the runtime's own
 * hook acknowledges the send, reports busy while the model holds the turn and idle after it,
 * waiting on a permission prompt (where the runtime has one), a verified reset, and no drift.
 */
export async function realRuntimeFlow(runtime: RealRuntime, options: { permission: boolean; reset: 'clear' | 'new' }): Promise<void> {
  const { model, fleet } = await startOneRuntimeAgent(runtime);

  // The model holds this turn until the test lets go: busy is observed without racing a timer.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  model.rules.unshift({ match: 'hold-this-turn', reply: 'held turn done', holdUntil: held });

  // A runtime still busy with its own start-up (codex boots its tools) rightly queues a message:
  // wait for idle, so the first verdict can be "accepted".
  await activityBecomes(fleet, 'idle', 120_000);
  if (runtime === 'opencode') {
    // mosaic declared opencode's plugin package (its plugin needs nothing from it): opencode
    // installed nothing, where it used to download 64 MB into every new agent's config.
    const config = path.join(fleet.home, 'agents', 'r1', 'opencode', 'config', 'opencode');
    expect(readdirSync(path.join(config, 'node_modules'))).toEqual([]);
  }
  const sent = await fleet.mosaic([
    'agent',
    'send',
    'r1',
    '--verify',
    '--verify-timeout',
    '45000',
    '--json',
    '-m',
    'please hold-this-turn',
  ]);
  const result = JSON.parse(sent.stdout || '{}') as SendJson;
  const screen = result.status === 'accepted' ? '' : (await fleet.mosaic(['agent', 'tail', 'r1', '-n', '40'])).stdout;
  expect(result.status, `${sent.stdout}\n${sent.stderr}\n${screen}`).toBe('accepted');
  // The runtime acknowledged it through its own hook (possibly after the screen already showed it).
  await eventually(
    () => (readIfExists(`${fleet.home}/run/r1.hb.status`).includes(`ack=${result.send_id}`) ? true : undefined),
    20_000,
    `the runtime's ack of send ${result.send_id}`,
  );
  const busy = await activityBecomes(fleet, 'busy');
  expect(busy.status_source).toBe('runtime');
  release();
  await activityBecomes(fleet, 'idle');
  // The screen can show the turn over before the runtime's own idle report lands (an idle screen
  // beats a busy report older than 3 s, and this busy report is as old as the held turn): the
  // runtime's report must follow. (A CI run saw opencode's plugin report a poll after the screen.)
  let seen: AgentStatusJson | undefined;
  await eventually(
    async () => {
      seen = await status(fleet);
      return seen.activity === 'idle' && seen.status_source === 'runtime' ? true : undefined;
    },
    20_000,
    () => `the runtime's own idle report (last status: ${JSON.stringify(seen)})`,
  );
  await model.waitForRequest((r) => r.lastUserText?.includes('hold-this-turn') ?? false, 1000);

  if (options.permission) {
    const asked = await fleet.mosaic([
      'agent',
      'send',
      'r1',
      '--verify',
      '--verify-timeout',
      '20000',
      '--json',
      '-m',
      'please ask permission',
    ]);
    expect(JSON.parse(asked.stdout || '{}').status, asked.stderr).toBe('accepted');
    await activityBecomes(fleet, 'waiting');
    // Refuse the tool; the turn then ends and the agent is idle again.
    fleet.tmux(['send-keys', '-t', '=r1:0.0', 'Escape']);
    await activityBecomes(fleet, 'idle');
  }

  const reset = await fleet.mosaic(['agent', 'reset', 'r1', `--${options.reset}`, '--json']);
  const resetResult = JSON.parse(reset.stdout || '{}') as { verified: boolean; evidence: string };
  expect(resetResult.verified, `${reset.stdout}\n${reset.stderr}`).toBe(true);

  const ps = await fleet.json<{ agent: string; flags: string[]; reasons: Record<string, string>; agent_pid: number | null }[]>([
    'fleet',
    'ps',
  ]);
  const row = ps.find((r) => r.agent === 'r1')!;
  expect(row.flags, JSON.stringify(row.reasons)).not.toContain('drift');
  expect(row.agent_pid).not.toBeNull();

  expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
}
