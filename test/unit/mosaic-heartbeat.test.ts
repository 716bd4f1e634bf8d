import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessTable } from '../../src/system/proc.js';
import { eventually, isAlive } from '../e2e/harness.js';

const SCRIPT = path.resolve(import.meta.dirname, '..', '..', 'framework', 'bin', 'mosaic-heartbeat');
const BEAT = /^ts=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) pid=(\d+) (.*)$/;

const cleanups: (() => void)[] = [];
afterEach(() =>
  cleanups
    .splice(0)
    .reverse()
    .forEach((cleanup) => cleanup()),
);

function started(child: ChildProcess): ChildProcess {
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** A directory with `date`, `sleep` and `mv` shims first on PATH: each logs its name, then runs the real one. */
function world() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-heartbeat-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'calls');
  writeFileSync(log, '');
  for (const tool of ['date', 'sleep', 'mv']) {
    const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    const shim = path.join(dir, tool);
    writeFileSync(shim, `#!/bin/sh\necho ${tool} >>'${log}'\nexec '${real}' "$@"\n`);
    chmodSync(shim, 0o755);
  }
  const hb = path.join(dir, 'a.hb');
  const calls = (tool: string): number =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line === tool).length;
  const run = (shell: string, pid: number, interval: string, ...extra: string[]): ChildProcess =>
    started(
      spawn(shell, [SCRIPT, String(pid), interval, ...extra], {
        env: { PATH: `${dir}:${process.env.PATH}`, MOSAIC_HEARTBEAT_FILE: hb, TMPDIR: dir },
        stdio: 'ignore',
      }),
    );
  /** What the loop left in TMPDIR: bash's fifo is unlinked as soon as it is open. */
  const leftovers = (): string[] => readdirSync(dir).filter((name) => name.startsWith('mosaic-heartbeat'));
  return { dir, hb, calls, run, leftovers };
}

/** The agent the loop watches: a process that lives until killed. */
const agent = (): ChildProcess => started(spawn('sleep', ['600'], { stdio: 'ignore' }));

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', resolve));

describe('mosaic-heartbeat: the beat loop of agents without their own', () => {
  it.each(['bash', 'sh'])('under %s: beats carry a true time, the pid and the last report, and end with the agent', async (shell) => {
    const { hb, calls, run, leftovers } = world();
    const target = agent();
    const loop = run(shell, target.pid!, '0.1');
    const seen = new Set<string>();
    await eventually(
      () => {
        const text = existsSync(hb) ? readFileSync(hb, 'utf8') : '';
        if (text) seen.add(text);
        return seen.size >= 4;
      },
      20_000,
      'four different beats',
    );
    for (const text of seen) {
      const [, ts, pid, rest] = BEAT.exec(text.trimEnd())!;
      expect(pid).toBe(String(target.pid));
      expect(rest).toBe('status=ok');
      expect(Math.abs(Date.parse(ts!) - Date.now())).toBeLessThan(30_000);
      expect(text.endsWith('\n')).toBe(true);
    }
    // A runtime's report (mosaic-report's format) is carried into the next beats, without its own ts.
    writeFileSync(
      `${hb}.status`,
      'ts=2026-01-01T00:00:00.000Z status=busy event=UserPromptSubmit source=runtime status_ts=2026-01-01T00:00:00.000Z\n',
    );
    const carried = await eventually(
      () => {
        const text = readFileSync(hb, 'utf8');
        return text.includes('status=busy') ? text : undefined;
      },
      20_000,
      'a beat with the report',
    );
    expect(BEAT.exec(carried.trimEnd())![3]).toBe('status=busy event=UserPromptSubmit source=runtime status_ts=2026-01-01T00:00:00.000Z');
    const beforeEnd = { date: calls('date'), sleep: calls('sleep'), mv: calls('mv') };
    target.kill('SIGKILL');
    expect(await exited(loop)).toBe(0);
    if (shell === 'bash') {
      // The clock and the wait are builtins: the only process a beat starts is the mv.
      expect(beforeEnd.date).toBe(0);
      expect(beforeEnd.sleep).toBe(0);
    } else {
      expect(beforeEnd.date).toBeGreaterThanOrEqual(5);
      expect(beforeEnd.sleep).toBeGreaterThanOrEqual(4);
    }
    // The first beat of a fresh file is created in place; every later one is an atomic replace.
    expect(beforeEnd.mv).toBeGreaterThanOrEqual(4);
    expect(leftovers()).toEqual([]);
  });

  it.each(['bash', 'sh'])(
    'under %s: TERM ends it at once, with its own sleep; --pause-first leaves the first beat to the caller',
    async (shell) => {
      const { hb, calls, run } = world();
      const target = agent();
      const loop = run(shell, target.pid!, '600', '--pause-first');
      // Blocked in its first pause, its TERM trap set: under sh, waiting for a sleep child that has started
      // (logged by the shim); under bash, with fd 3 (the fifo it opens after the trap) open. Blocked, not
      // just forked: between the fork and `sleeper=$!` the loop is runnable, and a TERM there would leave
      // the sleep to end on its own.
      const blocked = (): boolean => new ProcessTable().stat(loop.pid!)?.state === 'S';
      const children = (): number[] => new ProcessTable().descendants(loop.pid!);
      if (shell === 'sh') await eventually(() => calls('sleep') === 1 && children().length > 0 && blocked(), 20_000, 'the first sleep');
      else await eventually(() => existsSync(`/proc/${loop.pid}/fd/3`) && blocked(), 20_000, 'its fifo');
      const [sleeper] = children();
      if (shell === 'sh') expect(sleeper).toBeGreaterThan(0);
      loop.kill('SIGTERM');
      expect(await exited(loop)).toBe(0);
      expect(existsSync(hb)).toBe(false);
      if (sleeper) await eventually(() => !isAlive(sleeper), 20_000, `its sleep ${sleeper} to end`);
    },
  );
});
