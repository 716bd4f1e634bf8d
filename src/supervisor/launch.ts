import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { heartbeatFile } from '../heartbeat/heartbeat.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import { expandHome } from '../roster/paths.js';
import { integrationFor } from '../runtimes/integrations/index.js';
import { resolveRuntime } from '../runtimes/registry.js';
import { packageRoot } from '../system/package.js';
import { fileExists, isExecutable, readFileOrUndefined, writeRunFile } from '../system/fs.js';
import { launchSpecFile } from './state.js';
import { supervisorLogFile, transcriptCheckSeconds, transcriptMaxBytes } from './transcript.js';

export interface LaunchEnvironment {
  env: NodeJS.ProcessEnv;
  runDir: string;
  /** <config root>/agents: per-agent private runtime config lives in <agentsDir>/<agent>/<runtime>. */
  agentsDir?: string;
  /** Directories that exist and go in front of PATH, in order, deduplicated. */
  runtimeBinDirs: string[];
}

/**
 * Runtime bin dirs: $MOSAIC_RUNTIME_BIN (colon list), the npm global prefix's bin,
 * ~/.npm-global/bin, ~/.local/bin. Always prefixed, even when already on PATH, so the
 * pane finds the runtime the operator installed rather than an older one.
 */
export async function findRuntimeBinDirs(env: NodeJS.ProcessEnv): Promise<string[]> {
  const home = env.HOME ?? '';
  const candidates: string[] = [];
  if (env.MOSAIC_RUNTIME_BIN) candidates.push(...env.MOSAIC_RUNTIME_BIN.split(':').filter(Boolean));
  const prefix = await npmGlobalPrefix(env, home);
  if (prefix) candidates.push(path.join(prefix, 'bin'));
  if (home) candidates.push(path.join(home, '.npm-global', 'bin'), path.join(home, '.local', 'bin'));
  const result: string[] = [];
  for (const dir of candidates.map((d) => path.resolve(expandHome(d, home)))) {
    if (!result.includes(dir) && (await fileExists(dir))) result.push(dir);
  }
  return result;
}

/**
 * What `npm prefix -g` prints, without starting npm (about 100 ms and a Node process per
 * start): npm takes `prefix` from $npm_config_prefix, then ~/.npmrc, then the global npmrc
 * under Node's own prefix, and defaults to Node's prefix (the directory above node's bin/).
 */
export async function npmGlobalPrefix(env: NodeJS.ProcessEnv, home: string, execPath = process.execPath): Promise<string> {
  if (env.npm_config_prefix) return env.npm_config_prefix;
  const nodePrefix = path.dirname(path.dirname(execPath));
  for (const rc of [env.npm_config_userconfig ?? path.join(home, '.npmrc'), path.join(nodePrefix, 'etc', 'npmrc')]) {
    const text = await readFileOrUndefined(rc).catch(() => undefined);
    const match = text === undefined ? null : /^\s*prefix\s*=\s*(.+?)\s*$/m.exec(text);
    if (match) return path.resolve(expandHome(match[1]!.replace(/^["']|["']$/g, ''), home));
  }
  return nodePrefix;
}

export function prefixedPath(binDirs: readonly string[], currentPath: string | undefined): string {
  const rest = (currentPath ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean);
  return [...binDirs, ...rest].join(':');
}

export interface LaunchSpec {
  agent: string;
  env: Record<string, string>;
  argv: string[];
  file: string;
}

/** What a runtime integration adds to a launch (its own config dir, hook flags). */
export interface LaunchAdditions {
  env: Record<string, string>;
  args: string[];
}

export function buildLaunchSpec(
  roster: Roster,
  agent: AgentSpec,
  launch: LaunchEnvironment,
  additions: LaunchAdditions = { env: {}, args: [] },
): LaunchSpec {
  const runtime = resolveRuntime(roster, agent.runtime);
  const argv = [...runtime.command, ...additions.args, ...agent.args];
  // Roster env, then the integration's, then ours: the MOSAIC_* contract cannot be overridden.
  const userEnv = { ...roster.runtimes[agent.runtime]?.env, ...agent.env, ...additions.env };
  const env: Record<string, string> = {
    ...userEnv,
    PATH: prefixedPath(launch.runtimeBinDirs, userEnv.PATH ?? launch.env.PATH),
    MOSAIC_AGENT_NAME: agent.name,
    MOSAIC_AGENT_RUNTIME: agent.runtime,
    MOSAIC_AGENT_WORKDIR: agent.workingDirectory,
    MOSAIC_TMUX_SOCKET: roster.socketName,
    MOSAIC_TENANT_ID: roster.tenantId,
    MOSAIC_HEARTBEAT_FILE: heartbeatFile(launch.runDir, agent.name),
    MOSAIC_HEARTBEAT_INTERVAL: String(roster.heartbeatIntervalSeconds),
    MOSAIC_REPORTER: reporterScript(),
    // Runtimes that do not write heartbeat v1 themselves get the launcher's small loop.
    MOSAIC_HEARTBEAT_LOOP: runtime.writesHeartbeat ? '0' : '1',
  };
  return { agent: agent.name, env, argv, file: launchSpecFile(launch.runDir, agent.name) };
}

/**
 * Everything before a session is created for an agent: the runtime integration's private
 * config and hooks, the launch spec, the executable check and the working directory.
 */
export async function prepareAgentLaunch(roster: Roster, agent: AgentSpec, launch: LaunchEnvironment): Promise<LaunchSpec> {
  const integration = await integrationFor(agent.runtime);
  let additions: LaunchAdditions = { env: {}, args: [] };
  if (integration && launch.agentsDir) {
    const configDir = path.join(launch.agentsDir, agent.name, agent.runtime);
    const agentEnv = { ...roster.runtimes[agent.runtime]?.env, ...agent.env };
    additions = await integration.prepare({ roster, agent, configDir, reporter: reporterScript(), env: launch.env, agentEnv });
  }
  const spec = buildLaunchSpec(roster, agent, launch, additions);
  await assertExecutableExists(roster, agent, spec);
  await mkdir(agent.workingDirectory, { recursive: true });
  await writeLaunchSpec(spec);
  return spec;
}

/** The runtime's executable must exist on the pane's PATH before we create the session. */
export async function assertExecutableExists(roster: Roster, agent: AgentSpec, spec: LaunchSpec): Promise<void> {
  const program = spec.argv[0]!;
  const runtime = resolveRuntime(roster, agent.runtime);
  if (await findExecutable(program, spec.env.PATH)) return;
  throw new UserError(`agent "${agent.name}": runtime "${agent.runtime}" executable "${program}" was not found on PATH`, {
    hint: `install it (${runtime.installHint}) or set runtimes.${agent.runtime}.command in the roster`,
  });
}

/** Where `program` resolves on `PATH` (as execvp would), or undefined. */
export async function findExecutable(program: string, searchPath: string | undefined): Promise<string | undefined> {
  const candidates = program.includes('/') ? [program] : (searchPath ?? '').split(':').map((dir) => path.join(dir || '.', program));
  for (const candidate of candidates) {
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Spec file format read by framework/bin/mosaic-launch: NAME=value lines, "--", one argument per line. */
export function renderLaunchSpec(spec: LaunchSpec): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(spec.env)) lines.push(`${key}=${value}`);
  lines.push('--', ...spec.argv);
  return renderLineFile(
    lines,
    `agent "${spec.agent}": launch values`,
    'check the runtime command, args and working directory in the roster',
  );
}

/**
 * One value per line, for the sh scripts that read them back with `read` (the launch spec, a
 * systemd unit's tmux arguments): a value holding a newline or NUL cannot be one line, so refuse it.
 */
export function renderLineFile(lines: readonly string[], what: string, hint: string): string {
  if (lines.some((line) => line.includes('\n') || line.includes('\0'))) {
    throw new UserError(`${what} may not contain newlines or NUL bytes`, { hint });
  }
  return `${lines.join('\n')}\n`;
}

export async function writeLaunchSpec(spec: LaunchSpec): Promise<void> {
  await writeRunFile(spec.file, renderLaunchSpec(spec));
}

export const reporterScript = (): string => path.join(packageRoot(), 'framework', 'bin', 'mosaic-report');

/** Seconds between the watchdog's checks for dead panes the hook missed. */
export const WATCHDOG_INTERVAL_SECONDS = 1;

/**
 * The holder session's command: the fleet watchdog (one small sh loop for the whole fleet),
 * which hands unhandled dead panes to `mosaic _supervise pane-died` and over-cap transcripts
 * to `mosaic _supervise transcripts`.
 */
export function buildHolderSpec(
  roster: Roster,
  launch: LaunchEnvironment & { home: string; nodeBinary: string; mainScript: string; watchdogScript: string },
): LaunchSpec {
  return {
    agent: roster.holderSession,
    env: {
      PATH: prefixedPath([], launch.env.PATH),
      MOSAIC_FLEET_HOME: launch.home,
      MOSAIC_TMUX_SOCKET: roster.socketName,
      MOSAIC_SUPERVISOR_LOG: supervisorLogFile(path.join(launch.home, 'logs')),
      MOSAIC_TRANSCRIPT_MAX_BYTES: String(transcriptMaxBytes(launch.env)),
      MOSAIC_TRANSCRIPT_CHECK_SECONDS: String(transcriptCheckSeconds(launch.env)),
    },
    argv: [
      'sh',
      launch.watchdogScript,
      roster.socketName,
      String(WATCHDOG_INTERVAL_SECONDS),
      roster.holderSession,
      '--',
      launch.nodeBinary,
      launch.mainScript,
    ],
    file: launchSpecFile(launch.runDir, roster.holderSession),
  };
}
