import { readFileSync } from 'node:fs';
import { heartbeatFile, parseFields } from '../heartbeat/heartbeat.js';

/**
 * Signals written beside an agent's heartbeat by its hooks and by tmux.
 *
 * The last usage-limit report of an agent's runtime: `<heartbeat>.limit`, one line of key=value
 * fields written by framework/bin/mosaic-limit (claude's StopFailure hook / status line) —
 * `ts=… resets_at=<ISO>|- source=… runtime=… detail=…` — and rewritten with `detail=clear` (or
 * removed) once a turn succeeds again.
 */
export interface LimitReport {
  ts: Date;
  resetsAt: Date | null;
  source: string;
  detail: string;
  active: boolean;
}

export const limitFile = (runDir: string, agent: string): string => `${heartbeatFile(runDir, agent)}.limit`;

export function parseLimit(text: string): LimitReport | undefined {
  const fields = parseFields(text.split('\n')[0] ?? '');
  const ts = new Date(fields.ts ?? '');
  if (Number.isNaN(ts.getTime())) return undefined;
  const reset = fields.resets_at && fields.resets_at !== '-' ? new Date(fields.resets_at) : null;
  const detail = fields.detail ?? 'limit';
  return {
    ts,
    resetsAt: reset && !Number.isNaN(reset.getTime()) ? reset : null,
    source: fields.source ?? 'runtime',
    detail,
    active: detail !== 'clear',
  };
}

export function readLimitSync(runDir: string, agent: string): LimitReport | undefined {
  try {
    return parseLimit(readFileSync(limitFile(runDir, agent), 'utf8'));
  } catch {
    return undefined;
  }
}

/** `<heartbeat>.bell`: when the agent's terminal last rang its bell (written by tmux's alert-bell hook). */
export const bellFile = (runDir: string, agent: string): string => `${heartbeatFile(runDir, agent)}.bell`;

export function readBellSync(runDir: string, agent: string): Date | undefined {
  try {
    const at = new Date(readFileSync(bellFile(runDir, agent), 'utf8').trim());
    return Number.isNaN(at.getTime()) ? undefined : at;
  } catch {
    return undefined;
  }
}
