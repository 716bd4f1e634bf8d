import type { Command } from 'commander';
import { CheckFailedError, UsageError } from '../../core/errors.js';
import { splitTargets, type HostTargets } from '../../fleet/hosts.js';
import { fanOut, remoteAgent, reportHosts } from '../remote.js';
import { fleetStatus, type AgentStatus } from '../../fleet/status.js';
import type { VerifyReport } from '../../fleet/verify.js';
import { describeSupervisor } from '../../fleet/supervisor-choice.js';
import type { SupervisedFleet } from '../../fleet/open.js';
import type { AgentSpec } from '../../roster/model.js';
import { resolveFleetPaths } from '../../roster/paths.js';
import type { AgentOutcome } from '../../supervisor/types.js';
import { cliHost } from '../host.js';
import { colour, err, out, printJson, stateColour } from '../output.js';
import { open, options, renderOutcomes } from './shared.js';
import { statusTable } from './status-table.js';

export async function init(command: Command): Promise<number> {
  const opts = options<{ profile: string; write?: boolean; force?: boolean }>(command);
  // --force replaces the roster file; without --write nothing is written, so it would be silently ignored.
  if (opts.force && !opts.write) throw new UsageError('--force goes with --write (it replaces an existing roster file)');
  const paths = resolveFleetPaths(process.env, opts.roster);
  const { initRoster } = await import('../../fleet/init.js'); // the YAML parser: only this verb needs it
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

/** The agents this host acts on and the other hosts' selections; whether to act here at all. */
function targetsOf(ctx: SupervisedFleet, names: readonly string[]): HostTargets & { here: boolean } {
  const targets = splitTargets(ctx.roster, names);
  // A roster whose agents all run elsewhere starts nothing here (no holder, no server).
  const here = names.length === 0 ? ctx.roster.agents.length > 0 || targets.remote.size === 0 : targets.local.length > 0;
  return { ...targets, here };
}

export async function start(command: Command): Promise<number> {
  const ctx = await open(command);
  const { local: agents, remote, here } = targetsOf(ctx, command.args);
  if (here) await ctx.tmux.assertSupportedVersion();
  const showProgress = process.stderr.isTTY && !options(command).json && agents.length >= 20;
  const [outcomes, others] = await Promise.all([
    here
      ? ctx.supervisor.start(agents, (done, total) => {
          if (showProgress) process.stderr.write(`\rstarting agents: ${done}/${total}`);
        })
      : [],
    fanOut(ctx, remote, ['fleet', 'start']),
  ]);
  if (showProgress) process.stderr.write('\n');
  if (!options(command).json && here) out(`socket ${ctx.tmux.socket}, ${describeSupervisor(ctx.roster)}`);
  const code = renderOutcomes(ctx, outcomes, options(command).json, others);
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
  const opts = options<{ orphans?: boolean; socket?: string }>(command);
  if (opts.orphans) return stopOrphanSessions(command, opts);
  if (opts.socket !== undefined) throw new UsageError('--socket goes with --orphans (agents are stopped on the socket their roster names)');
  const ctx = await open(command);
  const { local, remote, here } = targetsOf(ctx, command.args);
  const [outcomes, others] = await Promise.all([here ? ctx.supervisor.stop(local) : [], fanOut(ctx, remote, ['fleet', 'stop'])]);
  return renderOutcomes(ctx, outcomes, options(command).json, others);
}

/** `fleet stop --orphans`: works without a readable roster too (see fleet/orphans.ts). */
async function stopOrphanSessions(command: Command, opts: { socket?: string; roster?: string; json?: boolean }): Promise<number> {
  if (command.args.length > 0) throw new UsageError('--orphans stops the sessions the roster does not name: give no agent names with it');
  const { stopOrphans } = await import('../../fleet/orphans.js');
  const report = await stopOrphans(cliHost(), { roster: opts.roster, socket: opts.socket });
  const failed = report.records.some((r) => r.result === 'error');
  if (opts.json) {
    printJson(report);
    return failed ? 1 : 0;
  }
  if (report.roster_note) err(`warning: ${report.roster_note}`);
  const acted = report.records.filter((r) => r.result !== 'left-alone');
  for (const r of report.records) {
    const what = r.agent && r.agent !== r.session ? `${r.session} (agent ${r.agent})` : r.session;
    if (r.result === 'error') err(`${what}: ${colour.red('error', process.stderr)}: ${r.reason}`);
    else out(`${what}: ${stateColour(r.result.replace('-', ' '))}${r.result === 'stopped' ? '' : ` (${r.reason})`}`);
  }
  if (acted.length === 0) out(`no orphan sessions on socket ${report.socket}`);
  return failed ? 1 : 0;
}

export async function restart(command: Command): Promise<number> {
  const ctx = await open(command);
  const { local: agents, remote, here } = targetsOf(ctx, command.args);
  if (here) await ctx.tmux.assertSupportedVersion();
  const [outcomes, others] = await Promise.all([here ? ctx.supervisor.restart(agents) : [], fanOut(ctx, remote, ['fleet', 'restart'])]);
  const code = renderOutcomes(ctx, outcomes, options(command).json, others);
  return Math.max(code, await reportKickstarts(ctx, agents, outcomes, options(command).json));
}

/**
 * Every agent's status row: this host's, then every other host's (`fleet status` there); a host that
 * did not answer is reported on stderr and makes `hostsOk` false. `fleet status` and `agent status`.
 */
export async function everyStatus(ctx: SupervisedFleet): Promise<{ rows: AgentStatus[]; local: number; hostsOk: boolean }> {
  const { remote } = splitTargets(ctx.roster, []);
  const [local, others] = await Promise.all([fleetStatus(ctx, ctx.roster.agents), fanOut(ctx, remote, ['fleet', 'status'])]);
  return { rows: [...local, ...(others.rows as AgentStatus[])], local: local.length, hostsOk: reportHosts(others) };
}

/** Status rows for a table: another host's agents as host/agent. */
export const hostQualified = (rows: AgentStatus[], local: number): AgentStatus[] =>
  rows.map((r, i) => (i < local ? r : { ...r, agent: `${r.host}/${r.agent}` }));

export async function status(command: Command): Promise<number> {
  const ctx = await open(command);
  const { rows, local, hostsOk } = await everyStatus(ctx);
  if (options(command).json) {
    printJson(rows);
    return hostsOk ? 0 : 1;
  }
  out(`fleet of ${ctx.roster.tenantId}@${ctx.host.identity.host} on socket ${ctx.tmux.socket} (${describeSupervisor(ctx.roster)})`);
  out(statusTable(hostQualified(rows, local)));
  if (rows.some((r) => r.status_source === 'screen')) out('* activity read off the screen (no report from the runtime)');
  for (const r of rows.filter((row) => row.failed_reason)) out(`${r.agent} failed: ${r.failed_reason} (mosaic fleet restart ${r.agent})`);
  return hostsOk ? 0 : 1;
}

export async function verify(command: Command): Promise<number> {
  const ctx = await open(command, { quietWarnings: true }); // the roster's warnings are in the report's
  const restartCheck = options<{ restartCheck?: string }>(command).restartCheck;
  const elsewhere = restartCheck === undefined ? undefined : remoteAgent(ctx, restartCheck);
  const { remote } = splitTargets(ctx.roster, []);
  const { verifyFleet } = await import('../../fleet/verify.js');
  const [local, others] = await Promise.all([
    verifyFleet(ctx, elsewhere ? {} : { restartCheck }),
    fanOut(ctx, remote, ['fleet', 'verify'], (host) => (elsewhere?.host === host ? ['--restart-check', elsewhere.name] : [])),
  ]);
  // Every host's report: this one's, with the other hosts' problems added by name.
  const reports = others.rows as VerifyReport[];
  const unreachable = others.failed; // a host that answered with a failing report is in its report's problems
  const report: VerifyReport & { hosts?: VerifyReport[] } = {
    ...local,
    ok: local.ok && reports.every((r) => r.ok) && unreachable.length === 0,
    problems: [
      ...local.problems,
      ...reports.flatMap((r) => r.problems.map((p) => `${r.host}: ${p}`)),
      ...unreachable.map((f) => `${f.host}: ${f.unreachable ? `unreachable: ${f.unreachable}` : f.error}`),
    ],
    ...(remote.size > 0 ? { hosts: reports } : {}),
  };
  if (options(command).json) {
    printJson(report);
    return report.ok ? 0 : 1;
  }
  for (const warning of report.warnings) err(`warning: ${warning}`);
  const check = report.restart_check;
  if (check?.ok) {
    out(
      `restart check: ${check.agent} pane PID ${check.agent_pid_before} -> ${check.agent_pid_after}; unchanged: tmux server PID ${check.holder_pid_after}, ${check.holder_pane_pid_after === null ? '' : `holder pane PID ${check.holder_pane_pid_after}, `}${check.siblings_checked} other agent pane(s)`,
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
