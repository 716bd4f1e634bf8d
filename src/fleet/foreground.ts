import { rm } from 'node:fs/promises';
import { UsageError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import { sessionIdFile } from '../launch/session.js';
import { findRuntimeBinDirs, prepareAgentLaunch, type LaunchSpec } from '../launch/spec.js';
import { LAUNCH_PROFILES } from '../launch/profiles.js';
import {
  AGENT_NAME_PATTERN,
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_HOLDER_SESSION,
  DEFAULT_RESTART_POLICY,
  DEFAULT_SOCKET,
  sessionNameFor,
  type AgentMode,
  type AgentSpec,
  type Roster,
} from '../roster/model.js';
import { invalidAgentName } from '../roster/ephemeral.js';
import { resolveFleetPaths } from '../roster/paths.js';
import { ensurePrivateDir } from '../system/fs.js';

export interface ForegroundOptions {
  runtime: string;
  mode: AgentMode;
  model?: string;
  /** The first prompt (the runtime's positional prompt, or opencode's --prompt). */
  prompt?: string;
  /** Passed to the runtime after mosaic's own flags. */
  extraArgs: string[];
  /** Names the private config and run files (default: <mode>-<runtime>). */
  name?: string;
  /** Resume this name's previous conversation instead of starting a new one. */
  resume?: boolean;
  roster?: string;
}

/**
 * `mosaic yolo|run <runtime>`: one runtime in the foreground of this terminal, launched by the same
 * builder and launcher as a fleet agent of that mode (flags, private per-agent config, hooks), in
 * the current directory. The roster, when there is one, supplies the runtime's command, env and
 * seed directory, as it does for fleet agents.
 */
export async function prepareForeground(host: Host, options: ForegroundOptions): Promise<LaunchSpec> {
  // Arguments no roster could make valid (the four runtimes are fixed here): usage errors, as agent new's name.
  if (!LAUNCH_PROFILES[options.runtime]) {
    throw new UsageError(`unknown runtime "${options.runtime}"`, { hint: `use one of ${Object.keys(LAUNCH_PROFILES).join(', ')}` });
  }
  const name = options.name ?? `${options.mode}-${options.runtime}`;
  if (!AGENT_NAME_PATTERN.test(name)) throw new UsageError(`invalid name "${name}": use letters, digits, ".", "_" or "-"`);
  // "." and "..", or a reserved name: the pattern allows them, but the agent's files would not be its own.
  const invalid = invalidAgentName(name);
  if (invalid) throw new UsageError(invalid);
  const paths = resolveFleetPaths(host.env, options.roster);
  const roster = await rosterOrDefault(host, paths.roster, options.roster !== undefined);
  const agent: AgentSpec = {
    name,
    session: sessionNameFor(name),
    runtime: options.runtime,
    workingDirectory: process.cwd(),
    args: options.extraArgs,
    env: {},
    mode: options.mode,
    line: 0,
    ...(options.model ? { model: options.model } : {}),
    ...(options.prompt ? { kickstartTemplate: options.prompt } : {}),
  };
  await Promise.all([ensurePrivateDir(paths.runDir), ensurePrivateDir(paths.agentsDir)]);
  const spec = await prepareAgentLaunch(roster, agent, {
    env: host.env,
    runDir: paths.runDir,
    agentsDir: paths.agentsDir,
    runtimeBinDirs: await findRuntimeBinDirs(host.env),
    identity: { uid: host.uid, host: host.identity.host, tenantId: roster.tenantId },
  });
  // Only once the launch is ready: a refused one (runtime not installed) keeps the conversation a later --resume continues.
  if (!options.resume) await rm(sessionIdFile(paths.runDir, name), { force: true });
  return spec;
}

async function rosterOrDefault(host: Host, file: string, required: boolean): Promise<Roster> {
  if (required || (await host.files.exists(file))) {
    const { loadRoster } = await import('../roster/load.js');
    const { BUILTIN_RUNTIMES } = await import('../runtimes/registry.js');
    return loadRoster(file, { env: host.env, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: host.identity.tenantId });
  }
  return {
    file,
    version: 1,
    tenantId: host.identity.tenantId,
    supervisor: 'builtin',
    socketName: DEFAULT_SOCKET,
    holderSession: DEFAULT_HOLDER_SESSION,
    heartbeatIntervalSeconds: DEFAULT_HEARTBEAT_SECONDS,
    restart: DEFAULT_RESTART_POLICY,
    defaultWorkingDirectory: process.cwd(),
    runtimes: {},
    agents: [],
  };
}
