import path from 'node:path';
import { InternalError, UserError } from '../core/errors.js';
import { heartbeatFile } from '../heartbeat/heartbeat.js';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS, type AgentSpec, type Roster } from '../roster/model.js';
import { expandHome, launchSpecFile, pendingDir, resolveFleetPaths } from '../roster/paths.js';
import { integrationFor } from '../runtimes/integrations/index.js';
import { resolveRuntime } from '../runtimes/registry.js';
import { packageRoot } from '../system/package.js';
import { ensurePrivateDir, fileExists, isExecutable, readFileOrUndefined, writeRunFile } from '../system/fs.js';
import { renderKickstart } from './kickstart.js';
import { sessionIdFile } from './session.js';
import { chooseModel } from './model.js';
import { composeSystemPrompt, contractParts } from './contract.js';
import { personaFileFor } from './persona.js';
import { prepareWorktree } from './worktree.js';
import type { CommandRunner } from '../system/runner.js';
import { LAUNCH_PROFILES, type LaunchProfile, type SectionArg } from './profiles.js';

export interface LaunchEnvironment {
  env: NodeJS.ProcessEnv;
  runDir: string;
  /** <config root>/agents: per-agent private runtime config lives in <agentsDir>/<agent>/<runtime>. */
  agentsDir?: string;
  /** Directories that exist and go in front of PATH, in order, deduplicated. */
  runtimeBinDirs: string[];
  identity?: LaunchIdentity;
  /** Where the operator's contract lives (<configRoot>/contract); default: the config root of `env`. */
  configRoot?: string;
  /**
   * Set by prepareAgentLaunch: what the runtime appends to its own system prompt (for the built-in
   * runtimes the composed file: the contract, then the persona), and the rendered kickstart's file.
   */
  persona?: { file: string; text: string };
  kickstart?: string;
  /** Runs git for worktree agents (their worktree is made or found before the launch). */
  runner?: CommandRunner;
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
  /** Appended by the launcher when the agent starts a new conversation, and when it resumes one. */
  fresh: SectionArg[];
  resume: SectionArg[];
  file: string;
}

/** What a runtime integration adds to a launch (its own config dir, hook flags). */
export interface LaunchAdditions {
  env: Record<string, string>;
  args: string[];
}

/** Who the agent runs as and where: the kickstart names them, claude's yolo mode needs the uid. */
export interface LaunchIdentity {
  uid: number;
  host: string;
  tenantId: string;
}

/** The kickstart prompt, rendered: the launcher passes its contents as one argument. */
export const kickstartFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.kickstart`);
/** The composed system prompt (contract, then persona) that a built-in runtime appends to its own. */
export const systemPromptFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.system-prompt.md`);
/** pi keeps its sessions in a directory of the agent's own, so "continue the latest" is this agent's. */
export const piSessionDir = (agentsDir: string, agent: string): string => path.join(agentsDir, agent, 'pi', 'sessions');

/**
 * What mosaic knows about launching the runtime (mode, model, persona, kickstart and session flags):
 * the built-in runtimes have a profile, also when the roster names another executable for one (a
 * pinned path); the stub and custom runtimes have none.
 */
export function launchProfile(roster: Roster, runtime: string): LaunchProfile | undefined {
  return resolveRuntime(roster, runtime).builtin ? LAUNCH_PROFILES[runtime] : undefined;
}

/** The identity a launch was given, else this process's uid and the roster's tenant. */
const identityOf = (launch: LaunchEnvironment, roster: Roster): LaunchIdentity =>
  launch.identity ?? { uid: process.getuid?.() ?? 0, host: '', tenantId: roster.tenantId };

/**
 * The one launch builder: (agent, runtime, mode, model, persona, kickstart, session) → the argv,
 * environment and fresh/resume sections that every start of the agent uses — first start, crash
 * restart, `fleet restart`, a systemd unit start and `mosaic yolo` — so no path drops a flag.
 */
export function buildLaunchSpec(
  roster: Roster,
  agent: AgentSpec,
  launch: LaunchEnvironment,
  additions: LaunchAdditions = { env: {}, args: [] },
): LaunchSpec {
  const runtime = resolveRuntime(roster, agent.runtime);
  const profile = launchProfile(roster, agent.runtime);
  const features = launchFeatures(profile, agent, launch, identityOf(launch, roster));
  const argv = [...runtime.command, ...additions.args, ...features.args, ...agent.args];
  // Roster env, then the integration's and the mode's, then ours: the MOSAIC_* contract cannot be overridden.
  const userEnv = { ...roster.runtimes[agent.runtime]?.env, ...agent.env, ...additions.env, ...features.env };
  const env: Record<string, string> = {
    ...userEnv,
    PATH: prefixedPath(launch.runtimeBinDirs, userEnv.PATH ?? launch.env.PATH),
    MOSAIC_AGENT_NAME: agent.name,
    MOSAIC_AGENT_RUNTIME: agent.runtime,
    MOSAIC_AGENT_WORKDIR: agent.workingDirectory,
    MOSAIC_AGENT_MODE: agent.mode,
    MOSAIC_TMUX_SOCKET: roster.socketName,
    MOSAIC_TENANT_ID: roster.tenantId,
    MOSAIC_HEARTBEAT_FILE: heartbeatFile(launch.runDir, agent.name),
    MOSAIC_HEARTBEAT_INTERVAL: String(roster.heartbeatIntervalSeconds),
    MOSAIC_REPORTER: reporterScript(),
    // Runtimes that do not write heartbeat v1 themselves get the launcher's small loop.
    MOSAIC_HEARTBEAT_LOOP: runtime.writesHeartbeat ? '0' : '1',
    MOSAIC_SESSION_KIND: profile?.session ?? 'none',
    MOSAIC_SESSION_FILE: sessionIdFile(launch.runDir, agent.name),
    MOSAIC_PENDING_DIR: pendingDir(launch.runDir, agent.name),
    MOSAIC_APPROVAL_TIMEOUT: String(agent.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS),
    ...(features.sessionDir ? { MOSAIC_SESSION_DIR: features.sessionDir } : {}),
  };
  return {
    agent: agent.name,
    env,
    argv,
    fresh: features.fresh,
    resume: features.resume,
    file: launchSpecFile(launch.runDir, agent.name),
  };
}

interface LaunchFeatures {
  args: string[];
  env: Record<string, string>;
  fresh: SectionArg[];
  resume: SectionArg[];
  sessionDir?: string;
}

/** Mode, model, persona, kickstart and session flags of a built-in runtime; nothing for others. */
function launchFeatures(
  profile: LaunchProfile | undefined,
  agent: AgentSpec,
  launch: LaunchEnvironment,
  identity: LaunchIdentity,
): LaunchFeatures {
  if (!profile) return { args: [], env: {}, fresh: [], resume: [] };
  const mode = profile.mode(agent.mode, identity);
  const args = [...mode.args];
  const env = { ...mode.env };
  const { model } = chooseModel(agent);
  if (model !== null) args.push(...profile.model(model));
  if (launch.persona) {
    const placed = profile.persona(launch.persona.file, launch.persona.text);
    if (placed) {
      args.push(...placed.args);
      Object.assign(env, placed.env);
    }
  }
  const sessionDir = profile.always && launch.agentsDir ? piSessionDir(launch.agentsDir, agent.name) : undefined;
  if (profile.always && sessionDir) args.push(...profile.always(sessionDir));
  const fresh = [...profile.fresh];
  if (launch.kickstart) fresh.push(...profile.kickstart({ kind: 'file', path: launch.kickstart }));
  return { args, env, fresh, resume: [...profile.resume], sessionDir };
}

/**
 * Everything before a session is created for an agent: the runtime integration's private
 * executable check, the runtime integration's private config and hooks, the system prompt (contract
 * and persona) and the kickstart, the launch spec and the working directory.
 */
export async function prepareAgentLaunch(roster: Roster, agent: AgentSpec, launch: LaunchEnvironment): Promise<LaunchSpec> {
  // First: a runtime that is not installed leaves nothing behind (its private config, system prompt, kickstart).
  // The integration's and persona's additions never change the executable or PATH.
  await assertExecutableExists(roster, agent, buildLaunchSpec(roster, agent, launch));
  const integration = await integrationFor(agent.runtime);
  const persona = await systemPromptFor(roster, agent, launch);
  let additions: LaunchAdditions = { env: {}, args: [] };
  if (integration && launch.agentsDir) {
    const configDir = path.join(launch.agentsDir, agent.name, agent.runtime);
    const agentEnv = { ...roster.runtimes[agent.runtime]?.env, ...agent.env };
    additions = await integration.prepare({
      roster,
      agent,
      configDir,
      reporter: reporterScript(),
      node: process.execPath,
      env: launch.env,
      agentEnv,
      persona,
    });
  }
  const prompt = renderKickstart(agent, identityOf(launch, roster));
  const kickstart = prompt === undefined ? undefined : kickstartFile(launch.runDir, agent.name);
  if (kickstart && prompt !== undefined) await writeRunFile(kickstart, prompt);
  const spec = buildLaunchSpec(roster, agent, { ...launch, persona, kickstart }, additions);
  if (spec.env.MOSAIC_SESSION_DIR) await ensurePrivateDir(spec.env.MOSAIC_SESSION_DIR);
  if (agent.worktree) {
    if (!launch.runner) throw new InternalError(`agent "${agent.name}": a worktree agent needs a command runner to start`);
    await prepareWorktree(agent, { runner: launch.runner, env: launch.env });
  } else await makeWorkingDirectory(agent);
  await writeLaunchSpec(spec);
  return spec;
}

/** A working directory mosaic has to create is private, like everything else it writes. */
async function makeWorkingDirectory(agent: AgentSpec): Promise<void> {
  try {
    await ensurePrivateDir(agent.workingDirectory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // EEXIST, ENOTDIR: a file is where the directory (or one of its parents) should be.
    // ENOENT: its parent exists but takes no new directory (/proc/x), or a symlink in the way points nowhere.
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT') {
      const why =
        code === 'EEXIST' || code === 'ENOTDIR'
          ? 'a file is in the way'
          : code === 'ENOENT'
            ? 'it cannot be created there (ENOENT)'
            : `no permission to create it (${code})`;
      throw new UserError(`agent "${agent.name}": working directory ${agent.workingDirectory} cannot be used: ${why}`, {
        hint: 'point the agent at a directory: working_directory: in the roster, or --workdir with agent new',
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * What the agent's runtime appends to its own system prompt, through the one persona channel of
 * its launch profile (claude and pi a file, codex developer instructions, opencode an instructions
 * file): for a built-in runtime, the contract (AGENTS.md, then CONSTITUTION.md) and then the
 * persona, composed into one file in the run directory at every prepare; for the stub and custom
 * runtimes, which take no system prompt, the plain persona as before.
 */
export async function systemPromptFor(
  roster: Roster,
  agent: AgentSpec,
  launch: Pick<LaunchEnvironment, 'env' | 'runDir' | 'configRoot'>,
): Promise<{ file: string; text: string } | undefined> {
  const personaPath = personaFileFor(agent);
  const persona = personaPath ? { file: personaPath, text: await readPersona(agent, personaPath) } : undefined;
  if (!launchProfile(roster, agent.runtime)) return persona;
  const parts = await contractParts(launch.configRoot ?? resolveFleetPaths(launch.env).root);
  if (persona) parts.push({ source: 'persona', ...persona });
  const text = composeSystemPrompt(parts);
  const file = systemPromptFile(launch.runDir, agent.name);
  await writeRunFile(file, text);
  return { file, text };
}

async function readPersona(agent: AgentSpec, file: string): Promise<string> {
  const text = await readFileOrUndefined(file);
  if (text === undefined) {
    throw new UserError(`agent "${agent.name}": persona file ${file} cannot be read`, { hint: 'fix persona_file in the roster' });
  }
  return text;
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

/**
 * Spec file format read by framework/bin/mosaic-launch: "NAME=value" lines, then the fresh and
 * resume sections ("+fresh <arg>" / "+resume <arg>", where <arg> is "=<literal>", "<<file>" or
 * "@" for the session id; a "+" cannot start an environment name), a "--" line, then one launch
 * argument per line.
 */
export function renderLaunchSpec(spec: LaunchSpec): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(spec.env)) lines.push(`${key}=${value}`);
  for (const arg of spec.fresh) lines.push(`+fresh ${sectionLine(arg)}`);
  for (const arg of spec.resume) lines.push(`+resume ${sectionLine(arg)}`);
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

function sectionLine(arg: SectionArg): string {
  if (arg.kind === 'literal') return `=${arg.value}`;
  if (arg.kind === 'file') return `<${arg.path}`;
  return '@';
}

export async function writeLaunchSpec(spec: LaunchSpec): Promise<void> {
  await writeRunFile(spec.file, renderLaunchSpec(spec));
}

/** The launch spec the sh launcher reads at every start of the agent (first, crash restart, unit start). */
export const reporterScript = (): string => path.join(packageRoot(), 'framework', 'bin', 'mosaic-report');
