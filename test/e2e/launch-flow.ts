import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { detectorFor } from '../../src/runtimes/detectors/index.js';
import type { FakeRequestEntry } from '../fake-model/server.mjs';
import { captureScreen, createFleet, eventually, paneComesBack, type TestFleet } from './harness.js';
import { fakeModel, runtimeSection, type RealRuntime } from './runtime-fixtures.js';

interface PsRow {
  agent: string;
  activity: string;
  reason: string | null;
  mode: string;
  model: string | null;
  session_id: string | null;
  agent_pid: number | null;
  pane_pid: number | null;
}

/** The model value each runtime is given, and what it asks the fake server for. */
const MODEL: Record<RealRuntime, { roster: string; requested: string }> = {
  claude: { roster: 'fake-model-b', requested: 'fake-model-b' },
  codex: { roster: 'fake-model-b', requested: 'fake-model-b' },
  pi: { roster: 'fake/fake-model-b', requested: 'fake-model-b' },
  opencode: { roster: 'fake/fake-model-b', requested: 'fake-model-b' },
};

const PERSONA_MARKER = 'PERSONA-MARKER-7f3a: you answer as the fleet test persona.';

const psRow = async (fleet: TestFleet, agent: string): Promise<PsRow> =>
  (await fleet.json<PsRow[]>(['fleet', 'ps'])).find((row) => row.agent === agent)!;

async function until(fleet: TestFleet, agent: string, test: (row: PsRow) => boolean, what: string, timeoutMs = 60_000): Promise<PsRow> {
  let last: PsRow | undefined;
  try {
    return await eventually(
      async () => {
        last = await psRow(fleet, agent);
        return test(last) ? last : undefined;
      },
      timeoutMs,
      what,
    );
  } catch (error) {
    const screen = (await fleet.mosaic(['agent', 'tail', agent, '-n', '30'])).stdout;
    throw new Error(`${(error as Error).message}; last ps row ${JSON.stringify(last)}; screen:\n${screen}`);
  }
}

/**
 * What `fleet ps` calls idle is what `agent send` waits for: the runtime's input on screen. After a
 * restart the runtime reports its start before its TUI is drawn (opencode by seconds); ps must not
 * say idle for that. Once drawn, an idle agent's input stays, so reading the screen after ps is fair.
 */
function expectInputOnScreen(fleet: TestFleet, agent: string, runtime: string): void {
  const screen = captureScreen(fleet, agent);
  expect(detectorFor(runtime).ready(screen), `ps said idle; the screen:\n${screen.lines.join('\n')}`).toEqual({ ready: true });
}

const bodyText = (entry: FakeRequestEntry): string => JSON.stringify(entry.body ?? '');
const mainRequest = (text: string) => (entry: FakeRequestEntry) =>
  !entry.isTitle && entry.status === 200 && entry.lastUserText.includes(text);

/**
 * A send waits up to half its timeout for the runtime's input to be on screen, and then for its
 * evidence: opencode's TUI needs seconds of CPU after a restart, which a loaded 2-core box can
 * stretch past 20 s.
 */
async function send(fleet: TestFleet, agent: string, text: string): Promise<void> {
  const sent = await fleet.mosaic(['agent', 'send', agent, '--verify', '--verify-timeout', '90000', '--no-preamble', '--json', '-m', text]);
  const status = (JSON.parse(sent.stdout || '{}') as { status?: string }).status;
  expect(['accepted', 'queued'], `${sent.stdout}\n${sent.stderr}`).toContain(status);
}

/**
 * A real runtime launched by mosaic, offline against the fake model: yolo runs a shell tool call
 * with no prompt and safe stops at one; the runtime asks for the roster's model, carries the
 * persona in its system prompt, and starts with the kickstart; after kill -9 the supervisor's
 * restart resumes the same conversation (no second kickstart); after `agent reset` the
 * conversation is new and the kickstart comes again.
 */
export async function launchFlow(runtime: RealRuntime, options: { gates: boolean; fleetRestart?: boolean }): Promise<void> {
  const model = await fakeModel({ logBodies: true });
  const fleet = createFleet();
  const yoloFile = path.join(fleet.dir, 'yolo-touched');
  const safeFile = path.join(fleet.dir, 'safe-touched');
  model.rules.push(
    { name: 'yolo-touch', match: 'touch-yolo-now', toolCall: { command: `touch ${yoloFile}`, escalate: false } },
    { name: 'safe-touch', match: 'touch-safe-now', toolCall: { command: `touch ${safeFile}` } },
  );
  const persona = path.join(fleet.dir, 'persona.md');
  writeFileSync(persona, `# Test persona\n\n${PERSONA_MARKER}\n`);
  const safeAgent = options.gates ? `  - {name: s1, runtime: ${runtime}}\n` : '';
  fleet.writeRoster(
    `version: 1\ntransport: tmux\ntmux:\n  socket_name: ${fleet.socket}\nheartbeat:\n  interval_seconds: 2\n` +
      `restart:\n  backoff_initial_ms: 200\n` +
      `defaults:\n  working_directory: work\nruntimes:\n${runtimeSection(runtime, model, fleet.dir)}agents:\n` +
      `  - name: y1\n    runtime: ${runtime}\n    class: tester\n    mode: yolo\n    model: ${MODEL[runtime].roster}\n` +
      `    persona_file: ${JSON.stringify(persona)}\n    kickstart_template: "KICKSTART-{agent}-{class}: say ready"\n` +
      safeAgent,
  );
  const started = await fleet.mosaic(['fleet', 'start']);
  expect(started.status, started.stderr).toBe(0);

  // First start: the kickstart is the first prompt, on the roster's model, with the persona.
  const first = await model.waitForRequest(mainRequest('KICKSTART-y1-tester'), 120_000);
  expect(first.model).toBe(MODEL[runtime].requested);
  expect(bodyText(first)).toContain('PERSONA-MARKER-7f3a');
  const row = await until(fleet, 'y1', (r) => r.activity === 'idle', 'y1 idle after its kickstart', 90_000);
  expect(row.mode).toBe('yolo');
  expect(row.model).toBe(MODEL[runtime].roster);

  // yolo: the shell tool runs with no prompt.
  await send(fleet, 'y1', 'remember the word PAPAYA');
  await model.waitForRequest(mainRequest('remember the word PAPAYA'), 30_000);
  await until(fleet, 'y1', (r) => r.activity === 'idle', 'y1 idle after the PAPAYA turn');
  await send(fleet, 'y1', 'please touch-yolo-now');
  await eventually(() => existsSync(yoloFile) || undefined, 60_000, `the yolo agent to create ${yoloFile}`);
  const before = await until(fleet, 'y1', (r) => r.activity === 'idle' && r.session_id !== null, 'y1 idle with a session id');

  // kill -9 the runtime: the supervisor restarts it, resuming the same conversation.
  process.kill(before.agent_pid ?? before.pane_pid!, 'SIGKILL');
  await paneComesBack(fleet, 'y1', before.pane_pid!);
  await until(fleet, 'y1', (r) => r.activity === 'idle', 'y1 idle after the restart', 90_000);
  expectInputOnScreen(fleet, 'y1', runtime);
  await send(fleet, 'y1', 'resume-check: which word did I ask you to remember?');
  const resumed = await model.waitForRequest(mainRequest('resume-check'), 45_000);
  expect(bodyText(resumed), 'the request after the restart carries the earlier turn').toContain('PAPAYA');
  expect(resumed.model).toBe(MODEL[runtime].requested);
  expect(bodyText(resumed)).toContain('PERSONA-MARKER-7f3a');
  expect((await psRow(fleet, 'y1')).session_id).toBe(before.session_id);
  expect(model.requests.filter(mainRequest('KICKSTART-y1')).length, 'no kickstart on a restart that resumes').toBe(1);

  if (options.fleetRestart) {
    // `fleet restart` resumes too (the same launcher decides).
    const restartedPid = (await psRow(fleet, 'y1')).pane_pid!;
    expect((await fleet.mosaic(['fleet', 'restart', 'y1'])).status).toBe(0);
    await paneComesBack(fleet, 'y1', restartedPid);
    await until(fleet, 'y1', (r) => r.activity === 'idle', 'y1 idle after fleet restart', 90_000);
    expectInputOnScreen(fleet, 'y1', runtime);
    await send(fleet, 'y1', 'restart-check: the word again?');
    expect(bodyText(await model.waitForRequest(mainRequest('restart-check'), 45_000))).toContain('PAPAYA');
    expect(model.requests.filter(mainRequest('KICKSTART-y1')).length).toBe(1);
  }

  // reset: a new conversation, and the kickstart again.
  await until(fleet, 'y1', (r) => r.activity === 'idle', 'y1 idle before the reset');
  const reset = await fleet.mosaic(['agent', 'reset', 'y1', '--clear', '--json']);
  expect((JSON.parse(reset.stdout || '{}') as { verified?: boolean }).verified, `${reset.stdout}\n${reset.stderr}`).toBe(true);
  const again = await eventually(() => model.requests.filter(mainRequest('KICKSTART-y1')).at(1), 60_000, 'the kickstart after the reset');
  expect(bodyText(again), 'a reset conversation does not carry the earlier turn').not.toContain('PAPAYA');
  await until(fleet, 'y1', (r) => r.session_id !== null && r.session_id !== before.session_id, 'a new session id after the reset');

  if (options.gates) {
    // safe: the same tool call stops at the runtime's permission prompt; nothing is created.
    await until(fleet, 's1', (r) => r.activity === 'idle', 's1 idle', 90_000);
    await send(fleet, 's1', 'please touch-safe-now');
    const waiting = await until(fleet, 's1', (r) => r.activity === 'waiting', 's1 waiting on its permission prompt');
    expect(waiting.reason).toBe('permission');
    expect(waiting.mode).toBe('safe');
    expect(existsSync(safeFile)).toBe(false);
    fleet.tmux(['send-keys', '-t', '=s1:0.0', 'Escape']);
    await until(fleet, 's1', (r) => r.activity !== 'waiting', 's1 no longer waiting after Escape');
    expect(existsSync(safeFile)).toBe(false);
  }
  expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
}
