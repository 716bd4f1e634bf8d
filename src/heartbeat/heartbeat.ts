import path from 'node:path';
import { readFileIfReadable, readFileOrUndefined } from '../system/fs.js';
import type { ProcessTable } from '../system/proc.js';

/** Heartbeat protocol v1: one line of space-separated key=value pairs, replaced atomically. */
export interface Heartbeat {
  ts: Date;
  pid: number;
  status: string;
  /** Extra fields from newer writers, kept for forward compatibility. */
  fields: Record<string, string>;
}

export type HeartbeatHealth = 'healthy' | 'stale' | 'unknown';

export function heartbeatFile(runDir: string, agentName: string): string {
  return path.join(runDir, `${agentName}.hb`);
}

/** The space-separated `key=value` pairs of a heartbeat line (or its `.status` companion). */
export function parseFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const token of text.trim().split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq > 0) fields[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return fields;
}

export function parseHeartbeat(text: string): Heartbeat | undefined {
  const fields = parseFields(text);
  const ts = fields.ts ? new Date(fields.ts) : undefined;
  const pid = Number(fields.pid);
  if (!ts || Number.isNaN(ts.getTime()) || !Number.isInteger(pid)) return undefined;
  return { ts, pid, status: fields.status ?? 'ok', fields };
}

export function formatHeartbeat(beat: { ts: Date; pid: number; status: string }): string {
  return `ts=${beat.ts.toISOString()} pid=${beat.pid} status=${beat.status}\n`;
}

/**
 * A runtime's reporter (framework/bin/mosaic-report) writes `<agent>.hb.status`, then `<agent>.hb`;
 * the heartbeat loop copies `.hb.status` into `.hb` every interval. A tick that read `.hb.status`
 * just before a report can put the older status back into `.hb` until its next tick, so the status
 * fields come from whichever file has the newer `status_ts`; liveness (`ts`, `pid`) from `.hb`.
 */
export function withNewerStatus(beat: Heartbeat | undefined, statusText: string | undefined): Heartbeat | undefined {
  if (!beat || statusText === undefined) return beat;
  const reported = parseFields(statusText);
  delete reported.ts; // the report's own time; liveness stays with `.hb`
  const newer = Date.parse(reported.status_ts ?? '');
  const current = Date.parse(beat.fields.status_ts ?? '');
  if (!reported.status || Number.isNaN(newer) || (!Number.isNaN(current) && newer <= current)) return beat;
  return { ...beat, status: reported.status, fields: { ...beat.fields, ...reported } };
}

export async function readHeartbeat(runDir: string, agentName: string): Promise<Heartbeat | undefined> {
  const file = heartbeatFile(runDir, agentName);
  const [text, statusText] = await Promise.all([readFileOrUndefined(file), readFileOrUndefined(`${file}.status`)]);
  return withNewerStatus(text === undefined ? undefined : parseHeartbeat(text), statusText);
}

/**
 * readHeartbeat for hot loops over hundreds of agents (fleet ps): no promise per file. With
 * `present` (a listing of the run directory), files it does not name are not opened.
 */
export function readHeartbeatSync(runDir: string, agentName: string, present?: ReadonlySet<string>): Heartbeat | undefined {
  const file = heartbeatFile(runDir, agentName);
  const name = `${agentName}.hb`;
  if (present && !present.has(name)) return undefined;
  const text = readFileIfReadable(file);
  if (text === undefined) return undefined;
  const status = present && !present.has(`${name}.status`) ? undefined : readFileIfReadable(`${file}.status`);
  return withNewerStatus(parseHeartbeat(text), status);
}

/**
 * Whether the process that wrote the beat is alive under the agent's pane. Only then is the beat a
 * report of the agent's current process (not the killed one's while the launcher sleeps its backoff).
 */
export function beatWriterAlive(beat: Heartbeat | undefined, panePid: number | null, processes: Pick<ProcessTable, 'aliveUnder'>): boolean {
  return beat !== undefined && processes.aliveUnder(beat.pid, panePid);
}

/** An agent's heartbeat as `fleet ps`, `fleet status` and `agent status` report it. */
export interface BeatHealth {
  health: HeartbeatHealth;
  /** Seconds since the beat, rounded to a tenth; null without a beat. */
  age: number | null;
  /** The beat's writer is alive under the live pane (see beatWriterAlive): the beat reports the current process. */
  writerAlive: boolean;
}

/**
 * The one health rule: every command that shows heartbeat health calls this, with the same facts, so
 * no two can disagree. `livePanePid` is the pid of the agent's pane when it has a pane that is alive;
 * null when the pane is dead or there is none (a stopped agent). The supervisor's state is not an input.
 *
 * - no beat file (or an unreadable one): `unknown`, whatever the pane;
 * - a beat at most three intervals old whose writer is alive under the live pane: `healthy`;
 * - any other beat: `stale`. That is an old beat, a beat whose writer is gone (or is not under the
 *   pane: a reused pid, or the killed process's beat while the launcher sleeps its backoff), and a
 *   beat left behind by a pane that died or a session that was stopped: nothing writes it any more.
 */
export function heartbeatHealth(
  beat: Heartbeat | undefined,
  livePanePid: number | null,
  processes: Pick<ProcessTable, 'aliveUnder'>,
  now: Date,
  intervalSeconds: number,
): BeatHealth {
  if (!beat) return { health: 'unknown', age: null, writerAlive: false };
  const writerAlive = livePanePid !== null && beatWriterAlive(beat, livePanePid, processes);
  const age = Math.round(ageSeconds(beat, now) * 10) / 10;
  const fresh = age <= 3 * intervalSeconds;
  return { health: fresh && writerAlive ? 'healthy' : 'stale', age, writerAlive };
}

export function ageSeconds(beat: Heartbeat, now: Date): number {
  return Math.max(0, (now.getTime() - beat.ts.getTime()) / 1000);
}
