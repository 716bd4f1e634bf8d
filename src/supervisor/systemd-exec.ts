import { mkdir } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import type { FleetContext } from '../fleet/context.js';
import { resolveFleetPaths } from '../roster/paths.js';
import type { RestartPolicy } from '../roster/model.js';
import { ensurePrivateDir, fileExists } from '../system/fs.js';
import type { CommandRunner } from '../system/runner.js';
import { waitFor } from '../system/wait.js';
import { exactSession, exactSessionWindow, joinCommands, TmuxClient } from '../tmux/client.js';
import { DirectSupervisor, sessionCreateCommands } from './direct.js';
import { freshRunState, launchSpecFile, writeRunState } from './state.js';

/*
 * What the generated units run (`mosaic _systemd <step>`). Each step is short-lived: no mosaic
 * process stays resident, the tmux server holds everything.
 */

/** How long the holder's ExecStartPost waits for `tmux -D` to accept clients. */
const SERVER_READY_MS = 10_000;

async function serverPid(tmux: TmuxClient): Promise<number | undefined> {
  const result = await tmux.run(['display-message', '-p', '#{pid}'], { allowFailure: true });
  return result.status === 0 && /^\d+$/.test(result.stdout.trim()) ? Number(result.stdout.trim()) : undefined;
}

/** ExecStartPre of the holder: a server already on the socket belongs to someone else (e.g. built-in mode). */
export async function holderCheck(env: NodeJS.ProcessEnv, runner: CommandRunner): Promise<void> {
  const socket = requireEnv(env, 'MOSAIC_TMUX_SOCKET');
  const pid = await serverPid(new TmuxClient({ socket, runner, env }));
  if (pid !== undefined) {
    throw new UserError(`a tmux server (pid ${pid}) already runs on socket "${socket}" outside the holder unit`, {
      hint: 'it was probably started by the built-in supervisor: stop that fleet first (with `supervisor: builtin`, `mosaic fleet stop`), then start again',
    });
  }
}

/** ExecStartPost of the holder: the server answers, then gets the built-in supervisor's setup and watchdog session. */
export async function holderReady(ctx: FleetContext): Promise<number> {
  const pid = await waitFor(() => serverPid(ctx.tmux), { timeoutMs: SERVER_READY_MS, intervalMs: 20 });
  if (pid === undefined) {
    throw new UserError(`the tmux server on socket "${ctx.tmux.socket}" did not answer within ${SERVER_READY_MS / 1000} s`);
  }
  await Promise.all([ensurePrivateDir(ctx.paths.runDir), ensurePrivateDir(ctx.paths.logsDir)]);
  const direct = new DirectSupervisor(ctx);
  const holder = await ctx.tmux.run(['has-session', '-t', exactSession(ctx.roster.holderSession)], { allowFailure: true });
  await ctx.tmux.batch([...direct.serverSetupCommands(), ...(holder.status === 0 ? [] : await direct.holderCommands())]);
  return pid;
}

export type StartAgentResult = 'created' | 'adopted';

/**
 * ExecStart of an agent instance: everything comes from the unit's environment (its
 * EnvironmentFile) and the launch spec the CLI prepared; the roster is not read here, so a
 * boot-time start does not depend on the roster parsing or on the manager's PATH.
 */
export async function startAgent(env: NodeJS.ProcessEnv, runner: CommandRunner, now: () => number): Promise<StartAgentResult> {
  const agent = requireEnv(env, 'MOSAIC_AGENT_NAME');
  const session = requireEnv(env, 'MOSAIC_AGENT_SESSION');
  const workingDirectory = requireEnv(env, 'MOSAIC_AGENT_WORKDIR');
  const socket = requireEnv(env, 'MOSAIC_TMUX_SOCKET');
  const policy = parseRestartPolicy(requireEnv(env, 'MOSAIC_RESTART_POLICY'));
  const paths = resolveFleetPaths(env);
  if (!(await fileExists(launchSpecFile(paths.runDir, agent)))) {
    throw new UserError(`agent "${agent}" has no launch spec at ${launchSpecFile(paths.runDir, agent)}`, {
      hint: `run \`mosaic fleet start ${agent}\` (it prepares the agent, then starts this unit)`,
    });
  }
  await mkdir(workingDirectory, { recursive: true });
  // Every systemd start is an explicit start: crash counters and a failed state start over.
  await writeRunState(paths.runDir, freshRunState(agent, session, policy, now()));
  const tmux = new TmuxClient({ socket, runner, env });
  const created = await tmux.run(
    joinCommands(sessionCreateCommands(paths.runDir, { name: agent, session, workingDirectory }, paths.logsDir)),
    {
      allowFailure: true,
    },
  );
  if (created.status === 0) return 'created';
  if (/duplicate session/.test(created.stderr)) {
    // The session outlived its unit (manager restarted, unit reset): keep it if it is this agent's.
    const mark = await tmux.run(['show-options', '-v', '-t', exactSessionWindow(session), '@mosaic_agent'], { allowFailure: true });
    if (mark.status === 0 && mark.stdout.trim() === agent) return 'adopted';
    throw new UserError(`session "${session}" on socket "${socket}" exists but is not mosaic agent "${agent}"`, {
      hint: `remove it (tmux -L ${socket} kill-session -t =${session}) or rename the agent`,
    });
  }
  throw new UserError(`could not create session "${session}" on socket "${socket}": ${created.stderr.trim()}`, {
    hint: 'is the holder unit running? see `systemctl --user status` of the fleet units',
  });
}

function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) {
    throw new UserError(`${name} is not set: this step is run by the fleet's systemd units`, {
      hint: 'run `mosaic fleet install-systemd` and start agents with `mosaic fleet start`',
    });
  }
  return value;
}

export function parseRestartPolicy(text: string): RestartPolicy {
  const parts = text.split(',').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new UserError(`MOSAIC_RESTART_POLICY "${text}" is not "initial_ms,max_ms,max_crashes,window_seconds"`, {
      hint: 'run `mosaic fleet install-systemd` to rewrite the agent environment files',
    });
  }
  const [backoffInitialMs, backoffMaxMs, maxCrashes, windowSeconds] = parts as [number, number, number, number];
  return { backoffInitialMs, backoffMaxMs, maxCrashes, windowSeconds };
}
