import type { PsRecord, PsReport } from './ps.js';

/*
 * The `fleet ps` table as data, for the CLI (which paints the tones with ANSI colours) and the
 * dashboard page (which loads this compiled file as /cells.js and paints them with CSS): one
 * source for columns, cell texts and colours. Pure, no imports at run time (the browser loads it alone).
 */

/** A colour as stateColour gives it; '' for none. */
export type Tone = 'green' | 'red' | 'yellow' | 'bold' | '';
/** A cell is a list of segments: only part of some cells is coloured (ACTIVITY, HEARTBEAT, FLAGS). */
export interface Segment {
  text: string;
  tone: Tone;
}

export const COLUMNS: readonly string[] = [
  'AGENT',
  'NEEDS',
  'TENANT',
  'HOST',
  'RUNTIME',
  'CLASS',
  'MODE',
  'MODEL',
  'STATE',
  'ACTIVITY',
  'UNIT',
  'PANE',
  'PANE PID',
  'AGENT PID',
  'COMMAND',
  'IDLE',
  'HEARTBEAT',
  'RESTARTS',
  'FLAGS',
];

/** `PANE PID` → `pane-pid`: the `data-col` of a cell. */
export const colKey = (header: string): string => header.toLowerCase().replace(/ /g, '-');

/** attention/state.ts ATTENTION_STATES (a test keeps them equal; not imported, so the browser needs no other file). */
export const ATTENTION_ORDER: readonly string[] = ['permission', 'question', 'error', 'limit', 'done', 'none'];

/** Needs-you first (as `fleet ps --attention`), then by agent name. */
export function byAttention<T extends Pick<PsRecord, 'agent' | 'attention'>>(records: readonly T[]): T[] {
  const rank = (r: T): number => {
    const i = ATTENTION_ORDER.indexOf(r.attention?.state);
    return i === -1 ? ATTENTION_ORDER.length : i;
  };
  return [...records].sort((a, b) => rank(a) - rank(b) || a.agent.localeCompare(b.agent));
}

/** The tone stateColour gives a word: green, red, yellow, bold or none. */
export function stateTone(state: string): Tone {
  switch (state) {
    case 'running':
    case 'healthy':
    case 'started':
    case 'restarted':
    case 'stopped-ok':
      return 'green';
    case 'failed':
    case 'dead':
    case 'error':
    case 'stale':
      return 'red';
    case 'restarting':
    case 'unknown':
    case 'waiting':
      return 'yellow';
    case 'busy':
      return 'bold';
    default:
      return '';
  }
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

const seg = (text: string | number, tone: Tone = ''): Segment => ({ text: String(text), tone });
const plain = (value: string | number | null | undefined): Segment[] => [
  seg(value === null || value === undefined || value === '' ? '-' : value),
];

function needsCell(r: PsRecord): Segment[] {
  const a = r.attention;
  if (!a || a.state === 'none') return plain('-');
  const text =
    a.state === 'permission' && a.tool
      ? `permission:${a.tool}`
      : a.state === 'limit' && a.resets_at
        ? `limit→${new Date(a.resets_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`
        : a.state;
  return [seg(text, a.state === 'done' ? 'green' : a.state === 'error' ? 'red' : 'yellow')];
}

function activityCell(r: PsRecord): Segment[] {
  if (r.status_source === 'none') return plain('-');
  return [seg(r.activity, stateTone(r.activity)), seg(`${r.reason ? `:${r.reason}` : ''}${r.status_source === 'screen' ? '*' : ''}`)];
}

function unitCell(r: PsRecord): Segment[] {
  if (!r.unit) return plain('-');
  const active = r.unit.active_state ?? '?';
  const file = r.unit.unit_file_state ?? '?';
  return [seg(`${active}/${file}`, active === 'active' && file === 'enabled' ? 'green' : active === 'failed' ? 'red' : 'yellow')];
}

function paneCell(r: PsRecord): Segment[] {
  if (r.pane === 'alive') return [seg('alive', 'green')];
  if (r.pane === 'dead') return [seg(r.exit_status === null ? 'dead' : `dead(${r.exit_status})`, 'red')];
  return plain('-');
}

function heartbeatCell(r: PsRecord): Segment[] {
  const { health, age_seconds: age } = r.heartbeat;
  return [seg(health, stateTone(health)), seg(age === null ? '' : ` ${formatSeconds(age)}`)];
}

function flagsCell(r: PsRecord): Segment[] {
  return r.flags.flatMap((flag, i) => [...(i > 0 ? [seg(',')] : []), seg(flag, flag === 'boot' || flag === 'missing' ? 'yellow' : 'red')]);
}

/** One record's cells, in COLUMNS order. */
export function recordCells(r: PsRecord): Segment[][] {
  return [
    [seg(r.agent)],
    needsCell(r),
    [seg(r.tenant_id)],
    [seg(r.host)],
    plain(r.runtime),
    plain(r.class),
    plain(r.mode),
    plain(r.model),
    [seg(r.state, stateTone(r.state))],
    activityCell(r),
    unitCell(r),
    paneCell(r),
    plain(r.pane_pid),
    plain(r.agent_pid),
    plain(r.current_command),
    [seg(formatSeconds(r.idle_seconds))],
    heartbeatCell(r),
    plain(r.restarts),
    flagsCell(r),
  ].map((cell) => cell.filter((s) => s.text !== ''));
}

/** Hover text with what the CLI prints under the table (why a flag is set, what the activity reading says). */
export function cellTitle(column: string, r: PsRecord): string {
  if (column === 'ACTIVITY') return r.activity_detail ?? '';
  if (column === 'STATE') return r.failed_reason ?? '';
  if (column === 'NEEDS') return r.attention?.state === 'none' ? '' : (r.attention?.detail ?? '');
  if (column === 'FLAGS') return r.flags.map((f) => `${f}: ${r.reasons[f] ?? ''}`).join('\n');
  return '';
}

export const headerLine = (s: Omit<PsReport, 'records'>): string =>
  `fleet of ${s.tenant_id}@${s.host} on socket ${s.socket} (${s.supervisor} supervisor, holder ${s.holder})`;

/** The "needs you" lines: every agent whose attention is neither none nor done. */
export const needsYou = <T extends Pick<PsRecord, 'attention'>>(records: readonly T[]): T[] =>
  records.filter((r) => r.attention && r.attention.state !== 'none' && r.attention.state !== 'done');

export const needsLine = (r: Pick<PsRecord, 'agent' | 'attention'>): string =>
  `${r.agent} needs you: ${r.attention.detail}${r.attention.summary ? ` — ${r.attention.summary}` : ''}`;
