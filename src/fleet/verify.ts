import { straySessionReason } from './stray.js';
import { strayWorktrees } from '../worktree/worktree.js';
import { chooseModel } from '../launch/model.js';
import { listPanes, marksBySession } from '../supervisor/panes.js';
import type { SupervisedFleet } from './open.js';
import { fleetStatus } from './status.js';
import type { RestartCheckReport } from './restart-check.js';
import type { SystemdVerifySection } from '../systemd/verify.js';

export interface VerifyReport {
  tenant_id: string;
  host: string;
  socket: string;
  ok: boolean;
  agents: number;
  problems: string[];
  /** Not failures, but worth acting on (e.g. systemd units running but not enabled for boot). */
  warnings: string[];
  /** systemd mode: what the systemd checks saw. */
  systemd?: SystemdVerifySection;
  /** With --restart-check <agent>: the PIDs before and after restarting that agent. */
  restart_check?: RestartCheckReport;
}

export interface VerifyOptions {
  /** Restart this agent first and prove isolation by PIDs. */
  restartCheck?: string;
}

/**
 * Every roster agent has exactly its session (and it is ours and alive), no session on
 * our socket is unaccounted for, and the server carries our ownership mark.
 */
export async function verifyFleet(ctx: SupervisedFleet, options: VerifyOptions = {}): Promise<VerifyReport> {
  // systemd checks and --restart-check live in their own module, loaded only when asked for.
  const { problems, warnings, ...extra } =
    ctx.roster.supervisor === 'systemd' || options.restartCheck !== undefined
      ? await (await import('./restart-check.js')).verifyExtras(ctx, options)
      : { problems: [] as string[], warnings: [] as string[] };
  // Upstream shorthands the loader accepted (e.g. a top-level working_directory).
  warnings.push(...(ctx.roster.warnings ?? []));
  // A model_hint that names no model, or a model for a runtime without a model flag: never passed as a broken flag.
  for (const agent of ctx.roster.agents) {
    const warning = chooseModel(agent).warning;
    if (warning) warnings.push(warning);
  }
  // Worktrees whose agent is gone (removed from the roster, or `agent rm --keep-worktree`): kept, never deleted.
  for (const dir of await strayWorktrees(ctx.paths.worktreesDir, new Set(ctx.roster.agents.map((a) => a.name)))) {
    warnings.push(`worktree ${dir} belongs to no agent: inspect it, then \`git worktree remove\` it yourself (mosaic never deletes work)`);
  }
  const socket = ctx.tmux.socket;
  const panes = await listPanes(ctx);
  if (panes.length === 0) {
    // No local agent (`agents: []`, or all on other hosts) means no server here: `fleet start` makes none, so that is no problem.
    if (ctx.roster.agents.length > 0) problems.push(`no tmux server with sessions on socket "${socket}": run \`mosaic fleet start\``);
  } else {
    const owner = await ctx.tmux.run(['show-options', '-gv', '@mosaic_owner'], { allowFailure: true });
    if (owner.status !== 0 || !owner.stdout.startsWith('mosaic-fleet')) {
      problems.push(`the tmux server on socket "${socket}" was not started by mosaic (no @mosaic_owner mark)`);
    }
  }
  const bySession = new Map<string, number>();
  for (const pane of panes) bySession.set(pane.session, (bySession.get(pane.session) ?? 0) + 1);
  const known = new Set(ctx.roster.agents.map((agent) => agent.session));
  known.add(ctx.roster.holderSession);
  const marks = marksBySession(panes);
  const holders = new Set(panes.filter((pane) => pane.holder).map((pane) => pane.session));
  for (const [session, count] of bySession) {
    if (!known.has(session)) {
      problems.push(
        `stray ${straySessionReason({ session, mark: marks.get(session) ?? '', holder: holders.has(session) }, socket, 'the roster')}`,
      );
    } else if (count > 1) problems.push(`session "${session}" has ${count} panes; an agent session has exactly one`);
  }
  for (const pane of panes) {
    const agent = ctx.roster.agents.find((a) => a.session === pane.session);
    if (agent && pane.agent !== agent.name) {
      problems.push(
        `session "${pane.session}" is not marked as mosaic agent "${agent.name}" (${pane.agent ? `found "${pane.agent}"` : 'it carries no mark: mosaic did not make it'})`,
      );
    }
  }
  if (ctx.supervisor.kind === 'builtin' && panes.some((pane) => pane.session !== ctx.roster.holderSession)) {
    const holder = panes.find((pane) => pane.session === ctx.roster.holderSession);
    if (!holder) {
      problems.push(
        `holder session "${ctx.roster.holderSession}" (the fleet watchdog) is missing: run \`mosaic fleet start\` to bring it back`,
      );
    } else if (holder.dead) {
      problems.push(`holder session "${ctx.roster.holderSession}" (the fleet watchdog) is dead`);
    }
  }
  for (const status of await fleetStatus(ctx, ctx.roster.agents)) {
    if (status.state === 'stopped') problems.push(`agent "${status.agent}" has no session`);
    else if (status.state === 'failed')
      problems.push(
        `agent "${status.agent}" failed (${status.failed_reason ?? 'crash loop'}; last exit ${status.last_exit_status ?? '?'}): \`mosaic fleet restart ${status.agent}\``,
      );
    else if (status.state === 'dead') problems.push(`agent "${status.agent}" pane is dead (exit ${status.last_exit_status ?? '?'})`);
  }
  return {
    tenant_id: ctx.roster.tenantId,
    host: ctx.host.identity.host,
    socket,
    ok: problems.length === 0,
    agents: ctx.roster.agents.length,
    problems,
    warnings,
    ...extra,
  };
}
