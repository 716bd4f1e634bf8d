import { watch } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { ensurePrivateDir, readFileIfReadable } from './fs.js';
import { statFields } from './proc.js';
import { randomHex } from './random.js';

/**
 * A lock per agent (or per socket, for the control client): an O_EXCL lock file naming its holder
 * (pid, process start time, random token). Sends to one agent never interleave, nor do two handlers
 * of one agent's death; a lock whose holder is gone (crashed, killed, or its pid reused) is broken,
 * so a dead holder cannot block an agent forever.
 */
export interface AgentLock {
  readonly file: string;
  release(): Promise<void>;
}

/**
 * What the lock guards: a send to an agent (paste, Enter, verdict), the handling of an agent's exit
 * (supervisor), or a socket's one control-mode client (`fleet serve`; the name is the socket's).
 */
export type LockPurpose = 'send' | 'supervise' | 'control';

const HOLDER: Record<LockPurpose, string> = { send: 'send', supervise: 'exit handler', control: 'control client' };

export interface LockOptions {
  /** Give up after this long (a live holder keeps the lock). */
  timeoutMs: number;
  /** Default: send. Each purpose has its own lock file, so a send never waits for a restart. */
  purpose?: LockPurpose;
  /** Default true. False: a missing run dir is an ENOENT error, not created (a late exit handler must not recreate a removed fleet home). */
  createRunDir?: boolean;
}

export interface LockOwner {
  pid: number;
  /** Process start time in clock ticks since boot (from /proc), "" where unknown. */
  start: string;
}

const EMPTY_LOCK_GRACE_MS = 2000;

export const lockFile = (runDir: string, agent: string, purpose: LockPurpose = 'send'): string =>
  path.join(runDir, `${purpose}-${agent}.lock`);

export async function acquireAgentLock(runDir: string, agent: string, options: LockOptions): Promise<AgentLock> {
  const purpose = options.purpose ?? 'send';
  const file = lockFile(runDir, agent, purpose);
  // The token tells this holder from another send in the same process (broadcast).
  const content = `${process.pid} ${processStart(process.pid) || '-'} ${randomHex(6)}\n`;
  const deadline = Date.now() + options.timeoutMs;
  let pause = 2;
  let woken = false;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
      return { file, release: () => releaseIfMine(file, content) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && attempt === 0 && options.createRunDir !== false) {
        await ensurePrivateDir(runDir);
        continue;
      }
      if (code !== 'EEXIST') throw error;
    }
    // Woken by a change, the lock has a holder that has just taken it: only a sleep that ran out looks
    // for a dead one (each release wakes every waiter; all but one go back to sleep, cheaply).
    const holder = woken ? undefined : await readHolder(file);
    // Broken: try again at once. Another waiter breaking it: wait like everyone else.
    if (holder !== undefined && !isAlive(holder) && (await breakStaleLock(file, holder.raw))) continue;
    if (Date.now() >= deadline) {
      const pid = (holder ?? (await readHolder(file)))?.pid ?? 'unknown';
      throw new UserError(
        `agent "${agent}" is busy: another ${HOLDER[purpose]} (pid ${pid}) has held its lock for over ${options.timeoutMs} ms`,
        { hint: `wait and try again; if no mosaic process is running, remove ${file}` },
      );
    }
    woken = await lockChanged(file, pause);
    pause = Math.min(pause * 2, MAX_WAIT_MS);
  }
}

/**
 * The longest a waiter sleeps between looks at the lock when no change wakes it: how late a dead
 * holder's lock is broken. Waiters are woken by the holder's release itself (lockChanged), so this
 * is no hand-over delay; it was a 25 ms poll, which cost 50 waiting sends to one agent about 4 s of
 * CPU on 2 cores (a fifth of the whole run), taken from the agent and tmux they were waiting for.
 */
const MAX_WAIT_MS = 250;

/**
 * Resolve true when the lock file changes or goes (inotify), false after `ms` with no change. A file
 * already gone is a change; a watch that cannot be made (e.g. the user's inotify instances used up)
 * leaves the timer alone, never a busy loop.
 */
export function lockChanged(file: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = (changed: boolean): void => {
      clearTimeout(timer);
      watcher?.close();
      resolve(changed);
    };
    const timer = setTimeout(() => done(false), ms);
    try {
      watcher = watch(file, { persistent: false }, () => done(true));
      watcher.on('error', () => done(true));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') done(true);
    }
  });
}

interface Holder extends LockOwner {
  raw: string;
}

async function readHolder(file: string): Promise<Holder | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    return undefined; // released meanwhile: try again
  }
  const [pid, startField = ''] = raw.trim().split(' ');
  const start = startField === '-' ? '' : startField;
  if (!pid) {
    // Created but not yet written: alive for a moment; a holder that died right there leaves it empty for good.
    const age = await stat(file).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    return age > EMPTY_LOCK_GRACE_MS ? { pid: 0, start: '', raw } : undefined;
  }
  return { pid: Number(pid), start, raw };
}

function isAlive(holder: LockOwner): boolean {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Same pid, different start time: the pid was reused by an unrelated process.
  const start = processStart(holder.pid);
  return holder.start === '' || start === '' || start === holder.start;
}

/**
 * Remove a stale lock, but only if it is still the one we judged stale: breakers
 * serialise on a second O_EXCL file, so two waiters cannot delete a fresh lock
 * that a third has just taken.
 */
async function breakStaleLock(file: string, staleContent: string): Promise<boolean> {
  const breaker = `${file}.break`;
  let handle;
  try {
    handle = await open(breaker, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another waiter is breaking it; if that waiter died mid-way, its file is stale too.
    const other = await readHolder(breaker);
    if (other !== undefined && !isAlive(other)) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    await handle.writeFile(`${process.pid} ${processStart(process.pid) || '-'}\n`);
    await handle.close();
    handle = undefined;
    const now = await readFile(file, 'utf8').catch(() => undefined);
    if (now === staleContent) await unlink(file).catch(() => undefined);
    return true;
  } finally {
    await handle?.close();
    await unlink(breaker).catch(() => undefined);
  }
}

/**
 * Remove an agent's lock that no live process holds (its holder died, or it was left empty), as the
 * next acquirer would: for an agent that is going away, there is no next acquirer. A held lock stays.
 */
export async function removeStaleLock(runDir: string, agent: string, purpose: LockPurpose): Promise<boolean> {
  const file = lockFile(runDir, agent, purpose);
  const holder = await readHolder(file);
  return holder !== undefined && !isAlive(holder) && breakStaleLock(file, holder.raw);
}

async function releaseIfMine(file: string, content: string): Promise<void> {
  const now = await readFile(file, 'utf8').catch(() => undefined);
  if (now === content) await unlink(file).catch(() => undefined);
}

/** Field 22 of /proc/<pid>/stat; "" off Linux or when the process is gone. */
export function processStart(pid: number): string {
  return statFields(readFileIfReadable(`/proc/${pid}/stat`))?.[19] ?? '';
}
