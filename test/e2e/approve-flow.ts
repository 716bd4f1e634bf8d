import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { FakeModel } from '../fake-model/server.mjs';
import { createFleet, eventually, type TestFleet } from './harness.js';
import { fakeModel, runtimeSection, startOneRuntimeAgent } from './runtime-fixtures.js';

export type Answerable = 'claude' | 'codex' | 'opencode';

interface PendingJson {
  agent: string;
  runtime: string;
  id: string | null;
  tool: string | null;
  summary: string | null;
  answer: 'mosaic' | 'pane';
}
interface StatusJson {
  activity: string;
}

const PROBE = 'mosaic-permission-probe';
const screenOf = async (fleet: TestFleet): Promise<string> => (await fleet.mosaic(['agent', 'tail', 'r1', '-n', '40'])).stdout;
const toolDones = (model: FakeModel): number => model.requests.filter((r) => r.reply === 'tool_done').length;

/** What the model was asked last, for a timeout's message: when, and what it replied. */
const lastRequests = (model: FakeModel): string =>
  model.requests
    .slice(-6)
    .map((r) => `${r.ts} ${r.status} ${r.reply ?? '-'} ${JSON.stringify(r.lastUserText)}`)
    .join('\n');

/** Poll with a deadline; on timeout the error carries the agent's screen and the model's last requests. */
async function until<T>(
  fleet: TestFleet,
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
  what: string,
  model?: FakeModel,
): Promise<T> {
  try {
    return await eventually(probe, ms, what);
  } catch (error) {
    const asked = model ? `; at ${new Date().toISOString()} the model's last requests:\n${lastRequests(model)}` : '';
    throw new Error(`${(error as Error).message}${asked}; screen:\n${await screenOf(fleet)}`);
  }
}

async function send(fleet: TestFleet, text: string): Promise<void> {
  const sent = await fleet.mosaic(['agent', 'send', 'r1', '--verify', '--verify-timeout', '60000', '--json', '-m', text]);
  const status = (JSON.parse(sent.stdout || '{}') as { status?: string }).status;
  expect(status, `${sent.stdout}\n${sent.stderr}\n${status === 'accepted' ? '' : await screenOf(fleet)}`).toBe('accepted');
}

const idle = (fleet: TestFleet, ms = 30_000): Promise<true> =>
  until(fleet, async () => ((await fleet.json<StatusJson>(['agent', 'status', 'r1'])).activity === 'idle' ? true : undefined), ms, 'idle');

/** The request as `mosaic fleet pending` lists it, answerable through mosaic. */
const openRequest = (fleet: TestFleet, model: FakeModel, not?: string): Promise<PendingJson> =>
  until(
    fleet,
    async () =>
      (await fleet.json<PendingJson[]>(['fleet', 'pending'])).find(
        (r) => r.agent === 'r1' && r.answer === 'mosaic' && r.id !== null && r.id !== not,
      ),
    60_000, // the runtime's turn: a loaded 2-core box once took over 30 s
    'a permission request in `mosaic fleet pending`',
    model,
  );

/**
 * A real runtime in safe mode, offline against the fake model, on real tmux: the fake model asks
 * for `touch mosaic-permission-probe`; the runtime's hook (claude, codex) or plugin (opencode)
 * files the request; `mosaic agent deny` refuses it (the file never appears, the turn goes on to
 * the model's "tool done" reply), then `mosaic agent approve` allows the next one (the file
 * appears, the turn ends the same way). Nothing is ever typed into the pane after the prompts.
 */
export async function approvalFlow(runtime: Answerable): Promise<void> {
  const { model, fleet } = await startOneRuntimeAgent(runtime);
  const workdir = path.join(fleet.home, 'work');
  const pendingDir = path.join(fleet.home, 'run', 'pending', 'r1');
  const probe = path.join(workdir, PROBE);
  await idle(fleet, 120_000); // codex boots its tools first

  // 1. Denied: the runtime hears "no" with the operator's reason and finishes its turn without the file.
  await send(fleet, 'please ask permission');
  const first = await openRequest(fleet, model);
  expect(first.runtime).toBe(runtime);
  expect(first.summary).toContain(`touch ${PROBE}`);
  // Private, like everything mosaic keeps: the directory 0700, the request 0600.
  expect(statSync(path.join(pendingDir, `${first.id}.json`)).mode & 0o777).toBe(0o600);
  expect(statSync(pendingDir).mode & 0o777).toBe(0o700);
  expect(statSync(path.dirname(pendingDir)).mode & 0o777).toBe(0o700);
  const denied = await fleet.mosaic(['agent', 'deny', 'r1', first.id!, '-m', 'not in this test', '--json']);
  expect(denied.status, `${denied.stdout}\n${denied.stderr}`).toBe(0);
  expect(JSON.parse(denied.stdout)).toMatchObject({ agent: 'r1', decision: 'deny', delivered: true });
  await until(fleet, () => (toolDones(model) >= 1 ? true : undefined), 30_000, "the model's reply after the denied tool", model);
  await idle(fleet);
  expect(existsSync(probe), 'the denied command ran').toBe(false);
  expect(readdirSync(pendingDir)).toEqual([]);

  // 2. Approved: the command runs, the turn goes on to the model's reply.
  await send(fleet, 'please ask permission again');
  const second = await openRequest(fleet, model, first.id!);
  const approved = await fleet.mosaic(['agent', 'approve', 'r1', second.id!, '--json']);
  expect(approved.status, `${approved.stdout}\n${approved.stderr}`).toBe(0);
  expect(JSON.parse(approved.stdout)).toMatchObject({ agent: 'r1', decision: 'allow', delivered: true });
  await until(fleet, () => (existsSync(probe) ? true : undefined), 30_000, `${PROBE} in the working directory`);
  await until(fleet, () => (toolDones(model) >= 2 ? true : undefined), 30_000, "the model's reply after the approved tool", model);
  await idle(fleet);
  expect(await screenOf(fleet)).toContain('FAKE-OK: tool done');
  expect(readdirSync(pendingDir)).toEqual([]);
  expect((await fleet.json<PendingJson[]>(['fleet', 'pending'])).filter((r) => r.agent === 'r1')).toEqual([]);

  // 3. Answered in the pane instead (claude shows its prompt while the hook waits; opencode's TUI
  // always does; codex shows none until its hook returns): the request goes away by itself.
  const prompt = PANE_PROMPT[runtime];
  if (prompt) {
    await send(fleet, 'please ask permission in the pane');
    const third = await openRequest(fleet, model, second.id!);
    const request = JSON.parse(readFileSync(path.join(pendingDir, `${third.id}.json`), 'utf8')) as { pid: number };
    await until(fleet, async () => ((await screenOf(fleet)).includes(prompt) ? true : undefined), 30_000, 'the prompt in the pane');
    fleet.tmux(['send-keys', '-t', '=r1:0.0', 'Enter']); // the highlighted choice: allow once
    await until(fleet, () => (readdirSync(pendingDir).length === 0 ? true : undefined), 15_000, 'the request to go');
    if (runtime === 'claude') await until(fleet, () => (isAlive(request.pid) ? undefined : true), 15_000, 'the waiting hook to end');
    await until(fleet, () => (toolDones(model) >= 3 ? true : undefined), 30_000, "the model's reply after the pane's answer", model);
    await idle(fleet);
  }

  expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
}

/** What each runtime's own permission prompt shows while mosaic's request is open. */
const PANE_PROMPT: Record<Answerable, string | undefined> = {
  claude: 'Do you want to proceed?',
  codex: undefined,
  opencode: 'Permission required',
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * codex asks the hook before it shows its own prompt: when nobody answers through mosaic within
 * the agent's approval timeout, the request goes and codex's prompt appears in the pane.
 */
export async function timeoutFlow(): Promise<void> {
  const model = await fakeModel();
  const fleet = createFleet();
  fleet.writeRoster(
    `version: 1\ntransport: tmux\ntmux:\n  socket_name: ${fleet.socket}\nheartbeat:\n  interval_seconds: 2\n` +
      `defaults:\n  working_directory: work\nruntimes:\n${runtimeSection('codex', model, fleet.dir)}` +
      `agents:\n  - {name: r1, runtime: codex, approval_timeout_seconds: 3}\n`,
  );
  const started = await fleet.mosaic(['fleet', 'start']);
  expect(started.status, started.stderr).toBe(0);
  const pendingDir = path.join(fleet.home, 'run', 'pending', 'r1');
  await idle(fleet, 120_000);
  await send(fleet, 'please ask permission');
  await until(
    fleet,
    () => (existsSync(pendingDir) && readdirSync(pendingDir).some((f) => f.endsWith('.json')) ? true : undefined),
    30_000,
    'the request',
  );
  await until(fleet, () => (readdirSync(pendingDir).length === 0 ? true : undefined), 15_000, 'the request to time out');
  await until(
    fleet,
    async () => ((await screenOf(fleet)).includes('Would you like to run') ? true : undefined),
    15_000,
    "codex's own prompt",
  );
  expect(existsSync(path.join(fleet.home, 'work', PROBE))).toBe(false);
  expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
}
