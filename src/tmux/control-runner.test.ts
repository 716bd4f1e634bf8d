import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandError } from '../core/errors.js';
import { runCommand, type CommandRunner } from '../system/runner.js';
import { waitFor } from '../system/wait.js';
import { joinCommands, TmuxClient } from './client.js';
import { controlRunner, splitCommands } from './control-runner.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A throwaway tmux server (own TMUX_TMPDIR, unique socket) with a holder and one pane, killed after each test. */
function world() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-control-runner-'));
  const scratch = path.join(dir, 'run');
  mkdirSync(scratch);
  const env: NodeJS.ProcessEnv = { ...process.env, TMUX_TMPDIR: dir };
  delete env.TMUX;
  const socket = `mcr-${process.pid}-${randomBytes(3).toString('hex')}`;
  const spawned: string[][] = [];
  const counting: CommandRunner = (argv, options) => {
    spawned.push([...argv]);
    return runCommand(argv, options);
  };
  const base = new TmuxClient({ socket, runner: counting, env });
  const cli = (args: string[]) => spawnSync('tmux', ['-u', '-L', socket, '-f', '/dev/null', ...args], { env, encoding: 'utf8' });
  cli(['new-session', '-d', '-s', 'holder', 'sleep 600']);
  cli(['new-session', '-d', '-s', 'a1', '-x', '80', '-y', '24', 'cat']);
  cleanups.push(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server'], { env, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });
  return { base, cli, spawned, scratch, dir };
}

describe('splitCommands', () => {
  it('undoes joinCommands, including the escape of a trailing ";"', () => {
    const commands = [
      ['display-message', '-p', 'ends with;'],
      ['capture-pane', '-p', '-t', '=a1:0.0'],
    ];
    expect(splitCommands(joinCommands(commands))).toEqual(commands);
  });
});

describe('controlRunner (real tmux)', () => {
  it('runs many calls on one attached client, with the same output a spawned tmux gives, and detaches at close', async () => {
    const { base, cli, spawned, scratch } = world();
    const control = controlRunner(base, 'holder', scratch);
    const calls = [
      ['display-message', '-p', '-t', '=a1:0.0', '#{pane_width} #{pane_height}', ';', 'capture-pane', '-p', '-t', '=a1:0.0'],
      ['list-sessions', '-F', '#{session_name}'],
    ];
    for (const args of calls) {
      const viaControl = await control.tmux.run(args);
      const viaSpawn = await base.run(args);
      expect(viaControl.status).toBe(0);
      expect(viaControl.stdout).toBe(viaSpawn.stdout);
    }
    // One process for the control client; the runner spawned only the comparison calls.
    expect(control.clientsStarted()).toBe(1);
    expect(spawned).toHaveLength(calls.length);
    expect(cli(['list-clients', '-F', '#{client_control_mode} #{client_readonly}']).stdout.trim()).toBe('1 0');
    control.close();
    await waitFor(async () => cli(['list-clients']).stdout.trim() === '' || undefined, { timeoutMs: 5000, intervalMs: 20 });
  });

  it('loads stdin for load-buffer byte for byte from a private file it removes, never through the parser', async () => {
    const { base, cli, spawned, scratch, dir } = world();
    const control = controlRunner(base, 'holder', scratch);
    const hostile = `it's $HOME ; ~ "q" \\ #{pane_id} end;\nline two\r\n\u001b[31mred\u001b[0m ünïcode 🙂\n'`;
    try {
      await control.tmux.run(['load-buffer', '-b', 'probe', '-'], { input: hostile });
      const saved = path.join(dir, 'saved');
      cli(['save-buffer', '-b', 'probe', saved]);
      expect(readFileSync(saved, 'utf8')).toBe(hostile);
      expect(readdirSync(scratch)).toEqual([]);
      expect(spawned).toHaveLength(0); // it went through the control client
    } finally {
      control.close();
    }
  });

  it('stops a command list at the first failure, as a spawned tmux does, and throws unless failure is allowed', async () => {
    const { base, cli, spawned, scratch } = world();
    const control = controlRunner(base, 'holder', scratch);
    try {
      const args = ['capture-pane', '-p', '-t', '=gone:0.0', ';', 'set-buffer', '-b', 'after', 'x'];
      const result = await control.tmux.run(args, { allowFailure: true });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/can't find session: gone/);
      expect(cli(['show-buffer', '-b', 'after']).status).not.toBe(0); // the command after the failure never ran
      await expect(control.tmux.run(['send-keys', '-t', '=gone:0.0', 'Enter'])).rejects.toBeInstanceOf(CommandError);
      expect(spawned).toHaveLength(0);
    } finally {
      control.close();
    }
  });

  it('spawns tmux per call, running each command once, when the control client cannot attach', async () => {
    const { base, cli, spawned, scratch } = world();
    const control = controlRunner(base, 'no-such-holder', scratch);
    try {
      for (const name of ['first', 'second']) {
        const result = await control.tmux.run(['set-buffer', '-a', '-b', 'log', `${name} `]);
        expect(result.status).toBe(0);
      }
      expect(cli(['show-buffer', '-b', 'log']).stdout).toBe('first second ');
      // One failed attach, then plain calls; the failed attach is not tried again.
      expect(control.clientsStarted()).toBe(1);
      expect(spawned).toHaveLength(2);
    } finally {
      control.close();
    }
  });
});
