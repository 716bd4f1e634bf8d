import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { agentDone, listAgents, newAgent, NEW_NAME_HINT, removeAgent, showAgent } from '../../fleet/agents.js';
import { invalidAgentName, invalidWorktreeBranch, WORKTREE_BRANCH_HINT } from '../../roster/ephemeral.js';
import type { AgentMode } from '../../roster/model.js';
import { runElsewhere } from '../elsewhere.js';
import { colour, err, out, printJson, stateColour, table } from '../output.js';
import { open, options } from './shared.js';
import { NO_AGENTS } from './status-table.js';

/** `agent new`: create and start an agent that is not in the roster file. */
export async function create(command: Command): Promise<number> {
  const opts = options<{
    runtime: string;
    workdir?: string;
    worktree?: string | true;
    mode?: string;
    model?: string;
    class?: string;
    message?: string;
  }>(command);
  if (opts.mode !== undefined && opts.mode !== 'yolo' && opts.mode !== 'safe')
    throw new UsageError(`--mode must be yolo or safe, got "${opts.mode}"`);
  // A name no fleet could take is a usage error, like a bad --mode; one this fleet has taken is not (newAgent).
  const invalid = invalidAgentName(command.args[0]!);
  if (invalid) throw new UsageError(invalid, { hint: NEW_NAME_HINT });
  const badBranch = typeof opts.worktree === 'string' ? invalidWorktreeBranch(opts.worktree) : undefined;
  if (badBranch) throw new UsageError(badBranch, { hint: WORKTREE_BRANCH_HINT });
  const fleet = await open(command);
  const result = await newAgent(fleet, {
    name: command.args[0]!,
    runtime: opts.runtime,
    ...(opts.workdir !== undefined ? { workdir: opts.workdir } : {}),
    ...(opts.worktree !== undefined ? { worktree: opts.worktree } : {}),
    ...(opts.mode !== undefined ? { mode: opts.mode as AgentMode } : {}),
    ...(opts.model !== undefined ? { model: opts.model } : {}),
    ...(opts.class !== undefined ? { class: opts.class } : {}),
    ...(opts.message !== undefined ? { message: opts.message } : {}),
  });
  const outcome = result.outcome;
  if (opts.json) printJson({ tenant_id: fleet.roster.tenantId, host: fleet.host.identity.host, ...result });
  else if (outcome.result === 'error') {
    err(`${result.agent}: ${colour.red('error', process.stderr)}: ${outcome.error}; the agent was not kept`);
    if (outcome.hint) err(`  hint: ${outcome.hint}`);
  } else {
    out(`${result.agent}: ${stateColour(result.outcome.result.replace('-', ' '))} in ${result.working_directory}`);
    if (result.worktree)
      out(`  worktree on branch ${result.worktree.branch} (from ${result.worktree.repo} at ${result.worktree.base.slice(0, 12)})`);
    if (result.worktree && result.source_uncommitted)
      err(
        `warning: ${result.worktree.repo} has ${result.source_uncommitted} uncommitted change(s) that the worktree does not have (it starts from the commit); commit them there first to give them to the agent`,
      );
  }
  const kickstartFailed = result.kickstart !== null && result.kickstart.status !== 'accepted' && result.kickstart.status !== 'queued';
  if (kickstartFailed && !opts.json) err(`${result.agent}: first prompt ${result.kickstart!.status}: ${result.kickstart!.detail}`);
  return outcome.result === 'error' || kickstartFailed ? 1 : 0;
}

export async function list(command: Command): Promise<number> {
  const fleet = await open(command, { quietWarnings: Boolean(options(command).json) });
  const rows = listAgents(fleet);
  if (options(command).json) printJson(rows);
  else if (rows.length === 0) out(NO_AGENTS);
  else
    out(
      table(
        ['AGENT', 'ORIGIN', 'RUNTIME', 'CLASS', 'MODE', 'BRANCH', 'WORKING DIRECTORY'],
        rows.map((r, i) => [
          i < fleet.roster.agents.length ? r.agent : `${r.host}/${r.agent}`,
          r.origin,
          r.runtime,
          r.class ?? '-',
          r.mode,
          r.branch ?? '-',
          r.working_directory,
        ]),
      ),
    );
  return 0;
}

export async function show(command: Command): Promise<number> {
  const fleet = await open(command, { quietWarnings: Boolean(options(command).json) });
  // An agent of another host is that host's mosaic's to show (as status, tail, logs); so for done and rm.
  const there = await runElsewhere(fleet, command);
  if (there !== undefined) return there;
  const d = await showAgent(fleet, command.args[0]!);
  if (options(command).json) {
    printJson(d);
    return 0;
  }
  const lines: [string, string][] = [
    ['agent', d.agent],
    ['origin', d.origin === 'roster' ? `roster ${fleet.roster.file}:${d.roster_line}` : 'ephemeral (mosaic agent new)'],
    ['runtime', `${d.runtime}${d.model ? ` (model ${d.model})` : ''}, mode ${d.mode}`],
    ['class', d.class ?? '-'],
    ['session', d.session],
    ['working directory', d.working_directory],
    ...(d.worktree_record
      ? ([['worktree', `branch ${d.worktree_record.branch} of ${d.worktree_record.repo}, from ${d.worktree_record.base.slice(0, 12)}`]] as [
          string,
          string,
        ][])
      : d.branch
        ? ([['worktree', `branch ${d.branch} (made at its first start)`]] as [string, string][])
        : []),
    ['state', `${d.status.state}${d.status.pane_pid ? `, pane pid ${d.status.pane_pid}` : ''}`],
    // The launch spec is written at each start and removed at a stop: none also for an agent that ran before.
    ['launch', d.launch_argv ? d.launch_argv.join(' ') : '- (not running: written when it starts)'],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  out(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
  return 0;
}

export async function remove(command: Command): Promise<number> {
  const opts = options<{ force?: boolean; keepWorktree?: boolean }>(command);
  const fleet = await open(command);
  const there = await runElsewhere(fleet, command);
  if (there !== undefined) return there;
  const result = await removeAgent(fleet, command.args[0]!, { force: opts.force, keepWorktree: opts.keepWorktree });
  if (opts.json) printJson({ tenant_id: fleet.roster.tenantId, host: fleet.host.identity.host, ...result });
  else {
    out(`${result.agent}: ${stateColour(result.stopped.result.replace('-', ' '))}, removed`);
    const wt = result.worktree;
    if (wt?.removed && wt.branch_removed) out(`  worktree ${wt.path} and its branch ${wt.branch} removed (nothing was lost)`);
    else if (wt?.removed) out(`  worktree ${wt.path} removed; ${wt.kept ?? `branch ${wt.branch} was already gone`}`);
    else if (wt) out(`  worktree kept at ${wt.path}: ${wt.kept}`);
  }
  return 0;
}

export async function done(command: Command): Promise<number> {
  const fleet = await open(command, { quietWarnings: Boolean(options(command).json) });
  const there = await runElsewhere(fleet, command);
  if (there !== undefined) return there;
  const report = await agentDone(fleet, command.args[0]!);
  if (options(command).json) {
    printJson({ tenant_id: fleet.roster.tenantId, host: fleet.host.identity.host, ...report });
    return 0;
  }
  const tree = report.worktree_problem ? colour.red('unknown') : report.clean ? colour.green('clean') : colour.yellow('dirty');
  out(`${report.agent}: branch ${report.branch}, ${report.commits.length} commit(s) since ${report.base.slice(0, 12)}, tree ${tree}`);
  if (report.worktree_problem) out(`  the worktree cannot be looked at: ${report.worktree_problem} (only committed work is listed)`);
  for (const c of report.commits) out(`  ${c.sha.slice(0, 8)} ${c.subject}`);
  if (report.files.length) out(`files changed:\n${report.files.map((f) => `  ${f}`).join('\n')}`);
  if (report.dirty.length) out(`not committed:\n${report.dirty.map((f) => `  ${f}`).join('\n')}`);
  return 0;
}
