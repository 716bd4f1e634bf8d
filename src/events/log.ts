import { closeSync, fstatSync, openSync, promises as fsp, readFileSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../system/fs.js';
import { logMaxBytes, rotateIfOverCap, rotatedLogFile } from '../system/rotate.js';

/**
 * The fleet event log: one JSON object per line in `<logs>/events.jsonl`, appended by every
 * mosaic process that changes or watches the fleet (start, stop, crash, restart, failed,
 * send + verdict, attention, approval, notification). Lines are written with one O_APPEND
 * write each, so concurrent writers never interleave; the file is rotated like transcripts
 * (MOSAIC_TRANSCRIPT_MAX_BYTES, EVENT_LOG_KEEP generations). Writing never fails a command.
 * Message bodies are never logged: a send event carries the send id, verdict and size.
 */
export const FLEET_EVENT_TYPES = ['start', 'stop', 'crash', 'restart', 'failed', 'send', 'attention', 'approval', 'notification'] as const;

export type FleetEventType = 'start' | 'stop' | 'crash' | 'restart' | 'failed' | 'send' | 'attention' | 'approval' | 'notification';

export interface FleetEvent {
  /** ISO 8601 UTC with milliseconds (new Date().toISOString()). */
  ts: string;
  type: FleetEventType;
  /** The agent it is about; absent for fleet-wide events. */
  agent?: string;
  [key: string]: unknown;
}

export type NewFleetEvent = Omit<FleetEvent, 'ts'> & { ts?: string };

/** Rotated generations kept besides the current file (events.jsonl.1 … .3): the history is worth more than a transcript's. */
export const EVENT_LOG_KEEP = 3;

export const eventLogFile = (logsDir: string): string => `${logsDir}/events.jsonl`;

/** The event log's files, oldest first: rotated generations, then the current file. */
export function eventLogFiles(logsDir: string, keep = EVENT_LOG_KEEP): string[] {
  const file = eventLogFile(logsDir);
  return [...Array.from({ length: keep }, (_, index) => rotatedLogFile(file, keep - index)), file];
}

export interface AppendOptions {
  /** For the size cap (MOSAIC_TRANSCRIPT_MAX_BYTES); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Overrides the cap from env. */
  maxBytes?: number;
  keep?: number;
}

/** One line: `ts`, `type` and `agent` first, for people reading the file. */
function eventLine(event: NewFleetEvent, now: string): string {
  const { ts, type, agent, ...rest } = event;
  return `${JSON.stringify({ ts: ts ?? now, type, ...(agent === undefined ? {} : { agent }), ...rest })}\n`;
}

/** Append one event. Never throws: a log that cannot be written must not fail what it records. */
export async function appendEvent(logsDir: string, event: NewFleetEvent, options: AppendOptions = {}): Promise<void> {
  await appendEvents(logsDir, [event], options);
}

/** Append several events with one write (a start of 500 agents is one write). Never throws. */
export async function appendEvents(logsDir: string, events: readonly NewFleetEvent[], options: AppendOptions = {}): Promise<void> {
  try {
    if (events.length === 0) return;
    const now = new Date().toISOString();
    const data = Buffer.from(events.map((event) => eventLine(event, now)).join(''));
    const file = eventLogFile(logsDir);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, 'a', PRIVATE_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await ensurePrivateDir(logsDir);
      handle = await fsp.open(file, 'a', PRIVATE_FILE_MODE);
    }
    let size: number;
    try {
      // One write(2) with O_APPEND: the kernel puts the whole buffer at the end, unsplit. The loop
      // only matters for a short write (a full disk), where the rest is better late than lost.
      for (let offset = 0; offset < data.length;) offset += (await handle.write(data, offset)).bytesWritten;
      size = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    const maxBytes = options.maxBytes ?? logMaxBytes(options.env ?? process.env);
    if (size >= maxBytes) await rotateIfOverCap(file, maxBytes, options.keep ?? EVENT_LOG_KEEP);
  } catch {
    // Swallowed on purpose (a full disk, a read-only logs dir): the command goes on.
  }
}

/**
 * One line of the log, or undefined for a line that is not an event. Tolerant of a torn line:
 * a writer killed mid-write leaves a fragment that the next writer's line is appended to, so
 * the last `{"ts":` of a line that does not parse is tried as well.
 */
export function parseEventLine(line: string): FleetEvent | undefined {
  const attempt = (text: string): FleetEvent | undefined => {
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      const event = value as Record<string, unknown>;
      if (typeof event.ts !== 'string' || typeof event.type !== 'string' || Number.isNaN(Date.parse(event.ts))) return undefined;
      if (event.agent !== undefined && typeof event.agent !== 'string') return undefined;
      return event as FleetEvent;
    } catch {
      return undefined;
    }
  };
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  const whole = attempt(trimmed);
  if (whole) return whole;
  const start = trimmed.lastIndexOf('{"ts":');
  return start > 0 ? attempt(trimmed.slice(start)) : undefined;
}

export interface EventFilter {
  /** Events at or after this time. */
  since?: Date;
  agent?: string;
  types?: readonly FleetEventType[];
}

export function matchesFilter(event: FleetEvent, filter: EventFilter): boolean {
  if (filter.agent !== undefined && event.agent !== filter.agent) return false;
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (filter.since && Date.parse(event.ts) < filter.since.getTime()) return false;
  return true;
}

/** Complete lines of a buffer; a last line without its newline (a write in progress or torn) is left out. */
function completeLines(data: Buffer): { lines: string[]; consumed: number } {
  const end = data.lastIndexOf(10);
  if (end < 0) return { lines: [], consumed: 0 };
  return { lines: data.subarray(0, end).toString('utf8').split('\n'), consumed: end + 1 };
}

const byTime = (a: FleetEvent, b: FleetEvent): number => Date.parse(a.ts) - Date.parse(b.ts);

function parseLines(lines: readonly string[], filter: EventFilter): FleetEvent[] {
  const events: FleetEvent[] = [];
  for (const line of lines) {
    const event = parseEventLine(line);
    if (event && matchesFilter(event, filter)) events.push(event);
  }
  return events;
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Every event of the log that matches, over the rotated files and the current one, in time
 * order (stable: events of the same millisecond keep the order they were written in).
 */
export async function readEvents(logsDir: string, filter: EventFilter = {}): Promise<FleetEvent[]> {
  const events: FleetEvent[] = [];
  for (const file of eventLogFiles(logsDir)) {
    const data = readIfPresent(file);
    if (data) events.push(...parseLines(completeLines(data).lines, filter));
  }
  return events.sort(byTime);
}

/** The agents the log names, for telling "no events yet" from "no such agent". */
export async function agentsInLog(logsDir: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const event of await readEvents(logsDir)) if (event.agent !== undefined) names.add(event.agent);
  return names;
}

/** The events of the rotated files newer than the one with inode `ino` (none if it is no longer among them). */
function newerGenerations(logsDir: string, ino: number, filter: EventFilter): FleetEvent[] {
  const rotated = eventLogFiles(logsDir).slice(0, -1); // oldest first
  const index = rotated.findIndex((file) => statSync(file, { throwIfNoEntry: false })?.ino === ino);
  if (index < 0) return [];
  const events: FleetEvent[] = [];
  for (const file of rotated.slice(index + 1)) {
    const data = readIfPresent(file);
    if (data) events.push(...parseLines(completeLines(data).lines, filter));
  }
  return events;
}

export interface FollowOptions extends EventFilter {
  signal: AbortSignal;
  /** First the events already in the log (as readEvents), then the new ones; else only new ones. */
  backlog?: boolean;
  /** Backstop for fs.watch, which misses changes (a logs dir made after we started, some file systems). */
  pollMs?: number;
}

const READ_BLOCK = 64 * 1024;

/**
 * Yield events as they are appended, until `signal` aborts. Woken by fs.watch on the logs
 * directory, with a poll backstop. Survives rotation: the renamed file is read to its end
 * through the open descriptor, then the new one from its start.
 */
export async function* followEvents(logsDir: string, options: FollowOptions): AsyncGenerator<FleetEvent> {
  const { signal } = options;
  const pollMs = options.pollMs ?? 1000;
  const file = eventLogFile(logsDir);
  let fd: number | undefined;
  let ino = -1;
  let position = 0;
  let pending: Buffer = Buffer.alloc(0);
  const block = Buffer.alloc(READ_BLOCK);

  let watcher: FSWatcher | undefined;
  let dirty = false;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    dirty = true;
    wake?.();
  };
  const startWatching = (): void => {
    if (watcher) return;
    try {
      watcher = watch(logsDir, { persistent: false }, (_event, name) => {
        if (name === null || String(name).startsWith('events.jsonl')) poke();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      watcher = undefined; // no logs dir yet: polled until there is one
    }
  };
  const sleep = (): Promise<void> =>
    new Promise((resolve) => {
      if (dirty || signal.aborted) {
        dirty = false;
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        wake = undefined;
        dirty = false;
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      signal.addEventListener('abort', done, { once: true });
      wake = done;
    });

  const open = (): boolean => {
    try {
      fd = openSync(file, 'r');
      ino = fstatSync(fd).ino;
      return true;
    } catch {
      fd = undefined;
      return false;
    }
  };
  /** New complete lines from the open file, as matching events. */
  const drain = (): FleetEvent[] => {
    if (fd === undefined) return [];
    if (fstatSync(fd).size < position) {
      position = 0; // truncated in place
      pending = Buffer.alloc(0);
    }
    const chunks: Buffer[] = [pending];
    for (;;) {
      const n = readSync(fd, block, 0, block.length, position);
      if (n <= 0) break;
      position += n;
      chunks.push(Buffer.from(block.subarray(0, n)));
    }
    const data = Buffer.concat(chunks);
    const { lines, consumed } = completeLines(data);
    pending = data.subarray(consumed);
    return parseLines(lines, options);
  };
  const closeFile = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    pending = Buffer.alloc(0);
  };

  try {
    startWatching();
    if (open()) {
      if (options.backlog) {
        // The rotated files, unless one of them is the file just opened (a rotation in between).
        const older: FleetEvent[] = [];
        for (const rotated of eventLogFiles(logsDir).slice(0, -1)) {
          if (statSync(rotated, { throwIfNoEntry: false })?.ino === ino) continue;
          const data = readIfPresent(rotated);
          if (data) older.push(...parseLines(completeLines(data).lines, options));
        }
        yield* [...older, ...drain()].sort(byTime);
      } else {
        position = fstatSync(fd!).size; // only what comes next
      }
    } else if (options.backlog) {
      yield* await readEvents(logsDir, options); // rotated a moment ago: the new file is not there yet
    }
    while (!signal.aborted) {
      startWatching();
      if (fd === undefined && open()) position = 0;
      if (fd !== undefined) {
        yield* drain();
        const named = statSync(file, { throwIfNoEntry: false });
        if (!named || named.ino !== ino) {
          // Rotated: finish the old file (a writer may still have been on it), then any generation
          // rotated after it while we were away, then the new file from the top.
          yield* drain();
          const last = parseEventLine(pending.toString('utf8'));
          if (last && matchesFilter(last, options)) yield last;
          closeFile();
          yield* newerGenerations(logsDir, ino, options);
          if (named) continue;
        }
      }
      await sleep();
    }
  } finally {
    watcher?.close();
    closeFile();
  }
}
