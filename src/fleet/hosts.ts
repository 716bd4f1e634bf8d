import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { FleetContext } from '../context/context.js';
// ssh and the remote client load only when the roster has other hosts.
import type { RemoteMosaic } from '../remote/remote-mosaic.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import type { PsRecord, PsReport } from './ps.js';

/** Which agents a command acts on here, and which on each other host (an empty list: all of that host's agents). */
export interface HostTargets {
  local: AgentSpec[];
  remote: Map<string, string[]>;
}

/**
 * Split agent names (`agent` or `host/agent`) by the host that runs them; no names means every
 * agent everywhere. Unknown names are one error listing them all.
 */
export function splitTargets(roster: Roster, names: readonly string[]): HostTargets {
  const remoteAgents = roster.remoteAgents ?? [];
  if (names.length === 0) {
    const remote = new Map<string, string[]>();
    for (const agent of remoteAgents) remote.set(agent.host!, []);
    return { local: roster.agents, remote };
  }
  const local = new Set<string>();
  const remote = new Map<string, string[]>();
  const unknown: string[] = [];
  const localNames = new Set([roster.localHost, roster.localHost?.split('.')[0]]);
  for (const given of names) {
    const slash = given.indexOf('/');
    const host = slash >= 0 ? given.slice(0, slash) : undefined;
    const name = slash >= 0 ? given.slice(slash + 1) : given;
    const here = roster.agents.find((agent) => agent.name === name);
    const there = remoteAgents.find((agent) => agent.name === name);
    if (here && (host === undefined || localNames.has(host))) local.add(name);
    else if (there && (host === undefined || host === there.host)) remote.set(there.host!, [...(remote.get(there.host!) ?? []), name]);
    else unknown.push(given);
  }
  if (unknown.length > 0) {
    const known = [...roster.agents.map((a) => a.name), ...remoteAgents.map((a) => `${a.host}/${a.name}`)];
    throw new UserError(
      `${unknown.length === 1 ? 'agent' : 'agents'} ${unknown.map((n) => `"${n}"`).join(', ')} not in roster ${roster.file} (known: ${known.join(', ')})`,
      { hint: 'name an agent as <agent> or <host>/<agent>' },
    );
  }
  return { local: roster.agents.filter((agent) => local.has(agent.name)), remote };
}

/** The operator's name as other hosts file its roster under: tenant@host. */
export const originOf = (view: FleetContext): string =>
  `${view.roster.tenantId}@${view.host.identity.host}`.replace(/[^A-Za-z0-9_.@-]/g, '_');

/** The mosaic of one roster host. */
export async function remoteMosaic(view: FleetContext, host: string): Promise<RemoteMosaic> {
  const spec = view.roster.hosts?.[host];
  if (!spec)
    throw new UserError(
      `no host "${host}" in roster ${view.roster.file} (hosts: ${Object.keys(view.roster.hosts ?? {}).join(', ') || 'none'})`,
    );
  const yaml = view.roster.hostRosters?.[host] ?? `agents: []\n`;
  const { RemoteMosaic } = await import('../remote/remote-mosaic.js');
  return new RemoteMosaic(view.host, spec, { yaml, stateDir: view.paths.stateDir, origin: originOf(view) });
}

export interface HostOutcome<T> {
  host: string;
  value?: T;
  /** The host did not answer (ssh failed or timed out). */
  unreachable?: string;
  /** It answered, with an error. */
  error?: string;
}

/** Run `work` on every host of `targets` at once; an unreachable host or an error is reported, not thrown. */
export async function onHosts<T>(
  view: FleetContext,
  hosts: ReadonlyMap<string, string[]>,
  work: (remote: RemoteMosaic, names: string[]) => Promise<T>,
): Promise<HostOutcome<T>[]> {
  if (hosts.size === 0) return [];
  const { HostUnreachableError } = await import('../remote/remote-mosaic.js');
  return Promise.all(
    [...hosts].map(async ([host, names]): Promise<HostOutcome<T>> => {
      try {
        return { host, value: await work(await remoteMosaic(view, host), names) };
      } catch (error) {
        if (error instanceof HostUnreachableError) return { host, unreachable: error.reason };
        return { host, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

/** Records from another host carry that host's roster name, as every row mosaic prints does. */
export const asRosterHost = <T extends { host?: string }>(rows: readonly T[], host: string): T[] => rows.map((row) => ({ ...row, host }));

/** Where the last rows a host gave to `fleet ps` are kept, for when it does not answer. */
const lastSeenFile = (view: FleetContext, host: string): string => path.join(view.paths.stateDir, 'hosts', `${host}.ps.json`);

export interface HostsPs {
  report: PsReport;
  /** Hosts that did not answer, and why. */
  unreachable: { host: string; reason: string }[];
}

/**
 * `fleet ps` across hosts: this host's report, then every other host's rows, asked in parallel
 * with the host's timeout. A host that does not answer shows its last known rows flagged `stale`
 * with their age (or, never seen, one `unreachable` row per agent) instead of failing the command.
 */
export async function psAcrossHosts(view: FleetContext, readLocal: () => Promise<PsReport>): Promise<HostsPs> {
  const hosts = splitTargets(view.roster, []).remote;
  if (hosts.size === 0) return { report: await readLocal(), unreachable: [] };
  const now = view.host.now();
  // The other hosts work while this one reads its own fleet.
  const [local, answers] = await Promise.all([
    readLocal(),
    onHosts(view, hosts, async (remote) => {
      const result = await remote.json<PsRecord[]>(['fleet', 'ps']);
      if (!Array.isArray(result.value)) throw new UserError(`fleet ps failed there: ${result.stderr.trim() || `exit ${result.status}`}`);
      return result.value;
    }),
  ]);
  const records = [...local.records];
  const unreachable: HostsPs['unreachable'] = [];
  for (const answer of answers) {
    if (answer.value) {
      const rows = asRosterHost(answer.value, answer.host);
      records.push(...rows);
      await view.host.files.ensurePrivateDir(path.dirname(lastSeenFile(view, answer.host)));
      await view.host.files.writeAtomic(lastSeenFile(view, answer.host), JSON.stringify({ at: now, records: rows }), { mode: 0o600 });
      continue;
    }
    const reason = answer.unreachable ?? answer.error ?? 'no answer';
    unreachable.push({ host: answer.host, reason });
    records.push(...(await lastSeenRows(view, answer.host, reason, now)));
  }
  return { report: { ...local, records }, unreachable };
}

async function lastSeenRows(view: FleetContext, host: string, reason: string, now: number): Promise<PsRecord[]> {
  let seen: { at: number; records: PsRecord[] } | undefined;
  try {
    seen = JSON.parse((await view.host.files.read(lastSeenFile(view, host))) ?? '') as { at: number; records: PsRecord[] };
  } catch {
    seen = undefined;
  }
  if (seen) {
    const age = Math.max(0, Math.round((now - seen.at) / 1000));
    return seen.records.map((row) => ({
      ...row,
      reachable: false,
      stale_seconds: age,
      flags: [...row.flags.filter((flag) => flag !== 'stale'), 'stale'],
      reasons: { ...row.reasons, stale: `host "${host}" did not answer (${reason}); this row is ${age}s old` },
    }));
  }
  return (view.roster.remoteAgents ?? []).filter((agent) => agent.host === host).map((agent) => unreachableRow(view, agent, reason));
}

/** A row for an agent of a host that has never answered: nothing known but its roster entry. */
function unreachableRow(view: FleetContext, agent: AgentSpec, reason: string): PsRecord {
  return {
    tenant_id: '-',
    host: agent.host!,
    agent: agent.name,
    session: agent.session,
    runtime: agent.runtime,
    class: agent.class ?? null,
    supervisor: view.roster.supervisor,
    state: 'unreachable',
    unit: null,
    pane: 'missing',
    pane_id: null,
    pane_pid: null,
    exit_status: null,
    agent_pid: null,
    current_command: null,
    pane_command: null,
    idle_seconds: null,
    heartbeat: { health: 'unknown', age_seconds: null, status: null, pid: null },
    restarts: null,
    failed_reason: null,
    activity: 'unknown',
    status_source: 'none',
    activity_detail: `host "${agent.host}" did not answer`,
    reason: null,
    attention: { state: 'none', since: null, detail: `host "${agent.host}" did not answer` },
    mode: agent.mode,
    model: null,
    session_id: null,
    flags: ['stale'],
    reachable: false,
    stale_seconds: null,
    reasons: { stale: `host "${agent.host}" did not answer (${reason}) and has never been seen` },
  };
}
