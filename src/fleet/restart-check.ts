import { findAgent } from '../context/context.js';
import { listPanes } from '../supervisor/panes.js';
import { waitFor } from '../system/wait.js';
import { systemdSetup, type SystemdSetup } from '../systemd/setup.js';
import { serverPid, verifySystemd, type SystemdVerifyResult } from '../systemd/verify.js';
import type { SupervisedFleet } from './open.js';

export interface RestartCheckReport {
  agent: string;
  ok: boolean;
  agent_pid_before: number | null;
  agent_pid_after: number | null;
  /**
   * The tmux server's PID: the holder unit's MainPID (which is the server) in systemd mode, the server's
   * own PID otherwise. Named for the holder unit; not the holder session's pane (holder_pane_pid_*).
   */
  holder_pid_before: number | null;
  holder_pid_after: number | null;
  /** The PID of the holder session's pane (null when there was none to check). */
  holder_pane_pid_before: number | null;
  holder_pane_pid_after: number | null;
  /** Live panes of the other agents compared (the holder's pane and sessions mosaic did not make are not counted). */
  siblings_checked: number;
  siblings_changed: string[];
}

/** PID that must not change when one agent restarts: the holder unit's main process, else the tmux server. */
async function holderPid(ctx: SupervisedFleet, setup: SystemdSetup | undefined): Promise<number | null> {
  if (setup) {
    const state = (await setup.systemctl.show([setup.names.holder])).get(setup.names.holder);
    return state?.mainPid || null;
  }
  return serverPid(ctx);
}

/** How long the restarted agent may take to show a live pane with a new PID. */
const RESTART_CHECK_MS = 20_000;

/**
 * Restart one agent through the fleet's supervisor and prove isolation by PIDs: the agent's
 * pane PID changed, the holder's did not, and no other pane's did.
 */
export async function restartCheck(ctx: SupervisedFleet, agentName: string): Promise<{ report: RestartCheckReport; problems: string[] }> {
  const agent = ctx.roster.agents.find((a) => a.name === agentName)!;
  const setup = ctx.supervisor.kind === 'systemd' ? systemdSetup(ctx.host) : undefined;
  const before = await listPanes(ctx);
  const target = before.find((pane) => pane.session === agent.session && pane.agent === agent.name);
  const holder = ctx.roster.holderSession;
  const holderPane = before.find((pane) => pane.session === holder && pane.agent === holder && !pane.dead);
  const report: RestartCheckReport = {
    agent: agent.name,
    ok: false,
    agent_pid_before: target && !target.dead ? target.panePid : null,
    agent_pid_after: null,
    holder_pid_before: await holderPid(ctx, setup),
    holder_pid_after: null,
    holder_pane_pid_before: holderPane?.panePid ?? null,
    holder_pane_pid_after: null,
    siblings_checked: 0,
    siblings_changed: [],
  };
  if (report.agent_pid_before === null) {
    return { report, problems: [`restart check: agent "${agent.name}" is not running (start it first: mosaic fleet start ${agent.name})`] };
  }
  const problems: string[] = [];
  const [outcome] = await ctx.supervisor.restart([agent]);
  if (outcome?.result === 'error') problems.push(`restart check: restarting "${agent.name}" failed: ${outcome.error}`);
  const fresh = await waitFor(
    async () => {
      const pane = (await listPanes(ctx)).find((p) => p.session === agent.session && p.agent === agent.name);
      return pane && !pane.dead && pane.panePid !== null && pane.panePid !== report.agent_pid_before ? pane.panePid : undefined;
    },
    { timeoutMs: RESTART_CHECK_MS, intervalMs: 50 },
  );
  report.agent_pid_after = fresh ?? null;
  if (fresh === undefined)
    problems.push(`restart check: agent "${agent.name}" did not come back with a new pane PID within ${RESTART_CHECK_MS / 1000} s`);
  report.holder_pid_after = await holderPid(ctx, setup);
  if (report.holder_pid_before === null || report.holder_pid_after !== report.holder_pid_before) {
    problems.push(
      `restart check: the holder PID changed from ${report.holder_pid_before ?? 'none'} to ${report.holder_pid_after ?? 'none'}`,
    );
  }
  const after = new Map((await listPanes(ctx)).map((pane) => [pane.paneId, pane]));
  if (holderPane) {
    const now = after.get(holderPane.paneId);
    report.holder_pane_pid_after = now && !now.dead ? now.panePid : null;
    if (report.holder_pane_pid_after !== holderPane.panePid) {
      problems.push(
        `restart check: the holder pane "${holder}" changed (pane PID ${holderPane.panePid} -> ${report.holder_pane_pid_after ?? 'gone'}) while only "${agent.name}" was restarted`,
      );
    }
  }
  for (const pane of before) {
    // Other agents' panes only: the holder's is checked above; a session mosaic did not make is no sibling.
    if (pane.session === agent.session || pane.session === holder || pane.agent === '' || pane.dead) continue;
    report.siblings_checked += 1;
    const now = after.get(pane.paneId);
    if (!now || now.panePid !== pane.panePid) {
      report.siblings_changed.push(pane.agent);
      problems.push(
        `restart check: sibling "${pane.agent}" changed (pane PID ${pane.panePid} -> ${now?.panePid ?? 'gone'}) while only "${agent.name}" was restarted`,
      );
    }
  }
  report.ok = problems.length === 0;
  return { report, problems };
}

/** What `fleet verify` adds: the restart check when asked (first, so the rest checks the fleet after it), then the systemd checks. */
export async function verifyExtras(
  ctx: SupervisedFleet,
  options: { restartCheck?: string },
): Promise<SystemdVerifyResult & { restart_check?: RestartCheckReport }> {
  const result: SystemdVerifyResult & { restart_check?: RestartCheckReport } = { problems: [], warnings: [] };
  if (options.restartCheck !== undefined) {
    const check = await restartCheck(ctx, findAgent(ctx.roster, options.restartCheck).name);
    result.problems.push(...check.problems);
    result.restart_check = check.report;
  }
  if (ctx.roster.supervisor === 'systemd') {
    const systemd = await verifySystemd(ctx);
    result.problems.push(...systemd.problems);
    result.warnings.push(...systemd.warnings);
    if (systemd.systemd) result.systemd = systemd.systemd;
  }
  return result;
}
