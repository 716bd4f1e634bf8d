import type { Command } from 'commander';
import { CheckFailedError } from '../../core/errors.js';
import { selectAgents } from '../../context/context.js';
import { initRoster } from '../../fleet/init.js';
import { fleetStatus, type AgentStatus } from '../../fleet/status.js';
import { verifyFleet } from '../../fleet/verify.js';
import type { SupervisedFleet } from '../../fleet/open.js';
import type { AgentSpec } from '../../roster/model.js';
import { resolveFleetPaths } from '../../roster/paths.js';
import type { AgentOutcome } from '../../supervisor/types.js';
import { err, out, printJson, stateColour, table } from '../output.js';
import { open, options, renderOutcomes } from './shared.js';

export async function init(command: Command): Promise<number> {
  const opts = options<{ profile: string; write?: boolean; force?: boolean }>(command);
  const paths = resolveFleetPaths(process.env, opts.roster);
  const result = await initRoster({
    profile: opts.profile,
    rosterPath: paths.roster,
    write: Boolean(opts.write),
    force: Boolean(opts.force),
    env: process.env,
  });
  if (result.written) err(`wrote ${result.written} (profile ${opts.profile})`);
  else out(result.text.trimEnd());
  return 0;
}

export async function start(command: Command): Promise<number> {
  const ctx = await open(command);
  const agents = selectAgents(ctx.roster, command.args);
  await ctx.tmux.assertSupportedVersion();
  const showProgress = process.stderr.isTTY && !options(command).json && agents.length >= 20;
  const outcomes = await ctx.supervisor.start(agents, (done, total) => {
    if (showProgress) process.stderr.write(`\rstarting agents: ${done}/${total}`);
  });
  if (showProgress) process.stderr.write('\n');
  const code = renderOutcomes(ctx, outcomes, options(command).json);
  return Math.max(code, await reportKickstarts(ctx, agents, outcomes, options(command).json));
}

/** Kickstarts sent after a start (stub and custom runtimes); their failures are errors of the start. */
async function reportKickstarts(
  ctx: SupervisedFleet,
  agents: AgentSpec[],
  outcomes: AgentOutcome[],
  json: boolean | undefined,
): Promise<number> {
  if (!agents.some((agent) => agent.kickstartTemplate)) return 0;
  const { kickstartStarted } = await import('../../fleet/kickstart.js');
  const sent = await kickstartStarted(ctx, agents, outcomes);
  const failed = sent.filter(({ result }) => result.status !== 'accepted' && result.status !== 'queued');
  if (!json) for (const { agent, result } of failed) err(`${agent}: kickstart ${result.status}: ${result.detail}`);
  return failed.length > 0 ? 1 : 0;
}

export async function stop(command: Command): Promise<number> {
  const ctx = await open(command);
  return renderOutcomes(ctx, await ctx.supervisor.stop(selectAgents(ctx.roster, command.args)), options(command).json);
}

export async function restart(command: Command): Promise<number> {
  const ctx = await open(command);
  const agents = selectAgents(ctx.roster, command.args);
  await ctx.tmux.assertSupportedVersion();
  const outcomes = await ctx.supervisor.restart(agents);
  const code = renderOutcomes(ctx, outcomes, options(command).json);
  return Math.max(code, await reportKickstarts(ctx, agents, outcomes, options(command).json));
}

export function statusTable(rows: AgentStatus[]): string {
  return table(
    ['AGENT', 'RUNTIME', 'STATE', 'ACTIVITY', 'PANE PID', 'RESTARTS', 'LAST EXIT', 'HEARTBEAT', 'COMMAND'],
    rows.map((r) => [
      r.agent,
      r.runtime,
      stateColour(r.state),
      r.status_source === 'screen' ? `${stateColour(r.activity)}*` : stateColour(r.activity),
      r.pane_pid === null ? '-' : String(r.pane_pid),
      String(r.restarts),
      r.last_exit_status === null ? '-' : String(r.last_exit_status),
      r.heartbeat.age_seconds === null ? stateColour(r.heartbeat.health) : `${stateColour(r.heartbeat.health)} ${r.heartbeat.age_seconds}s`,
      r.current_command ?? '-',
    ]),
  );
}

export async function status(command: Command): Promise<number> {
  const ctx = await open(command);
  const rows = await fleetStatus(ctx, ctx.roster.agents);
  if (options(command).json) {
    printJson(rows);
    return 0;
  }
  out(`fleet of ${ctx.roster.tenantId}@${ctx.host.identity.host} on socket ${ctx.tmux.socket} (${ctx.supervisor.kind} supervisor)`);
  out(statusTable(rows));
  if (rows.some((r) => r.status_source === 'screen')) out('* activity read off the screen (no report from the runtime)');
  for (const r of rows.filter((row) => row.failed_reason)) out(`${r.agent} failed: ${r.failed_reason} (mosaic fleet restart ${r.agent})`);
  return 0;
}

export async function verify(command: Command): Promise<number> {
  const ctx = await open(command);
  const report = await verifyFleet(ctx, { restartCheck: options<{ restartCheck?: string }>(command).restartCheck });
  if (options(command).json) {
    printJson(report);
    return report.ok ? 0 : 1;
  }
  for (const warning of report.warnings) err(`warning: ${warning}`);
  const check = report.restart_check;
  if (check?.ok) {
    out(
      `restart check: ${check.agent} pane PID ${check.agent_pid_before} -> ${check.agent_pid_after}; holder PID ${check.holder_pid_after} and ${check.siblings_checked} sibling pane(s) unchanged`,
    );
  }
  if (report.systemd) {
    out(
      `systemd: ${report.systemd.holder_unit} ${report.systemd.holder_state}, tmux server pid ${report.systemd.tmux_server_pid ?? '-'} in ${report.systemd.server_cgroup ?? '-'}`,
    );
  }
  if (!report.ok) {
    throw new CheckFailedError(`fleet verify found ${report.problems.length} problem(s) on socket ${report.socket}:`, report.problems);
  }
  out(`ok: ${report.agents} agent(s), each with exactly its session on socket ${report.socket}; no stray sessions`);
  return 0;
}
