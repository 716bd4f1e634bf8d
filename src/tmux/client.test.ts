import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand, type CommandRunner, type RunResult } from '../system/runner.js';
import { chunkCommands, escapeArgument, isSupportedVersion, joinCommands, MAX_BATCH_BYTES, parseRows, TmuxClient } from './client.js';

function recordingRunner(stdout = ''): { runner: CommandRunner; calls: { argv: readonly string[]; env?: NodeJS.ProcessEnv }[] } {
  const calls: { argv: readonly string[]; env?: NodeJS.ProcessEnv }[] = [];
  const runner: CommandRunner = async (argv, options) => {
    calls.push({ argv, env: options?.env });
    return { argv, status: 0, signal: null, stdout, stderr: '', durationMs: 1 } satisfies RunResult;
  };
  return { runner, calls };
}

describe('TmuxClient', () => {
  it('puts -u, -L <socket> and -f /dev/null on every call and never passes $TMUX on', async () => {
    const { runner, calls } = recordingRunner();
    const tmux = new TmuxClient({ socket: 'fleet-1', runner, env: { TMUX: '/tmp/tmux-0/default,1,0', TMUX_PANE: '%1', PATH: '/bin' } });
    await tmux.run(['list-sessions']);
    await tmux.batch([
      ['kill-session', '-t', '=a'],
      ['kill-session', '-t', '=b'],
    ]);
    await tmux.list('list-panes', ['pane_id']);
    for (const call of calls) {
      expect(call.argv.slice(0, 6)).toEqual(['tmux', '-u', '-L', 'fleet-1', '-f', '/dev/null']);
      expect(call.env?.TMUX).toBeUndefined();
      expect(call.env?.TMUX_PANE).toBeUndefined();
      expect(call.env?.PATH).toBe('/bin');
    }
    expect(calls[1]!.argv.slice(6)).toEqual(['kill-session', '-t', '=a', ';', 'kill-session', '-t', '=b']);
  });

  it('withoutServerStart: every call carries -N, and a real new-session with no server running starts none', async () => {
    const { runner, calls } = recordingRunner();
    await new TmuxClient({ socket: 'fleet-1', runner, env: {} }).withoutServerStart().run(['new-session', '-d', '-s', 'a']);
    expect(calls[0]!.argv.slice(0, 7)).toEqual(['tmux', '-u', '-N', '-L', 'fleet-1', '-f', '/dev/null']);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-tmux-n-'));
    const socket = `mosaic-n-${process.pid}`;
    const env = { ...process.env, TMUX_TMPDIR: dir };
    const plain = new TmuxClient({ socket, runner: runCommand, env, wire: true });
    try {
      await expect(plain.withoutServerStart().run(['new-session', '-d', '-s', 'a'])).rejects.toThrow(/error connecting|no server running/);
      expect(existsSync(path.join(dir, `tmux-${process.getuid?.() ?? 0}`, socket))).toBe(false);
      // With a server running, the same client works (over the wire, or the binary with -N).
      await plain.run(['new-session', '-d', '-s', 'a']);
      await plain.withoutServerStart().run(['new-session', '-d', '-s', 'b']);
      expect((await plain.run(['list-sessions', '-F', '#{session_name}'])).stdout.split('\n').filter(Boolean).sort()).toEqual(['a', 'b']);
    } finally {
      await plain.run(['kill-server'], { allowFailure: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists nothing without starting tmux when no socket of ours exists; a stale socket file is the binary's to judge", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-tmux-none-'));
    const uid = process.getuid?.() ?? 0;
    const tmuxDir = path.join(dir, `tmux-${uid}`);
    mkdirSync(tmuxDir, { mode: 0o700 });
    const { runner, calls } = recordingRunner();
    const tmux = new TmuxClient({ socket: 'fleet-none', runner, env: { TMUX_TMPDIR: dir }, wire: true });
    try {
      expect(await tmux.list('list-panes', ['pane_id'])).toEqual([]);
      expect(calls).toEqual([]);
      // A file under the name (a server that died without removing it): not ours to call "no server".
      writeFileSync(path.join(tmuxDir, 'fleet-none'), '');
      await tmux.list('list-panes', ['pane_id']);
      expect(calls).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses socket names that could be paths or options', () => {
    const { runner } = recordingRunner();
    for (const socket of ['', '../x', '-S', 'a b', 'a/b']) {
      expect(() => new TmuxClient({ socket, runner, env: {} })).toThrow(/invalid tmux socket name/);
    }
  });

  it('parses -F rows with the last field keeping its tabs', async () => {
    expect(parseRows('a\t1\tcmd with\ttab\nb\t2\t\n', 3)).toEqual([
      ['a', '1', 'cmd with\ttab'],
      ['b', '2', ''],
    ]);
    const { runner } = recordingRunner('s1\t%1\n');
    const tmux = new TmuxClient({ socket: 's', runner, env: {} });
    expect(await tmux.list('list-panes', ['session_name', 'pane_id'])).toEqual([['s1', '%1']]);
  });
});

describe('batching', () => {
  it('keeps literal ";" at the end of an argument out of tmux\'s separator syntax', () => {
    expect(escapeArgument('echo hi;')).toBe('echo hi\\;');
    expect(escapeArgument('plain')).toBe('plain');
    expect(joinCommands([['a', 'x;'], ['b']])).toEqual(['a', 'x\\;', ';', 'b']);
  });

  it('chunks by size under the client message limit, with at least 50 typical creations per chunk', () => {
    const create = (i: number): string[] => [
      'new-session', '-d', '-s', `agent-${i}`, '-x', '200', '-y', '50', '-c', `/home/user/src/project-${i}`,
      '--', 'sh', '/usr/lib/node_modules/mosaic-fleet/framework/bin/mosaic-launch', `/home/user/.config/mosaic/fleet/run/agent-${i}.launch`,
    ]; // prettier-ignore
    const commands = Array.from({ length: 500 }, (_, i) => [
      create(i),
      ['set-option', '-t', `=agent-${i}:`, '@mosaic_agent', `agent-${i}`],
    ]).flat();
    const chunks = chunkCommands(commands);
    expect(chunks.flat()).toEqual(commands);
    for (const chunk of chunks) {
      const bytes = joinCommands(chunk).reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
      expect(bytes).toBeLessThanOrEqual(MAX_BATCH_BYTES + 100);
    }
    const creationsPerChunk = chunks.slice(0, -1).map((chunk) => chunk.filter((c) => c[0] === 'new-session').length);
    expect(Math.min(...creationsPerChunk)).toBeGreaterThanOrEqual(50);
  });

  it('caps the commands per chunk when asked, keeping their order (a stop of 2,000 sessions)', () => {
    const kills = Array.from({ length: 250 }, (_, i) => ['kill-session', '-t', `=a${i}`]);
    const chunks = chunkCommands(kills, MAX_BATCH_BYTES, 100);
    expect(chunks.map((chunk) => chunk.length)).toEqual([100, 100, 50]);
    expect(chunks.flat()).toEqual(kills);
  });
});

describe('version check', () => {
  it('accepts 3.2 and newer, rejects older', () => {
    expect(isSupportedVersion('tmux 3.3a')).toBe(true);
    expect(isSupportedVersion('tmux 3.2')).toBe(true);
    expect(isSupportedVersion('tmux 4.0')).toBe(true);
    expect(isSupportedVersion('tmux next-3.6')).toBe(true);
    expect(isSupportedVersion('tmux 3.1c')).toBe(false);
    expect(isSupportedVersion('tmux 2.9')).toBe(false);
  });
});
