import { UserError } from '../core/errors.js';
import { loadRoster } from '../roster/load.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import { resolveFleetPaths, type FleetPaths } from '../roster/paths.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { DirectSupervisor } from '../supervisor/direct.js';
import type { Supervisor } from '../supervisor/types.js';
import { hostName, loginName } from '../system/identity.js';
import { runCommand, type CommandRunner } from '../system/runner.js';
import { TmuxClient } from '../tmux/client.js';

export interface GlobalOptions {
  roster?: string;
}

export interface FleetContext {
  env: NodeJS.ProcessEnv;
  paths: FleetPaths;
  roster: Roster;
  tmux: TmuxClient;
  runner: CommandRunner;
  supervisor: Supervisor;
  host: string;
  now: () => number;
}

export interface OpenFleetOptions {
  env: NodeJS.ProcessEnv;
  globals: GlobalOptions;
  runner?: CommandRunner;
}

export async function openFleet(options: OpenFleetOptions): Promise<FleetContext> {
  const runner = options.runner ?? runCommand;
  const paths = resolveFleetPaths(options.env, options.globals.roster);
  const roster = await loadRoster(paths.roster, {
    env: options.env,
    knownRuntimes: BUILTIN_RUNTIMES,
    defaultTenant: loginName(options.env),
  });
  const tmux = new TmuxClient({ socket: roster.socketName, runner, env: options.env });
  const now = (): number => Date.now();
  const deps = { roster, paths, tmux, runner, env: options.env, now };
  const supervisor = await createSupervisor(deps);
  return { ...deps, supervisor, host: hostName() };
}

async function createSupervisor(deps: ConstructorParameters<typeof DirectSupervisor>[0]): Promise<Supervisor> {
  if (deps.roster.supervisor === 'systemd') {
    const { loadSystemdSupervisor } = await import('../supervisor/systemd-loader.js');
    return loadSystemdSupervisor(deps);
  }
  return new DirectSupervisor(deps);
}

/** The named agents in roster order (all when none are named); unknown names are an error. */
export function selectAgents(roster: Roster, names: readonly string[]): AgentSpec[] {
  if (names.length === 0) return roster.agents;
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
