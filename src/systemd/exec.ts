import { UserError } from '../core/errors.js';
import type { FleetContext } from '../context/context.js';
import { waitFor } from '../system/wait.js';
import type { Host } from '../host/host.js';
import { exactSession, type TmuxClient } from '../tmux/client.js';

/*
 * `mosaic _systemd <step>`: the holder unit's steps in Node. The units run them in sh now
 * (framework/bin/mosaic-systemd-holder replays what the CLI prepared, as mosaic-systemd-agent does for
 * agents); holder-ready stays as that script's fallback when nothing was prepared, and holder-check for
 * units an earlier mosaic installed (fleet start asks for install-systemd before it uses them).
 */

/** How long the holder's ExecStartPost waits for `tmux -D` to accept clients. */
const SERVER_READY_MS = 10_000;

async function serverPid(tmux: TmuxClient): Promise<number | undefined> {
  const result = await tmux.run(['display-message', '-p', '#{pid}'], { allowFailure: true });
  return result.status === 0 && /^\d+$/.test(result.stdout.trim()) ? Number(result.stdout.trim()) : undefined;
}

/** ExecStartPre of the holder: a server already on the socket belongs to someone else (e.g. built-in mode). */
export async function holderCheck(host: Host): Promise<void> {
  const socket = requireEnv(host.env, 'MOSAIC_TMUX_SOCKET');
  const pid = await serverPid(host.tmux(socket));
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
  const { files } = ctx.host;
  await Promise.all([files.ensurePrivateDir(ctx.paths.runDir), files.ensurePrivateDir(ctx.paths.logsDir)]);
  // Loaded here, not at the top: holder-check (the holder's ExecStartPre) needs none of the launch machinery.
  const { DirectSupervisor } = await import('../supervisor/direct.js');
  const direct = new DirectSupervisor(ctx);
  const holder = await ctx.tmux.run(['has-session', '-t', exactSession(ctx.roster.holderSession)], { allowFailure: true });
  await ctx.tmux.batch([...direct.serverSetupCommands(), ...(holder.status === 0 ? [] : await direct.holderCommands())]);
  return pid;
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
