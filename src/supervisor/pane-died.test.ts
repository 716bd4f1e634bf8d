import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launchSpecFile } from '../roster/paths.js';
import type { CommandRunner } from '../system/runner.js';
import { TmuxClient } from '../tmux/client.js';
import { fleetCrashesFile } from './fleet-crashes.js';
import { handlePaneDied, loggedOutcome, withZombieStatus, type PaneDiedEvent } from './pane-died.js';
import { readRunState, writeRunState } from './state.js';
import { ProcessTable } from '../system/proc.js';
import { waitFor } from '../system/wait.js';

const dirs: string[] = [];
const thaws: (() => void)[] = [];
afterEach(() => {
  for (const thaw of thaws.splice(0)) thaw();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A run dir with one supervised agent `a`, and a tmux whose every call takes a few ms (as a real one does). */
async function world(): Promise<{ runDir: string; tmux: TmuxClient; calls: string[][] }> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-pane-died-'));
  dirs.push(runDir);
  writeFileSync(launchSpecFile(runDir, 'a'), '{}\n');
  await writeRunState(runDir, {
    agent: 'a',
    session: 'a',
    policy: { backoffInitialMs: 50, backoffMaxMs: 200, maxCrashes: 100, windowSeconds: 60, fleetMaxCrashes: 4 },
    crashes: [],
    restarts: 0,
    failed: false,
    lastExitStatus: null,
    nextStartAt: null,
  });
  const calls: string[][] = [];
  const runner: CommandRunner = async (argv) => {
    calls.push([...argv]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { argv, status: 0, signal: null, stdout: '', stderr: '', durationMs: 5 };
  };
  return { runDir, tmux: new TmuxClient({ socket: 'sock', runner, env: {} }), calls };
}

const death = (pid: number, backstop: boolean): PaneDiedEvent => ({
  agent: 'a',
  paneId: '%1',
  deadPid: pid,
  exitStatus: 1,
  exitSignal: null,
  deadTime: null, // tmux had not stamped it yet: the backstop does not wait for the hook
  backstop,
});

describe('handlePaneDied', () => {
  it('counts one death once when two paths handle it at the same moment', async () => {
    const { runDir, tmux, calls } = await world();
    const deps = { tmux, runDir, now: () => 1_000_000 };
    // The watchdog and a reader (tmux skipped the hook), or the hook and a backstop.
    const outcomes = await Promise.all([handlePaneDied(death(4242, true), deps), handlePaneDied(death(4242, true), deps)]);
    expect(outcomes.map((outcome) => outcome.result).sort()).toEqual(['ignored', 'respawn-scheduled']);
    // The second path logs no line of its own: one supervisor.log line per death.
    expect(outcomes.filter(loggedOutcome)).toEqual([{ result: 'respawn-scheduled' }]);
    expect(readFileSync(fleetCrashesFile(runDir), 'utf8').trim().split('\n')).toEqual(['1000000 a']);
    expect(await readRunState(runDir, 'a')).toMatchObject({ restarts: 1, crashes: [1_000_000], handledPid: 4242 });
    expect(calls.filter((argv) => argv.includes('respawn-pane'))).toHaveLength(1);
  });

  it('counts each of two deaths in a row', async () => {
    const { runDir, tmux } = await world();
    const deps = { tmux, runDir, now: () => 1_000_000 };
    expect((await handlePaneDied(death(1, false), deps)).result).toBe('respawn-scheduled');
    expect((await handlePaneDied(death(1, true), deps)).result).toBe('ignored');
    expect((await handlePaneDied(death(2, false), deps)).result).toBe('respawn-scheduled');
    expect(await readRunState(runDir, 'a')).toMatchObject({ restarts: 2, handledPid: 2 });
  });

  it('reads a zombie\'s exit from the kernel when tmux has not reaped it (no status to log as "status ?")', async () => {
    // Real zombies: two children end once their parent is `sleep`, which never waits for them, as a pane's
    // process waits for the tmux server to reap it. One exits with 7 when told to on its stdin (fd 3), the
    // other is killed: ending before the exec, the shell could reap them.
    const parent = spawn('sh', ['-c', 'exec 3<&0; (read -r go <&3; exit 7) & echo $!; sleep 60 & echo $!; exec sleep 60'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    try {
      let printed = '';
      while (printed.split('\n').length < 3) printed += String((await once(parent.stdout, 'data'))[0]);
      const [exited, killed] = printed.trim().split('\n').map(Number) as [number, number];
      const execed = await waitFor(() => (new ProcessTable().argv(parent.pid!)?.[0] === 'sleep' ? true : undefined), { timeoutMs: 10_000 });
      expect(execed).toBe(true);
      parent.stdin.write('go\n');
      process.kill(killed, 'SIGTERM');
      const zombies = await waitFor(
        () => ([exited, killed].every((pid) => new ProcessTable().stat(pid)?.state === 'Z') ? true : undefined),
        { timeoutMs: 10_000 },
      );
      expect(zombies).toBe(true);
      const unknown = (pid: number): PaneDiedEvent => ({ ...death(pid, true), exitStatus: null });
      expect(withZombieStatus(unknown(exited))).toMatchObject({ exitStatus: 7, exitSignal: null });
      expect(withZombieStatus(unknown(killed))).toMatchObject({ exitStatus: null, exitSignal: 15 });
      // What tmux reported stands; a process that is gone (reaped) leaves the status unknown.
      expect(withZombieStatus({ ...unknown(exited), exitStatus: 1 })).toMatchObject({ exitStatus: 1, exitSignal: null });
      const gone = Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
      expect(withZombieStatus(unknown(gone))).toMatchObject({ exitStatus: null, exitSignal: null });
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('leaves a removed run dir removed (a late hook after the fleet home is gone)', async () => {
    const { runDir, tmux } = await world();
    rmSync(runDir, { recursive: true, force: true });
    expect((await handlePaneDied(death(7, false), { tmux, runDir, now: () => 1_000_000 })).result).toBe('ignored');
    expect(existsSync(runDir)).toBe(false);
  });

  it('leaves no lock file behind', async () => {
    const { runDir, tmux } = await world();
    await handlePaneDied(death(8, false), { tmux, runDir, now: () => 1_000_000 });
    expect(readdirSync(runDir).filter((name) => name.endsWith('.lock'))).toEqual([]);
  });

  it('still restarts the agent when its run dir cannot be written (no lock file, no state), and says what was not recorded', async () => {
    const { runDir, tmux, calls } = await world();
    freeze(runDir);
    const outcome = await handlePaneDied(death(9, false), { tmux, runDir, now: () => 1_000_000 });
    expect(outcome.result).toBe('respawn-scheduled');
    expect(outcome.reason).toMatch(/not recorded: .*fleet crash record.*run state/);
    expect(calls.filter((argv) => argv.includes('respawn-pane'))).toHaveLength(1);
  });
});

/** Make a directory unwritable: chmod 0500, and for root (which ignores modes) chattr +i, undone after the test. */
function freeze(dir: string): void {
  chmodSync(dir, 0o500);
  if (process.getuid?.() === 0) {
    const immutable = spawnSync('chattr', ['+i', dir], { encoding: 'utf8' });
    if (immutable.status !== 0) throw new Error(`chattr +i ${dir}: ${immutable.stderr}`);
  }
  thaws.push(() => {
    if (process.getuid?.() === 0) spawnSync('chattr', ['-i', dir]);
    chmodSync(dir, 0o700);
  });
  expect(() => writeFileSync(path.join(dir, 'probe'), 'x')).toThrow();
}
