import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockFile } from '../system/lock.js';
import { runCommand } from '../system/runner.js';
import { waitFor } from '../system/wait.js';
import { TmuxClient } from '../tmux/client.js';
import { quoteControlArgument, TmuxControlClient } from './control-client.js';
import { throwawayTmux } from '../../test/unit/tmux-server.js';

/** A throwaway tmux server (test/unit/tmux-server.ts), killed after each test. */
function world(): { tmux: TmuxClient; cli: (args: string[]) => string } {
  const server = throwawayTmux('mc');
  cleanups.push(() => server.close());
  const tmux = new TmuxClient({ socket: server.socket, runner: runCommand, env: server.env });
  return { tmux, cli: (args) => server.binary(args).stdout };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('quoteControlArgument', () => {
  it('single-quotes every argument and refuses newlines', () => {
    expect(quoteControlArgument("it's")).toBe(`'it'\\''s'`);
    expect(() => quoteControlArgument('a\nb')).toThrow(/newline/);
  });
});

describe('TmuxControlClient (real tmux)', () => {
  it('runs commands in order, keeps hostile arguments literal, and reports errors', async () => {
    const { tmux, cli } = world();
    cli(['new-session', '-d', '-s', 'holder', '-x', '80', '-y', '24', 'sleep 60']);
    const client = new TmuxControlClient(tmux, async () => 'holder');
    try {
      const hostile = `it's $HOME ; ~ "q" \\ {x} end;`;
      const [echo, missing, name] = await Promise.all([
        client.run(['display-message', '-p', hostile]),
        client.run(['has-session', '-t', '=nope']),
        client.run(['display-message', '-p', '-t', '=holder:', '#{session_name}']),
      ]);
      expect(echo).toEqual({ ok: true, lines: [hostile] });
      expect(missing.ok).toBe(false);
      expect(missing.lines.join(' ')).toMatch(/can't find session/);
      expect(name).toEqual({ ok: true, lines: ['holder'] });
      expect(client.spawned).toBe(1);
      // A control client, read-only and ignore-size: tmux leaves it out of window sizing.
      expect(cli(['list-clients', '-F', '#{client_control_mode} #{client_readonly}']).trim()).toBe('1 1');
    } finally {
      client.close();
    }
  });

  it('connects again to another session after its session ended, and never to none', async () => {
    const { tmux, cli } = world();
    cli(['new-session', '-d', '-s', 'first', 'sleep 60']);
    cli(['new-session', '-d', '-s', 'second', 'sleep 60']);
    let target = 'first';
    const client = new TmuxControlClient(tmux, async () => target);
    try {
      expect((await client.run(['display-message', '-p', 'one'])).lines).toEqual(['one']);
      cli(['kill-session', '-t', '=first']);
      target = 'second';
      // The client notices its session is gone (tmux drops it); the next command reconnects.
      const reply = await waitFor(async () => (await client.run(['display-message', '-p', 'two']).catch(() => undefined)) ?? undefined, {
        timeoutMs: 5000,
        intervalMs: 50,
      });
      expect(reply?.lines).toEqual(['two']);
      expect(client.spawned).toBe(2);
      const none = new TmuxControlClient(tmux, async () => undefined);
      await expect(none.run(['display-message', '-p', 'x'])).rejects.toThrow(/no tmux session/);
      none.close();
    } finally {
      client.close();
    }
  });

  it('one control client per socket across clients sharing a slot dir: the other runs plain tmux calls until the slot is free', async () => {
    const { tmux, cli } = world();
    cli(['new-session', '-d', '-s', 'holder', 'sleep 60']);
    const slotDir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-control-slot-'));
    cleanups.push(() => rmSync(slotDir, { recursive: true, force: true }));
    const first = new TmuxControlClient(tmux, async () => 'holder', { slotDir });
    const second = new TmuxControlClient(tmux, async () => 'holder', { slotDir, slotRetryMs: 50 });
    const controlClients = (): number =>
      cli(['list-clients', '-F', '#{client_control_mode}'])
        .split('\n')
        .filter((line) => line === '1').length;
    try {
      // Both at once: exactly one of them attaches.
      const [a, b] = await Promise.all([first.run(['display-message', '-p', 'one']), second.run(['display-message', '-p', 'one'])]);
      expect([a, b]).toEqual([
        { ok: true, lines: ['one'] },
        { ok: true, lines: ['one'] },
      ]);
      expect(controlClients()).toBe(1);
      expect(await first.holdsSlot()).toBe(true);
      expect(await second.holdsSlot()).toBe(false);
      // Without the slot, errors come back as replies too.
      const missing = await second.run(['has-session', '-t', '=nope']);
      expect(missing.ok).toBe(false);
      expect(missing.lines.join(' ')).toMatch(/can't find session/);
      expect(second.spawned).toBe(2);
      expect(controlClients()).toBe(1);
      // The first one leaves: the second takes the slot on a later call, and attaches.
      first.close();
      await waitFor(async () => (controlClients() === 0 ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
      await waitFor(async () => ((await second.holdsSlot()) ? true : undefined), { timeoutMs: 5000, intervalMs: 60 });
      expect((await second.run(['display-message', '-p', 'two'])).lines).toEqual(['two']);
      expect(controlClients()).toBe(1);
    } finally {
      first.close();
      second.close();
    }
    // Nothing left behind: the slot's lock file went with the last client.
    await waitFor(async () => (readdirSync(slotDir).length === 0 ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
  });

  it('a slot left by a killed process is taken over', async () => {
    const { tmux, cli } = world();
    cli(['new-session', '-d', '-s', 'holder', 'sleep 60']);
    const slotDir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-control-slot-'));
    cleanups.push(() => rmSync(slotDir, { recursive: true, force: true }));
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim(); // a pid that has exited
    writeFileSync(lockFile(slotDir, tmux.socket, 'control'), `${dead} 1 stale\n`);
    const client = new TmuxControlClient(tmux, async () => 'holder', { slotDir });
    try {
      expect((await client.run(['display-message', '-p', 'ok'])).lines).toEqual(['ok']);
      expect(await client.holdsSlot()).toBe(true);
      expect(readFileSync(lockFile(slotDir, tmux.socket, 'control'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    } finally {
      client.close();
    }
  });
});
