import type { Command } from 'commander';
import { UsageError, UserError } from '../../core/errors.js';
import { loadFleetContext } from '../../context/context.js';
import {
  FLEET_EVENT_TYPES,
  agentsInLog,
  eventLogFile,
  followEvents,
  readEvents,
  type EventFilter,
  type FleetEvent,
  type FleetEventType,
} from '../../events/log.js';
import { resolveFleetPaths } from '../../roster/paths.js';
import { cliHost } from '../host.js';
import { colour, err, out } from '../output.js';

interface EventsFlags {
  roster?: string;
  follow?: boolean;
  since?: string;
  agent?: string;
  type?: string;
  json?: boolean;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO 8601 time (a date alone is midnight UTC), or a span back from now: 30s, 10m, 2h, 1d. */
export function parseSince(value: string, nowMs: number): Date {
  const relative = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(value.trim());
  if (relative) return new Date(nowMs - Number(relative[1]) * UNIT_MS[relative[2]!]!);
  const form = /^(\d{4})-(\d{2})-(\d{2})([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  // Date.parse rolls a day the month does not have over into the next month (2026-02-30 is March 2): refuse it.
  const realDay = form !== null && Number(form[3]) <= new Date(Date.UTC(Number(form[1]), Number(form[2]), 0)).getUTCDate();
  const absolute = form && realDay ? Date.parse(value.trim().replace(' ', 'T')) : NaN;
  if (Number.isNaN(absolute)) {
    throw new UsageError(
      `--since takes an ISO 8601 time (2025-05-01T10:00, 2025-05-01T10:00:00Z) or a span back from now (30s, 10m, 2h, 1d), got "${value}"`,
    );
  }
  return new Date(absolute);
}

/** `--type start,crash`: known types only. */
export function parseTypes(value: string): FleetEventType[] {
  const types = value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (types.length === 0) throw new UsageError(`--type needs at least one event type (known: ${FLEET_EVENT_TYPES.join(', ')})`);
  const unknown = types.filter((t) => !(FLEET_EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) {
    throw new UsageError(
      `--type: unknown event type${unknown.length === 1 ? '' : 's'} ${unknown.map((t) => `"${t}"`).join(', ')} (known: ${FLEET_EVENT_TYPES.join(', ')})`,
    );
  }
  return types as FleetEventType[];
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const localDate = (d: Date): string => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;

/** A value in a `key=value` detail: bare when it is one plain word, else JSON. */
function detailValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function typeColour(type: string, text: string): string {
  switch (type) {
    case 'crash':
    case 'failed':
      return colour.red(text);
    case 'restart':
    case 'attention':
    case 'approval':
      return colour.yellow(text);
    case 'start':
      return colour.green(text);
    default:
      return text;
  }
}

/** `HH:MM:SS agent type key=value…` (local time; the date in front for an event of another day). */
export function formatEvent(event: FleetEvent, now: Date): string {
  const at = new Date(event.ts);
  const time = `${pad2(at.getHours())}:${pad2(at.getMinutes())}:${pad2(at.getSeconds())}`;
  const when = localDate(at) === localDate(now) ? time : `${localDate(at)} ${time}`;
  const { type, agent } = event;
  const detail = Object.entries(event)
    .filter(([key, value]) => key !== 'ts' && key !== 'type' && key !== 'agent' && value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${detailValue(value)}`)
    .join(' ');
  return `${when} ${(agent ?? '-').padEnd(12)} ${typeColour(type, type.padEnd(12))} ${detail}`.trimEnd();
}

export async function events(command: Command): Promise<number> {
  const flags = command.optsWithGlobals<EventsFlags>();
  const host = cliHost();
  const now = host.now();
  const filter: EventFilter = {
    since: flags.since === undefined ? undefined : parseSince(flags.since, now),
    types: flags.type === undefined ? undefined : parseTypes(flags.type),
    agent: flags.agent,
  };
  // The log needs no roster (its place follows from the roster's path); the roster only names
  // the tenant and the agents --agent may name.
  const { logsDir } = resolveFleetPaths(host.env, flags.roster);
  let tenantId = host.identity.tenantId;
  let known: string[] | undefined;
  let rosterFile: string | undefined;
  let rosterProblem: string | undefined;
  try {
    const ctx = await loadFleetContext(host, { roster: flags.roster });
    tenantId = ctx.roster.tenantId;
    known = ctx.roster.agents.map((agent) => agent.name);
    rosterFile = ctx.roster.file;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    rosterProblem = error.message.split('\n')[0];
  }
  if (flags.agent !== undefined && !known?.includes(flags.agent) && !(await agentsInLog(logsDir)).has(flags.agent)) {
    throw new UserError(
      `agent "${flags.agent}" is not in ${rosterFile ? `roster ${rosterFile}` : `the roster (${rosterProblem})`} and has no events in ${eventLogFile(logsDir)}` +
        (known ? ` (known: ${known.join(', ')})` : ''),
      { hint: 'check the name with `mosaic agent roster`' },
    );
  }

  const print = flags.json
    ? (event: FleetEvent): void => out(JSON.stringify({ tenant_id: tenantId, host: host.identity.host, ...event }))
    : (event: FleetEvent): void => out(formatEvent(event, new Date()));

  if (!flags.follow) {
    const found = await readEvents(logsDir, filter);
    for (const event of found) print(event);
    if (found.length === 0 && !flags.json) err(`no events${describeFilter(filter)} in ${eventLogFile(logsDir)}`);
    return 0;
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.once('error', stop); // a closed pipe (| head) ends the follow
  try {
    for await (const event of followEvents(logsDir, { ...filter, signal: controller.signal, backlog: true })) print(event);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', stop);
  }
  return 0;
}

function describeFilter(filter: EventFilter): string {
  const parts = [
    filter.agent === undefined ? '' : ` of agent ${filter.agent}`,
    filter.types ? ` of type ${filter.types.join(',')}` : '',
    filter.since ? ` since ${filter.since.toISOString()}` : '',
  ];
  return parts.join('');
}
