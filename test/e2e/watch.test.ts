import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CLI, createFleet, eventually, roster, type CliResult, type TestFleet } from './harness.js';

/**
 * A real terminal for a viewer: a pane of a second, throwaway tmux server (own socket in the
 * test's TMUX_TMPDIR, killed in a finaliser). Keys sent to that pane are what a person would
 * type into the viewer's terminal; its size is the viewer's terminal size.
 */
function terminal(fleet: TestFleet) {
  const socket = `${fleet.socket}-term`;
  const run = (args: string[]): CliResult => {
    const result = spawnSync('tmux', ['-u', '-L', socket, '-f', '/dev/null', ...args], { env: fleet.env, encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  onTestFinished(() => {
    run(['kill-server']);
  });
  return {
    run,
    /**
     * Start `mosaic <args>` in a fresh terminal of this size. With `statusFile`, a shell runs
     * it and writes its exit status there (tmux does not always collect a pane's status).
     */
    open(name: string, cols: number, rows: number, args: string[], statusFile?: string): void {
      const command = statusFile
        ? ['sh', '-c', `"$0" "$@"; echo $? > ${statusFile}`, process.execPath, CLI, ...args]
        : [process.execPath, CLI, ...args];
      const started = run([
        'start-server',
        ';',
        'set-option',
        '-g',
        'remain-on-exit',
        'on',
        ';',
        'new-session',
        '-d',
        '-s',
        name,
        '-x',
        String(cols),
        '-y',
        String(rows),
        '--',
        ...command,
      ]);
      expect(started.status, started.stderr).toBe(0);
    },
    type(name: string, ...keys: string[]): void {
      expect(run(['send-keys', '-t', `=${name}:0.0`, ...keys]).status).toBe(0);
    },
    /** The pane's process and whether it has exited. */
    pane(name: string): { pid: number; dead: boolean } {
      const [pid, dead] = run(['display-message', '-p', '-t', `=${name}:0.0`, '#{pane_pid} #{pane_dead}'])
        .stdout.trim()
        .split(' ');
      return { pid: Number(pid), dead: dead === '1' };
    },
    kill(): void {
      run(['kill-server']);
    },
  };
}

const windowSize = (fleet: TestFleet): string =>
  fleet.tmux(['display-message', '-p', '-t', '=a:0.0', '#{window_width}x#{window_height}']).stdout.trim();

const clients = (fleet: TestFleet): { flags: string; size: string; pid: number }[] => {
  const result = fleet.tmux(['list-clients', '-F', '#{client_flags} #{client_width}x#{client_height} #{client_pid}']);
  if (result.status !== 0) return [];
  return result.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [flags, size, pid] = line.split(' ');
      return { flags: flags!, size: size!, pid: Number(pid) };
    });
};

const sessions = (fleet: TestFleet): string[] => fleet.tmux(['list-sessions', '-F', '#{session_name}']).stdout.trim().split('\n').sort();

function agentFleet(): { fleet: TestFleet; received: () => string[] } {
  const fleet = createFleet();
  const record = path.join(fleet.dir, 'received');
  mkdirSync(record);
  fleet.writeRoster(
    roster(
      fleet.socket,
      `defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub, args: ["--record-dir", "${record}"]}\n`,
    ),
  );
  // What the stub received as submitted messages, byte for byte.
  const received = (): string[] => readdirSync(record).map((file) => readFileSync(path.join(record, file), 'utf8'));
  return { fleet, received };
}

describe('agent watch (read-only) and agent attach (takeover) on real tmux', () => {
  it('a viewer of any size cannot type into the pane and never changes its size; detach and a killed terminal leave nothing', async () => {
    const { fleet, received } = agentFleet();
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    await eventually(async () => (await fleet.mosaic(['agent', 'tail', 'a'])).stdout.includes('ready'), 15_000, 'stub ready');
    const size = windowSize(fleet);
    expect(size).toBe('200x50');
    const term = terminal(fleet);

    // A smaller terminal. Its pane's environment has TMUX set (it is inside tmux): watch must cope.
    const status = path.join(fleet.dir, 'watch.status');
    term.open('small', 90, 25, ['agent', 'watch', 'a'], status);
    const [viewer] = await eventually(() => (clients(fleet).length === 1 ? clients(fleet) : undefined), 15_000, 'the viewer to attach');
    expect(viewer!.flags.split(',')).toEqual(expect.arrayContaining(['read-only', 'ignore-size']));
    expect(viewer!.size).not.toBe(size);
    expect(windowSize(fleet)).toBe(size);

    // Everything a person could type: text and Enter, tmux's command prompt, copy mode, a bracketed paste.
    term.type('small', '-l', 'typed-into-the-viewer');
    term.type('small', 'Enter');
    term.type('small', 'C-b', ':');
    term.type('small', '-l', 'send-keys -t =a:0.0 via-command-prompt Enter');
    term.type('small', 'Enter');
    term.type('small', 'C-b', '[');
    term.type('small', '-l', '\u001b[200~pasted\u001b[201~');
    term.type('small', 'Enter');
    // Resizing the viewer's terminal while attached does not reach the agent either.
    expect(term.run(['resize-window', '-t', '=small:', '-x', '70', '-y', '20']).status).toBe(0);
    await eventually(() => clients(fleet)[0]?.size === '70x20' || undefined, 10_000, 'the viewer to see its new size');
    expect(windowSize(fleet)).toBe(size);
    // Detach (one of the few keys a read-only client may use). Keys are handled in order, so
    // once the viewer is gone, every key typed before it has been dealt with.
    term.type('small', 'C-b', 'd');
    await eventually(() => term.pane('small').dead || undefined, 15_000, 'watch to exit after detach');
    expect(readFileSync(status, 'utf8').trim()).toBe('0');
    expect(clients(fleet)).toEqual([]);
    expect(received()).toEqual([]);
    expect(fleet.tmux(['display-message', '-p', '-t', '=a:0.0', '#{pane_in_mode}']).stdout.trim()).toBe('0');
    const screen = fleet.tmux(['capture-pane', '-p', '-t', '=a:0.0']).stdout;
    expect(screen).not.toMatch(/typed-into-the-viewer|via-command-prompt|pasted/);
    expect(windowSize(fleet)).toBe(size);
    expect(sessions(fleet)).toEqual(['_holder', 'a']);

    // A larger terminal, then the terminal is killed under the viewer: nothing is left behind.
    term.open('large', 250, 70, ['agent', 'watch', 'a']);
    const [big] = await eventually(() => (clients(fleet).length === 1 ? clients(fleet) : undefined), 15_000, 'the second viewer');
    expect(big!.size).toMatch(/^250x(69|70)$/);
    expect(windowSize(fleet)).toBe(size);
    const mosaicPid = term.pane('large').pid;
    term.kill();
    await eventually(() => clients(fleet).length === 0 || undefined, 15_000, 'the viewer client to go with its terminal');
    await eventually(() => !existsSync(`/proc/${mosaicPid}`) || undefined, 15_000, 'mosaic agent watch to exit');
    expect(existsSync(`/proc/${big!.pid}`)).toBe(false);
    expect(sessions(fleet)).toEqual(['_holder', 'a']);
    expect(windowSize(fleet)).toBe(size);
    expect(received()).toEqual([]);
  });

  it('attach is the takeover: what is typed reaches the agent (the control for the test above)', async () => {
    const { fleet, received } = agentFleet();
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    await eventually(async () => (await fleet.mosaic(['agent', 'tail', 'a'])).stdout.includes('ready'), 15_000, 'stub ready');
    const term = terminal(fleet);
    const status = path.join(fleet.dir, 'attach.status');
    term.open('t', 90, 25, ['agent', 'attach', 'a'], status);
    const [client] = await eventually(() => (clients(fleet).length === 1 ? clients(fleet) : undefined), 15_000, 'attach');
    expect(client!.flags.split(',')).not.toContain('read-only');
    term.type('t', '-l', 'typed-through-attach');
    term.type('t', 'Enter');
    await eventually(() => (received().length === 1 ? true : undefined), 15_000, 'the stub to receive the typed message');
    expect(received()).toEqual(['typed-through-attach']);
    // A takeover fits the window to the operator's terminal (its pane is 90x24 under the status line).
    expect(windowSize(fleet)).toBe('90x24');
    term.type('t', 'C-b', 'd');
    await eventually(() => term.pane('t').dead || undefined, 15_000, 'attach to exit after detach');
    expect(readFileSync(status, 'utf8').trim()).toBe('0');
    expect(clients(fleet)).toEqual([]);
  });

  it('a session that merely has the agent name is someone else: tail, watch and attach refuse it, logs does not pipe it', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n  - {name: b, runtime: stub}\n'),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    expect((await fleet.mosaic(['fleet', 'stop', 'a'])).status).toBe(0);
    // Someone makes a session named "a" on the fleet's socket (no mosaic mark).
    expect(fleet.tmux(['new-session', '-d', '-s', 'a', '-x', '80', '-y', '24', 'sh']).status).toBe(0);
    const foreign = /session "a" on socket "[^"]+" was not made by mosaic for agent "a" \(it carries no mosaic mark\); left alone/;
    const tail = await fleet.mosaic(['agent', 'tail', 'a']);
    expect(tail.status).toBe(1);
    expect(tail.stderr).toMatch(foreign);
    expect(tail.stdout).toBe('');
    const term = terminal(fleet);
    for (const verb of ['watch', 'attach']) {
      const status = path.join(fleet.dir, `${verb}.status`);
      term.open(verb, 90, 25, ['agent', verb, 'a'], status);
      await eventually(() => (existsSync(status) ? true : undefined), 15_000, `${verb} to exit`);
      expect(readFileSync(status, 'utf8').trim(), verb).toBe('1');
      const screen = term.run(['capture-pane', '-p', '-J', '-S', '-50', '-t', `=${verb}:0.0`]).stdout;
      expect(screen.replace(/\n/g, ''), screen).toMatch(foreign);
    }
    expect(clients(fleet)).toEqual([]);
    await fleet.mosaic(['agent', 'logs', 'a']);
    // Nothing of it changed: no pipe into a transcript, no window size pinned or unset.
    expect(fleet.tmux(['display-message', '-p', '-t', '=a:0.0', '#{pane_pipe}']).stdout.trim()).toBe('0');
    expect(fleet.tmux(['show-options', '-w', '-t', '=a:', 'window-size']).stdout.trim()).toBe('');
  });

  it('attach (and send) refuse an agent waiting for its restart, or given up on: there is no runtime to type into', async () => {
    const fleet = createFleet();
    const agents = 'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub, args: ["--crash-after", "0"]}\n';
    // A restart ten minutes away: the pane's respawn sleeps meanwhile (keys typed there would reach the runtime).
    const slowRestart = 'restart:\n  backoff_initial_ms: 600000\n  backoff_max_ms: 600000\n  max_crashes: 3\n  window_seconds: 60\n';
    fleet.writeRoster(roster(fleet.socket, agents, slowRestart));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    // The dead check comes before the terminal's: without one, the refusal is still the agent's.
    const waiting = await eventually(
      async () => {
        const attach = await fleet.mosaic(['agent', 'attach', 'a']);
        return /with status 3/.test(attach.stderr) ? attach : undefined;
      },
      20_000,
      'the crash to be recorded',
    );
    expect(waiting.status).toBe(1);
    expect(waiting.stderr).toMatch(
      /agent "a" is not running \(its process has exited with status 3; the supervisor restarts it in \d+ s\); there is nothing to take over/,
    );
    expect(waiting.stderr).toMatch(/see its screen with `mosaic agent watch a`, or wait for the restart/);
    // send says why too (no runtime yet), instead of "unverifiable" after waiting for a prompt.
    const send = await fleet.mosaic(['agent', 'send', 'a', '-m', 'hello', '--verify']);
    expect(send.status).toBe(1);
    expect(send.stderr).toMatch(
      /agent "a" is not running \(its process has exited with status 3; the supervisor restarts it in \d+ s\); nothing was sent/,
    );
    // Given up on (max_crashes 0: the first crash fails it): the reason, and what to do.
    fleet.writeRoster(roster(fleet.socket, agents, slowRestart.replace('max_crashes: 3', 'max_crashes: 0')));
    expect((await fleet.mosaic(['fleet', 'restart', 'a'])).status).toBe(0);
    const failed = await eventually(
      async () => {
        const attach = await fleet.mosaic(['agent', 'attach', 'a']);
        return /gave up on it/.test(attach.stderr) ? attach : undefined;
      },
      20_000,
      'a to be marked failed',
    );
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/agent "a" is not running \(the supervisor gave up on it: .+\); there is nothing to take over/);
    expect(failed.stderr).toMatch(/fix the cause, then `mosaic fleet restart a`/);
    expect(clients(fleet)).toEqual([]);
    // The pane is still there, dead, for watch and logs to show.
    expect(fleet.tmux(['display-message', '-p', '-t', '=a:0.0', '#{pane_dead}']).stdout.trim()).toBe('1');
  });

  it('both refuse without a terminal, with a clear error', async () => {
    const { fleet } = agentFleet();
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const attach = await fleet.mosaic(['agent', 'attach', 'a']);
    expect(attach.status).toBe(1);
    expect(attach.stderr).toMatch(/agent attach is an interactive takeover and needs a terminal, but stdin is not a terminal/);
    const watch = await fleet.mosaic(['agent', 'watch', 'a']);
    expect(watch.status).toBe(1);
    expect(watch.stderr).toMatch(/stdin is not a terminal/);
    expect(clients(fleet)).toEqual([]);
  });
});
