import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeModel } from '../fake-model/server.mjs';
import { activityBecomes, createFleet, readSendTrace, roster, type TestFleet } from './harness.js';
import { runtimeSection, type RealRuntime } from './runtime-fixtures.js';

/**
 * `agent send --verify` against the real runtimes (pinned; see scripts/install-test-runtimes.mjs), offline against
 * the fake model server: the model must receive exactly the message the verdict was about.
 */
type Runtime = RealRuntime;

interface SendResult {
  status: string;
  detail: string;
  send_id: string;
}

async function send(fleet: TestFleet, message: string, timeoutMs: number): Promise<SendResult & { trace: string }> {
  const traceFile = join(fleet.dir, `send-trace-${sends++}.jsonl`);
  const run = await fleet.mosaic(['agent', 'send', 'r0', '--verify', '--verify-timeout', String(timeoutMs), '--json', '-m', message], {
    env: { ...fleet.env, MOSAIC_SEND_TRACE: traceFile },
  });
  expect(run.stdout, run.stderr).not.toBe('');
  return { ...(JSON.parse(run.stdout) as SendResult), trace: readTrace(traceFile) };
}
let sends = 0;

/** The send's steps, with the screens it judged (an observation only when it changed): what a wrong verdict saw. */
function readTrace(file: string): string {
  if (!existsSync(file)) return '(no trace)';
  let previous = '';
  const shown: string[] = [];
  for (const step of readSendTrace(file)) {
    const said = `${step.step} ${step.detail ?? ''} ${JSON.stringify(step.observation ?? step.reportedBusy ?? '')}`;
    const screen = (step.screen ?? []).filter((row) => row.trim() !== '').join('\n');
    if (step.step === 'observe' && `${said}${screen}` === previous) continue;
    previous = `${said}${screen}`;
    shown.push(`${step.atMs} ms ${said}${screen ? `\n${screen}` : ''}`);
  }
  return shown.join('\n');
}

describe.each<Runtime>(['pi', 'claude', 'codex', 'opencode'])('agent send to the real %s TUI (fake model)', (runtime) => {
  it('accepted; a message sent during a busy turn is queued; the model gets both, exactly', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const model = await startFakeModel({ rules: [{ match: 'hold the line', name: 'hold', holdUntil: held }] });
    onTestFinished(async () => {
      release();
      await model.close();
    });
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        `runtimes:\n${runtimeSection(runtime, model, fleet.dir, { approvals: false })}agents:\n  - name: r0\n    runtime: ${runtime}\n    working_directory: work\n`,
      ),
    );
    const started = await fleet.mosaic(['fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);

    // A runtime busy with its own start-up rightly queues a message: wait until it shows idle.
    await activityBecomes(fleet, 'r0', 'idle', 120_000);
    const first = await send(fleet, 'please hold the line', 120_000);
    expect(first.status, `${first.detail}\n${first.trace}`).toBe('accepted');
    const turn = await model.waitForRequest((entry) => !entry.isTitle && entry.lastUserText.includes(`#${first.send_id}]`), 30_000);
    expect(turn.lastUserText).toContain(`-> r0 #${first.send_id}] please hold the line`);

    // The model holds its reply: the runtime is busy, and queues what we send now. Busy as mosaic sees it:
    // under load a TUI can take a while to draw its turn, and until it does the screen cannot say "queued".
    await activityBecomes(fleet, 'r0', 'busy', 30_000);
    const second = await send(fleet, 'second message, after the turn', 20_000);
    expect(second.status, `${second.detail}\n${second.trace}`).toBe('queued');
    release();
    const next = await model.waitForRequest((entry) => !entry.isTitle && entry.lastUserText.includes(`#${second.send_id}]`), 30_000);
    expect(next.lastUserText).toContain('second message, after the turn');
  }, 240_000);
});
