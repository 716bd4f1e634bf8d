import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandError } from '../core/errors.js';
import { runCommand } from '../system/runner.js';
import { waitFor } from '../system/wait.js';
import { throwawayTmux, type ThrowawayTmux } from '../../test/unit/tmux-server.js';
import { TmuxClient } from './client.js';
import { commandMessage, encodeMessage, identifyMessages, runOverSocket, socketPath } from './wire.js';

const uid = process.getuid?.() ?? 0;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-wire-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A throwaway tmux server (test/unit/tmux-server.ts) with one session, and a client that speaks the protocol to it. */
function world(): { env: NodeJS.ProcessEnv; socket: string; dir: string; binary: ThrowawayTmux['binary']; wired: TmuxClient } {
  const server = throwawayTmux('mw', { LANG: 'C' });
  cleanups.push(() => server.close());
  const { env, socket, dir, binary } = server;
  expect(binary(['new-session', '-d', '-s', 'holder', '-x', '80', '-y', '24', 'sleep 600']).status).toBe(0);
  // A binary that does not exist: every call that reaches the runner fails, so a passing call went over the wire.
  const wired = new TmuxClient({ socket, runner: runCommand, env, wire: true, binary: path.join(dir, 'no-tmux-here') });
  return { env, socket, dir, binary, wired };
}

/** A fake server on a unix socket: `reply` answers each chunk the client sends. */
async function fakeServer(reply: (socket: import('node:net').Socket, chunk: Buffer) => void): Promise<string> {
  const dir = tempDir();
  const file = path.join(dir, 'fake.sock');
  const server: Server = createServer((socket) => socket.on('data', (chunk) => reply(socket, chunk)));
  await new Promise<void>((resolve) => server.listen(file, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return file;
}

describe('tmux wire protocol: the messages', () => {
  it('encodes identify messages as the tmux 3.3a binary does with -u -L (bytes taken from strace)', () => {
    const [flags, longFlags, term, features, ttyName, cwd] = identifyMessages({}, '/tmp/prof', 1);
    expect(flags!.toString('hex')).toBe('640000001400000008000000ffffffff00000108');
    expect(longFlags!.toString('hex')).toBe('6f0000001800000008000000ffffffff0000010800000000');
    expect(term!.toString('hex')).toBe('650000001100000008000000ffffffff00');
    expect(features!.toString('hex')).toBe('6d0000001400000008000000ffffffff00000000');
    expect(ttyName!.toString('hex')).toBe('660000001100000008000000ffffffff00');
    expect(cwd!.toString('hex')).toBe(`6c0000001a00000008000000ffffffff${Buffer.from('/tmp/prof\0').toString('hex')}`);
  });

  it('packs a command as argc and NUL-terminated arguments, and refuses one that does not fit a message', () => {
    const message = commandMessage(['list-sessions', '-F', '#{session_name}', '-f', '#{==:#{session_name},a1}'])!;
    expect(message.toString('hex')).toBe(
      'c80000005100000008000000ffffffff05000000' +
        Buffer.from('list-sessions\0-F\0#{session_name}\0-f\0#{==:#{session_name},a1}\0').toString('hex'),
    );
    expect(commandMessage(['display-message', '-p', 'x'.repeat(16_400)])).toBeUndefined();
  });

  it('finds the socket where tmux puts it, and refuses a directory tmux would refuse', () => {
    const { env, socket, binary } = world();
    expect(socketPath(socket, env, uid)).toBe(String(binary(['display-message', '-p', '#{socket_path}']).stdout).trim());
    const unsafe = tempDir();
    mkdirSync(path.join(unsafe, `tmux-${uid}`));
    chmodSync(path.join(unsafe, `tmux-${uid}`), 0o777);
    expect(socketPath('x', { TMUX_TMPDIR: unsafe }, uid)).toBeUndefined();
    // No directory yet (tmux would make it, and start a server), or a relative one: the binary's job.
    expect(socketPath('x', { TMUX_TMPDIR: tempDir() }, uid)).toBeUndefined();
    expect(socketPath('x', { TMUX_TMPDIR: 'relative/dir' }, uid)).toBeUndefined();
  });
});

describe('tmux wire protocol against a real server', () => {
  it('gives what the binary gives: output, exit status and error text, hostile and non-ASCII arguments kept literal', async () => {
    const { binary, wired } = world();
    const hostile = `it's $HOME ; ~ "q" \\ {x} tab\there é 😀 end;`;
    for (const args of [
      ['display-message', '-p', hostile],
      ['list-sessions', '-F', '#{session_name}\t#{session_windows}'],
      ['has-session', '-t', '=nope'],
      ['display-message', '-p', '-t', '=holder:0.0', '#{pane_width}x#{pane_height}'],
      ['no-such-command'],
    ]) {
      const expected = binary(args);
      const actual = await wired.run(args, { allowFailure: true });
      expect({ args, status: actual.status, stdout: actual.stdout, stderr: actual.stderr }).toEqual({
        args,
        status: expected.status,
        stdout: expected.stdout,
        stderr: expected.stderr,
      });
    }
    await expect(wired.run(['has-session', '-t', '=nope'])).rejects.toThrow(CommandError);
    await expect(wired.run(['has-session', '-t', '=nope'])).rejects.toThrow(/can't find session: nope/);
  });

  it('feeds stdin to load-buffer in message-sized chunks and reads long output back whole', async () => {
    const { wired } = world();
    const body = `${'héllo wörld $(x) ; \\ \t'.repeat(3000)}\nend\0after-nul`; // ~75 KB: several messages each way
    await wired.run(['load-buffer', '-b', 'b1', '-'], { input: body });
    const shown = await wired.run(['show-buffer', '-b', 'b1']);
    expect(shown.stdout).toBe(body);
    // No input at all: an empty stdin, as the runner's closed pipe gives the binary.
    await wired.run(['load-buffer', '-b', 'b2', '-']);
    expect((await wired.run(['show-buffer', '-b', 'b2'], { allowFailure: true })).stdout).toBe('');
  });

  it('writes and reads files for the server as the binary does (save-buffer, load-buffer from a path)', async () => {
    const { wired, dir } = world();
    await wired.run(['set-buffer', '-b', 'b1', 'saved text']);
    const file = path.join(dir, 'saved.txt');
    await wired.run(['save-buffer', '-b', 'b1', file]);
    expect(readFileSync(file, 'utf8')).toBe('saved text');
    writeFileSync(path.join(dir, 'in.txt'), 'from a file');
    await wired.run(['load-buffer', '-b', 'b2', path.join(dir, 'in.txt')]);
    expect((await wired.run(['show-buffer', '-b', 'b2'])).stdout).toBe('from a file');
    const missing = await wired.run(['load-buffer', '-b', 'b3', path.join(dir, 'absent.txt')], { allowFailure: true });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/No such file or directory/);
  });

  it('creates sessions with the caller environment and working directory, as the binary would', async () => {
    const { wired, binary, dir } = world();
    const work = path.join(dir, 'work');
    mkdirSync(work);
    const client = new TmuxClient({
      socket: wired.socket,
      runner: runCommand,
      env: { ...process.env, TMUX_TMPDIR: dir, MOSAIC_WIRE_PROBE: 'probe value' },
      wire: true,
      binary: '/nonexistent/tmux',
    });
    await client.run(['new-session', '-d', '-s', 'made', '-e', 'EXTRA=1', 'sleep 600'], { cwd: work });
    expect(String(binary(['display-message', '-p', '-t', '=made:', '#{pane_current_path}']).stdout).trim()).toBe(work);
    expect(String(binary(['show-environment', '-t', '=made', 'EXTRA']).stdout).trim()).toBe('EXTRA=1');
  });

  it('leaves the call to the binary when no server runs: it starts one or reports it', async () => {
    const { wired, binary, env, socket } = world();
    binary(['kill-server']);
    // The server still takes connections while it exits (the binary then says "server exited unexpectedly").
    const gone = (): true | undefined =>
      /no server running|error connecting/.test(String(binary(['list-sessions']).stderr)) ? true : undefined;
    expect(await waitFor(gone, { timeoutMs: 10_000 })).toBe(true);
    // The wired client's binary does not exist, so the fallback shows as "not installed".
    await expect(wired.run(['list-sessions'])).rejects.toThrow(/tmux is not installed/);
    const real = new TmuxClient({ socket, runner: runCommand, env, wire: true });
    expect(await real.list('list-sessions', ['session_name'])).toEqual([]);
    await real.run(['new-session', '-d', '-s', 'again', 'sleep 600']);
    expect(await real.list('list-sessions', ['session_name'])).toEqual([['again']]);
  });
});

describe('listing a server that has no session yet', () => {
  it('is no pane (tmux answers list-panes -a with "no current target" there), over the wire and through the binary', async () => {
    const server = throwawayTmux('me', { LANG: 'C' });
    cleanups.push(() => server.close());
    const { env, socket, binary } = server;
    // What another start leaves for an instant: its start-server has run, its first new-session not yet.
    expect(binary(['start-server', ';', 'set-option', '-s', 'exit-empty', 'off']).status).toBe(0);
    expect(String(binary(['list-panes', '-a']).stderr).trim()).toBe('no current target');
    for (const wire of [true, false]) {
      const client = new TmuxClient({ socket, runner: runCommand, env, wire });
      expect(await client.list('list-panes', ['session_name', 'pane_id'])).toEqual([]);
      expect(await client.list('list-sessions', ['session_name'])).toEqual([]);
    }
  });
});

describe('tmux wire protocol against a server that misbehaves', () => {
  const options = { timeoutMs: 5_000, env: {} };

  it('leaves the call to the binary on another protocol version, a stale socket or a missing one', async () => {
    const other = await fakeServer((socket) => socket.end(encodeMessage(12)));
    expect(await runOverSocket(other, ['tmux'], ['list-sessions'], options)).toBeUndefined();
    const stale = path.join(tempDir(), 'stale.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(stale, resolve));
    server.close(); // node unlinks it; recreate the file without a listener
    writeFileSync(stale, '');
    expect(await runOverSocket(stale, ['tmux'], ['list-sessions'], options)).toBeUndefined();
    expect(await runOverSocket(path.join(tempDir(), 'absent'), ['tmux'], ['list-sessions'], options)).toBeUndefined();
  });

  it('reports a server that goes away mid-command as the binary does, and a silent one as a timeout', async () => {
    const gone = await fakeServer((socket, chunk) => {
      if (chunk.includes(Buffer.from('list-sessions\0'))) socket.destroy();
    });
    const lost = await runOverSocket(gone, ['tmux', 'list-sessions'], ['list-sessions'], options);
    expect(lost).toMatchObject({ status: 1, stderr: 'server exited unexpectedly\n', argv: ['tmux', 'list-sessions'] });
    const silent = await fakeServer(() => undefined);
    const timedOut = await runOverSocket(silent, ['tmux'], ['list-sessions'], { ...options, timeoutMs: 200 });
    expect(timedOut?.status).toBeNull();
    expect(timedOut?.stderr).toMatch(/timed out after 0.2 s/);
  });

  it('ends the call on a message shorter than its type needs, instead of throwing', async () => {
    for (const type of [303, 304]) {
      const broken = await fakeServer((socket) => socket.write(encodeMessage(type, Buffer.alloc(2))));
      const result = await runOverSocket(broken, ['tmux'], ['list-sessions'], options);
      expect(result).toMatchObject({ status: 1, stderr: 'mosaic could not read a message from tmux\n' });
    }
  });
});
