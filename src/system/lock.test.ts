import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireAgentLock, lockChanged, lockFile, processStart } from './lock.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-lock-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The pid of a process that has exited (and been reaped). */
const deadPid = (): number => spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim() as unknown as number;

describe('per-agent send lock', () => {
  it('serialises holders of the same agent and lets other agents through', async () => {
    const dir = path.join(tempDir(), 'run'); // created on first use
    const first = await acquireAgentLock(dir, 'a', { timeoutMs: 1000 });
    const other = await acquireAgentLock(dir, 'b', { timeoutMs: 1000 });
    let secondHeld = false;
    const second = acquireAgentLock(dir, 'a', { timeoutMs: 5000 }).then((lock) => {
      secondHeld = true;
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(secondHeld).toBe(false);
    await first.release();
    const lock = await second;
    expect(secondHeld).toBe(true);
    await lock.release();
    await other.release();
    expect(existsSync(lockFile(dir, 'a'))).toBe(false);
  });

  it('times out with the holder named when a live sender keeps it', async () => {
    const dir = tempDir();
    const held = await acquireAgentLock(dir, 'a', { timeoutMs: 100 });
    await expect(acquireAgentLock(dir, 'a', { timeoutMs: 100 })).rejects.toThrow(new RegExp(`busy.*pid ${process.pid}`));
    await held.release();
  });

  it('breaks the lock of a dead sender', async () => {
    const dir = tempDir();
    writeFileSync(lockFile(dir, 'a'), `${deadPid()} 12345\n`);
    const lock = await acquireAgentLock(dir, 'a', { timeoutMs: 1000 });
    expect(readFileSync(lockFile(dir, 'a'), 'utf8')).toContain(String(process.pid));
    await lock.release();
  });

  it('breaks a lock whose pid was reused by another process (start time differs)', async () => {
    const dir = tempDir();
    writeFileSync(lockFile(dir, 'a'), `${process.pid} 1\n`);
    expect(processStart(process.pid)).not.toBe('1');
    const lock = await acquireAgentLock(dir, 'a', { timeoutMs: 1000 });
    await lock.release();
  });

  it('breaks an empty lock file left by a sender that died right after creating it', async () => {
    const dir = tempDir();
    writeFileSync(lockFile(dir, 'a'), '');
    const old = (Date.now() - 10_000) / 1000;
    utimesSync(lockFile(dir, 'a'), old, old);
    const lock = await acquireAgentLock(dir, 'a', { timeoutMs: 1000 });
    await lock.release();
  });

  it('does not spin while another live waiter is breaking a stale lock: it waits, then times out', async () => {
    const dir = tempDir();
    writeFileSync(lockFile(dir, 'a'), `${deadPid()} 1\n`);
    writeFileSync(`${lockFile(dir, 'a')}.break`, `${process.pid} ${processStart(process.pid)}\n`);
    const started = Date.now();
    await expect(acquireAgentLock(dir, 'a', { timeoutMs: 150 })).rejects.toThrow(/busy/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('many waiters on a stale lock: exactly one holds it at a time', async () => {
    const dir = tempDir();
    writeFileSync(lockFile(dir, 'a'), `${deadPid()} 1\n`);
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const lock = await acquireAgentLock(dir, 'a', { timeoutMs: 10_000 });
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inside--;
        await lock.release();
      }),
    );
    expect(maxInside).toBe(1);
  });
});

describe('lockChanged (how a waiter sleeps)', () => {
  it('wakes when the holder releases the lock, not at its fallback (the test would time out)', async () => {
    const file = path.join(tempDir(), 'send-a.lock');
    writeFileSync(file, 'holder\n');
    const woken = lockChanged(file, 60_000);
    rmSync(file);
    expect(await woken).toBe(true);
  });

  it('returns at once for a lock already gone, and at the fallback when nothing changes', async () => {
    const dir = tempDir();
    expect(await lockChanged(path.join(dir, 'gone.lock'), 60_000)).toBe(true);
    const file = path.join(dir, 'held.lock');
    writeFileSync(file, 'holder\n');
    expect(await lockChanged(file, 20)).toBe(false);
    expect(existsSync(file)).toBe(true);
  });
});
