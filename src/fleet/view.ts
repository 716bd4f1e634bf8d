import { loadRosterCached } from '../messaging/roster-cache.js';
import type { Roster } from '../roster/model.js';
import { resolveFleetPaths, type FleetPaths } from '../roster/paths.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { hostName, loginName } from '../system/identity.js';
import { runCommand, type CommandRunner } from '../system/runner.js';
import { TmuxClient } from '../tmux/client.js';

/**
 * What the read-only observers (ps, watch, attach, logs) need: the roster and the planes
 * to read, but no supervisor. So they work whichever supervisor the roster names, and
 * never start, stop or repair anything by accident.
 */
export interface FleetView {
  env: NodeJS.ProcessEnv;
  paths: FleetPaths;
  roster: Roster;
  tmux: TmuxClient;
  runner: CommandRunner;
  host: string;
  uid: number;
  now: () => number;
}

export async function openFleetView(options: { env: NodeJS.ProcessEnv; roster?: string; runner?: CommandRunner }): Promise<FleetView> {
  const runner = options.runner ?? runCommand;
  const paths = resolveFleetPaths(options.env, options.roster);
  // The validated roster comes from the cache `agent send` keeps (YAML parsing and schema
  // compilation cost more than the whole join), unless the roster or its inputs changed.
  const roster = await loadRosterCached(paths.roster, paths.runDir, {
    env: options.env,
    knownRuntimes: BUILTIN_RUNTIMES,
    defaultTenant: loginName(options.env),
  });
  const tmux = new TmuxClient({ socket: roster.socketName, runner, env: options.env });
  return { env: options.env, paths, roster, tmux, runner, host: hostName(), uid: process.getuid?.() ?? 0, now: () => Date.now() };
}
