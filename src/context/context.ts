import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import { loadRosterCached } from '../roster/cache.js';
import { withEphemeralAgents } from '../roster/ephemeral.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import { resolveFleetPaths, type FleetPaths } from '../roster/paths.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import type { TmuxClient } from '../tmux/client.js';

export interface GlobalOptions {
  roster?: string;
}

/**
 * One fleet on one host: where its files are, its validated roster, and the client for its
 * tmux server. Everything a service needs to read or act on the fleet, except a supervisor
 * (the fleet layer adds one for the verbs that start, stop or repair).
 */
export interface FleetContext {
  host: Host;
  paths: FleetPaths;
  roster: Roster;
  tmux: TmuxClient;
}

/**
 * The roster comes from the cache in the run directory unless the roster or anything its load
 * depends on changed (roster/cache.ts): the answer is the full loader's, for a fraction of its cost.
 */
export async function loadFleetContext(host: Host, options: GlobalOptions = {}): Promise<FleetContext> {
  const paths = resolveFleetPaths(host.env, options.roster);
  const loadOptions = {
    env: host.env,
    knownRuntimes: BUILTIN_RUNTIMES,
    defaultTenant: host.identity.tenantId,
    localHost: host.identity.host,
  };
  const roster = await loadRosterCached(paths.roster, paths.runDir, loadOptions);
  const withEphemeral = await withEphemeralAgents(roster, paths.stateDir);
  return { host, paths, roster: withWorktreeDirs(withEphemeral, paths.worktreesDir), tmux: host.tmux(roster.socketName) };
}

/** A worktree agent works in `<worktrees>/<agent>`; its roster directory is the repository it comes from. */
export function withWorktreeDirs(roster: Roster, worktreesDir: string): Roster {
  if (!roster.agents.some((agent) => agent.worktree)) return roster;
  return {
    ...roster,
    agents: roster.agents.map((agent) =>
      agent.worktree ? { ...agent, sourceDirectory: agent.workingDirectory, workingDirectory: path.join(worktreesDir, agent.name) } : agent,
    ),
  };
}

/** The named agents in roster order (all when none are named); unknown names are an error. */
export function selectAgents(roster: Roster, given: readonly string[]): AgentSpec[] {
  if (given.length === 0) return roster.agents;
  // `<this host>/agent` names an agent of this machine too.
  const here = new Set([roster.localHost, roster.localHost?.split('.')[0]]);
  const names = given.map((name) => {
    const slash = name.indexOf('/');
    return slash > 0 && here.has(name.slice(0, slash)) ? name.slice(slash + 1) : name;
  });
  const unknown = names.filter((name) => !roster.agents.some((agent) => agent.name === name));
  if (unknown.length > 0) {
    throw new UserError(
      `${unknown.length === 1 ? 'agent' : 'agents'} ${unknown.map((n) => `"${n}"`).join(', ')} not in roster ${roster.file} (known: ${roster.agents.map((a) => a.name).join(', ')})`,
      { hint: 'check the name with `mosaic agent roster`' },
    );
  }
  const wanted = new Set(names);
  return roster.agents.filter((agent) => wanted.has(agent.name));
}

export function findAgent(roster: Roster, name: string): AgentSpec {
  return selectAgents(roster, [name])[0]!;
}
