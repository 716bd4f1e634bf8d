import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSpec, Roster } from '../roster/model.js';
import { DEFAULT_RESTART_POLICY } from '../roster/model.js';
import { freshRunState, writeRunState } from '../supervisor/state.js';
import type { CommandRunner } from '../system/runner.js';
import { TmuxClient } from '../tmux/client.js';
import { sendToAgent, type SendContext } from './send.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * An agent whose pane runs the respawn that sleeps out its crash backoff: its screen shows the launcher's
 * notice, no prompt, for as long as the backoff lasts. tmux is scripted (the real case is in
 * test/e2e/watch.test.ts); what matters here is when the send gives up.
 */
function world() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-send-unit-'));
  dirs.push(dir);
  const paths = { runDir: path.join(dir, 'run'), logsDir: path.join(dir, 'logs') };
  mkdirSync(paths.runDir);
  mkdirSync(paths.logsDir);
  const calls: string[][] = [];
  const runner: CommandRunner = async (argv) => {
    calls.push([...argv]);
    // Each screen capture asks for `<marker> <pane facts>`: a live pane (the launcher's sleep) marked as the agent.
    const marker = argv.find((arg) => arg.startsWith('@@mosaic-screen-'))?.split(' ')[0];
    const stdout = marker ? `${marker} 0 0 1 80 24 0 a\nmosaic: a exited (status 3); restart 1 in 60.000s\n` : '';
    return { argv: [...argv], status: 0, signal: null, stdout, stderr: '', durationMs: 1 };
  };
  const tmux = new TmuxClient({ socket: 'unit', runner, env: {}, wire: false });
  const ctx = {
    roster: { tenantId: 't' } as Roster,
    paths,
    tmux,
    host: { identity: { host: 'here' } },
  } as unknown as SendContext;
  const agent = { name: 'a', session: 'a', runtime: 'stub' } as AgentSpec;
  return { ctx, agent, paths, calls };
}

describe('sendToAgent', () => {
  it('refuses an agent waiting for its restart at the first look, without waiting for a prompt', async () => {
    const { ctx, agent, paths, calls } = world();
    await writeRunState(paths.runDir, {
      ...freshRunState('a', 'a', DEFAULT_RESTART_POLICY),
      restarts: 1,
      lastExitStatus: 3,
      nextStartAt: Date.now() + 60_000,
    });
    const sleeps: number[] = [];
    let now = 0;
    const clock = { now: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)) };
    await expect(
      sendToAgent(ctx, agent, { body: 'hello', source: 'operator', preamble: false, verify: true, clock, timeoutMs: 6000 }),
    ).rejects.toThrow(
      /agent "a" is not running \(its process has exited with status 3; the supervisor restarts it in (59|60) s\); nothing was sent/,
    );
    // One capture, no wait, nothing typed.
    expect(calls.filter((argv) => argv.includes('capture-pane'))).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(calls.some((argv) => argv.includes('paste-buffer') || argv.includes('send-keys'))).toBe(false);
  });

  it('without a restart to come, a pane that never shows a prompt is unverifiable, as before', async () => {
    const { ctx, agent, calls } = world();
    let now = 0;
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const result = await sendToAgent(ctx, agent, {
      body: 'hello',
      source: 'operator',
      preamble: false,
      verify: true,
      clock,
      timeoutMs: 6000,
    });
    expect(result.status).toBe('unverifiable');
    expect(result.detail).toMatch(/nothing was sent: the agent is not ready for input/);
    expect(calls.filter((argv) => argv.includes('capture-pane')).length).toBeGreaterThan(1);
  });
});
