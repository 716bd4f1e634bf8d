import { readdirSync, readlinkSync } from 'node:fs';
import { readFileIfReadable } from './fs.js';

/** One line of /proc/<pid>/stat, the fields we use. */
export interface ProcessStat {
  pid: number;
  /** Kernel thread name (15 characters at most; a runtime can rename itself, e.g. pi sets "pi"). */
  comm: string;
  /** R, S, D, Z (zombie), T, … */
  state: string;
  ppid: number;
}

/** The fields of a /proc/<pid>/stat line from field 3 (the state) on: they start after the LAST ")". */
const fieldsAfterComm = (text: string, close: number): string[] =>
  text
    .slice(close + 1)
    .trim()
    .split(' ');

/** statFields(text)[0] is field 3 (the state), [19] field 22 (the start time); undefined for no text or no ")". */
export function statFields(text: string | undefined): string[] | undefined {
  const close = text?.lastIndexOf(')') ?? -1;
  return text === undefined || close < 0 ? undefined : fieldsAfterComm(text, close);
}

/**
 * Parse /proc/<pid>/stat. The comm field sits in parentheses and may itself contain
 * spaces and ")", so the fields after it are found from the LAST ")".
 */
export function parseStat(text: string): ProcessStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = fieldsAfterComm(text, close);
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !rest[0]) return undefined;
  return { pid, comm: text.slice(open + 1, close), state: rest[0], ppid };
}

/**
 * A zombie's wait status (field 52 of /proc/<pid>/stat, Linux 3.5+): how it exited, kept by the kernel
 * until its parent reaps it. undefined when the process is not a zombie (alive, reaped, or not ours to read).
 */
export function zombieWaitStatus(pid: number, root = '/proc'): number | undefined {
  const fields = statFields(readFileIfReadable(`${root}/${pid}/stat`));
  if (fields?.[0] !== 'Z' || fields.length < 50) return undefined;
  const status = Number(fields[49]);
  return Number.isInteger(status) ? status : undefined;
}

/** /proc/<pid>/cmdline: NUL-separated argv (a process that rewrote its title may use spaces). */
export function parseCmdline(text: string): string[] {
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * A read-only view of the process table from /proc, with no subprocesses. Single
 * processes are read on demand; the full table (for walking a pane's process tree)
 * is scanned at most once, on first need, in one pass over /proc/<pid>/stat.
 */
export class ProcessTable {
  private scanned: Map<number, ProcessStat> | undefined;
  private children: Map<number, number[]> | undefined;
  private readonly stats = new Map<number, ProcessStat | null>();
  private readonly argvs = new Map<number, string[] | null>();

  /** `root` is /proc; tests point it at a fixture directory. */
  constructor(private readonly root = '/proc') {}

  private read(file: string): string | undefined {
    return readFileIfReadable(file);
  }

  stat(pid: number): ProcessStat | undefined {
    if (this.scanned) return this.scanned.get(pid);
    if (!this.stats.has(pid)) {
      const text = this.read(`${this.root}/${pid}/stat`);
      this.stats.set(pid, (text && parseStat(text)) || null);
    }
    return this.stats.get(pid) ?? undefined;
  }

  /** Alive means present and not a zombie. */
  alive(pid: number): boolean {
    const stat = this.stat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  }

  argv(pid: number): string[] | undefined {
    if (!this.argvs.has(pid)) {
      const text = this.read(`${this.root}/${pid}/cmdline`);
      this.argvs.set(pid, text ? parseCmdline(text) : null);
    }
    return this.argvs.get(pid) ?? undefined;
  }

  /** The executable's path; undefined when unreadable (another user's process, or gone). */
  exe(pid: number): string | undefined {
    try {
      return readlinkSync(`${this.root}/${pid}/exe`);
    } catch {
      return undefined;
    }
  }

  private scan(): Map<number, number[]> {
    if (this.children && this.scanned) return this.children;
    const table = new Map<number, ProcessStat>();
    const children = new Map<number, number[]>();
    let entries: string[] = [];
    try {
      entries = readdirSync(this.root);
    } catch {
      entries = [];
    }
    for (const entry of entries) {
      const code = entry.charCodeAt(0);
      if (code < 48 || code > 57) continue; // only numeric entries are processes
      const text = this.read(`${this.root}/${entry}/stat`); // plain concatenation: path.join is measurable here
      const stat = text ? parseStat(text) : undefined;
      if (!stat) continue;
      table.set(stat.pid, stat);
      const siblings = children.get(stat.ppid);
      if (siblings) siblings.push(stat.pid);
      else children.set(stat.ppid, [stat.pid]);
    }
    for (const list of children.values()) list.sort((a, b) => a - b);
    this.scanned = table;
    this.children = children;
    return children;
  }

  /** Whether the full table has been read (for tests and benchmarks that count work). */
  get fullyScanned(): boolean {
    return this.scanned !== undefined;
  }

  /**
   * Whether `pid` is alive and is `root` or runs under it (walking up parent pids, a few
   * reads). A bare "is alive" is fooled when a busy box reuses the pid of a dead writer.
   */
  aliveUnder(pid: number, root: number | null): boolean {
    if (root === null || !this.alive(pid)) return false;
    for (let current = pid, depth = 0; current > 1 && depth < 64; depth += 1) {
      if (current === root) return true;
      const parent = this.stat(current)?.ppid;
      if (parent === undefined) return false;
      current = parent;
    }
    return false;
  }

  /** All descendants of pid, breadth first (nearest first), not including pid itself. */
  descendants(pid: number): number[] {
    const children = this.scan();
    const result: number[] = [];
    const queue = [...(children.get(pid) ?? [])];
    const seen = new Set<number>([pid]);
    while (queue.length > 0) {
      const next = queue.shift()!;
      if (seen.has(next)) continue;
      seen.add(next);
      result.push(next);
      queue.push(...(children.get(next) ?? []));
    }
    return result;
  }
}
