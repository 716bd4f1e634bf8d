import { rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { findAgent, withWorktreeDirs } from '../context/context.js';
import { readWorktreeRecord, worktreeRecordFile } from '../launch/worktree.js';
import { parseLaunchSpec } from '../launch/spec-read.js';
import { nameProblem, newRecord, removeEphemeral, withEphemeralAgents, writeEphemeral } from '../roster/ephemeral.js';
import type { AgentMode, AgentSpec } from '../roster/model.js';
import { expandHome, launchSpecFile } from '../roster/paths.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { readFileOrUndefined } from '../system/fs.js';
import type { AgentOutcome } from '../supervisor/types.js';
import {
  branchGoesWithWorktree,
  doneReport,
  inspectWorktree,
  removeWorktree,
  uncommittedTrackedChanges,
  type DoneReport,
  type WorktreeRecord,
} from '../worktree/worktree.js';
import { kickstartStarted } from './kickstart.js';
import { removeAgentRunFiles } from './run-files.js';
import type { SupervisedFleet } from './open.js';
import { fleetStatus, type AgentStatus } from './status.js';

/**
 * The hybrid lifecycle: roster agents (always on) and ephemeral ones made per task with
 * `agent new`, each optionally in its own git worktree; `agent rm` never loses work.
 */
export interface NewAgentOptions {
  name: string;
  runtime: string;
  workdir?: string;
  worktree?: string | true;
  mode?: AgentMode;
  model?: string;
  class?: string;
  message?: string;
}

export interface NewAgentResult {
  agent: string;
  outcome: AgentOutcome;
  /** The first prompt (`--message`) when mosaic sent it after the start (stub and custom runtimes). */
  kickstart: { status: string; detail: string } | null;
  working_directory: string;
  worktree: WorktreeRecord | null;
  /**
   * Tracked files changed but not committed in the worktree's source checkout: the worktree starts from the
   * commit, without them. null without a worktree (or when git could not tell).
   */
  source_uncommitted: number | null;
}

export const NEW_NAME_HINT = 'pick another name; `mosaic agent list` shows the names in use';

export async function newAgent(fleet: SupervisedFleet, options: NewAgentOptions): Promise<NewAgentResult> {
  const { roster, paths, host } = fleet;
  const problem = nameProblem(roster, options.name);
  if (problem) throw new UserError(problem, { hint: NEW_NAME_HINT });
  if (!BUILTIN_RUNTIMES.includes(options.runtime) && !roster.runtimes[options.runtime]?.command) {
    throw new UserError(`unknown runtime "${options.runtime}" (built-in: ${BUILTIN_RUNTIMES.join(', ')})`, {
      hint: `define runtimes.${options.runtime}.command in the roster to use a custom one`,
    });
  }
  const home = host.env.HOME ?? '';
  const workdir = path.resolve(expandHome(options.workdir ?? roster.defaultWorkingDirectory, home));
  const record = newRecord({
    name: options.name,
    runtime: options.runtime,
    workingDirectory: workdir,
    mode: options.mode ?? roster.agents[0]?.mode ?? 'safe',
    ...(options.model ? { model: options.model } : {}),
    ...(options.class ? { class: options.class } : {}),
    ...(options.message ? { message: options.message } : {}),
    ...(options.worktree !== undefined ? { worktree: options.worktree } : {}),
    now: new Date(host.now()),
  });
  if (record.worktree && !record.worktree.explicit) {
    // The default branch must be new: an old mosaic/<name> may hold someone's work.
    const exists = await host.runner(['git', '-C', workdir, 'rev-parse', '--verify', '--quiet', `refs/heads/${record.worktree.branch}`], {
      allowFailure: true,
    });
    if (exists.status === 0) {
      throw new UserError(`branch ${record.worktree.branch} already exists in ${workdir}`, {
        hint: `pick another agent name, pass the branch to use (--worktree ${record.worktree.branch}), or remove the branch yourself`,
      });
    }
  }
  await writeEphemeral(paths.stateDir, record);
  const agent = findAgentIn(await reload(fleet), options.name);
  const [outcome] = await fleet.supervisor.start([agent]);
  if (outcome!.result === 'error') {
    // Nothing runs: the agent is not kept. A worktree made before the failure stays (never deleted here).
    await removeEphemeral(paths.stateDir, options.name);
  }
  // Runtimes that cannot take the first prompt on their command line (stub, custom) get it sent now.
  const [kickstart] = await kickstartStarted(fleet, [agent], [outcome!]);
  const worktree = agent.worktree ? ((await readWorktreeRecord(paths.worktreesDir, agent.name)) ?? null) : null;
  return {
    agent: agent.name,
    outcome: outcome!,
    kickstart: kickstart ? { status: kickstart.result.status, detail: kickstart.result.detail } : null,
    working_directory: agent.workingDirectory,
    worktree,
    source_uncommitted:
      worktree && outcome!.result !== 'error'
        ? ((await uncommittedTrackedChanges({ runner: host.runner, env: host.env }, worktree.repo)) ?? null)
        : null,
  };
}

/** The fleet's agents with the just-written ephemeral records (the context was loaded before). */
async function reload(fleet: SupervisedFleet): Promise<AgentSpec[]> {
  const roster = { ...fleet.roster, agents: fleet.roster.agents.filter((a) => a.origin !== 'ephemeral') };
  return withWorktreeDirs(await withEphemeralAgents(roster, fleet.paths.stateDir), fleet.paths.worktreesDir).agents;
}

const findAgentIn = (agents: AgentSpec[], name: string): AgentSpec => agents.find((a) => a.name === name)!;

export interface AgentListing {
  tenant_id: string;
  host: string;
  agent: string;
  origin: 'roster' | 'ephemeral';
  runtime: string;
  class: string | null;
  mode: AgentMode;
  working_directory: string;
  worktree: string | null;
  branch: string | null;
}

/** This host's agents (roster, then ephemeral), then the roster's agents on other hosts (`host` is the roster's name for it). */
export function listAgents(fleet: Pick<SupervisedFleet, 'roster' | 'host'>): AgentListing[] {
  return [...fleet.roster.agents, ...(fleet.roster.remoteAgents ?? [])].map((a) => ({
    tenant_id: fleet.roster.tenantId,
    host: a.host ?? fleet.host.identity.host,
    agent: a.name,
    origin: a.origin ?? 'roster',
    runtime: a.runtime,
    class: a.class ?? null,
    mode: a.mode,
    working_directory: a.workingDirectory,
    worktree: a.worktree ? a.workingDirectory : null,
    branch: a.worktree?.branch ?? null,
  }));
}

export interface AgentDetails extends AgentListing {
  session: string;
  source_directory: string | null;
  model: string | null;
  roster_line: number | null;
  launch_argv: string[] | null;
  worktree_record: WorktreeRecord | null;
  status: AgentStatus;
}

/** Everything mosaic knows about one agent: its entry, its launch argv, its worktree, its state. */
export async function showAgent(fleet: SupervisedFleet, name: string): Promise<AgentDetails> {
  const agent = findAgent(fleet.roster, name);
  const [status] = await fleetStatus(fleet, [agent]);
  const launch = await readFileOrUndefined(launchSpecFile(fleet.paths.runDir, agent.name));
  return {
    ...listAgents({ roster: { ...fleet.roster, agents: [agent] }, host: fleet.host })[0]!,
    session: agent.session,
    source_directory: agent.sourceDirectory ?? null,
    model: agent.model ?? null,
    roster_line: agent.origin === 'ephemeral' ? null : agent.line,
    launch_argv: launch === undefined ? null : parseLaunchSpec(launch).argv,
    worktree_record: agent.worktree ? ((await readWorktreeRecord(fleet.paths.worktreesDir, agent.name)) ?? null) : null,
    status: status!,
  };
}

export interface RemoveResult {
  agent: string;
  stopped: AgentOutcome;
  /** `branch_removed`: only a branch mosaic created is ever deleted (see WorktreeRecord.branch_created). */
  worktree: { path: string; removed: boolean; branch: string; branch_removed: boolean; kept: string | null } | null;
}

/**
 * `agent rm`: stop an ephemeral agent and forget it. Its worktree goes only when nothing would be
 * lost (clean, every commit on another branch or a remote), and its branch too when mosaic created it. Otherwise: without --force nothing is
 * done and the error says what would be lost; with --force the agent goes and the worktree stays.
 */
export async function removeAgent(
  fleet: SupervisedFleet,
  name: string,
  options: { force?: boolean; keepWorktree?: boolean },
): Promise<RemoveResult> {
  const agent = findAgent(fleet.roster, name);
  if (agent.origin !== 'ephemeral') {
    throw new UserError(`agent "${name}" is in the roster ${fleet.roster.file}, not an ephemeral agent`, {
      hint: 'remove it from the roster file (and `mosaic fleet stop <agent>`); `agent rm` removes agents made with `agent new`',
    });
  }
  const deps = { runner: fleet.host.runner, env: fleet.host.env };
  const record = agent.worktree ? await readWorktreeRecord(fleet.paths.worktreesDir, agent.name) : undefined;
  let keep = options.keepWorktree === true;
  if (record && !keep) {
    const state = await inspectWorktree(deps, record);
    const losses = [
      ...(state.dirty.length ? [`${state.dirty.length} uncommitted change(s): ${state.dirty.slice(0, 5).join(', ')}`] : []),
      // Commits on a branch that stays (one mosaic did not create) stay with it.
      ...(state.unpushed.length && branchGoesWithWorktree(record)
        ? [
            `${state.unpushed.length} commit(s) on ${record.branch} on no other branch or remote: ${state.unpushed
              .slice(0, 5)
              .map((c) => `${c.sha.slice(0, 8)} ${c.subject}`)
              .join('; ')}`,
          ]
        : []),
    ];
    if (losses.length > 0 && !options.force) {
      throw new UserError(`agent "${name}": removing its worktree ${record.path} would lose ${losses.join(' and ')}`, {
        hint: `commit and push (or merge) the work, or keep the worktree: mosaic agent rm ${name} --keep-worktree (or --force)`,
      });
    }
    keep = losses.length > 0;
  }
  const [stopped] = await fleet.supervisor.stop([agent]);
  if (stopped!.result === 'error')
    throw new UserError(`agent "${name}" could not be stopped: ${stopped!.error}`, { hint: 'nothing was removed' });
  let worktree: RemoveResult['worktree'] = null;
  if (record) {
    if (keep)
      worktree = {
        path: record.path,
        removed: false,
        branch: record.branch,
        branch_removed: false,
        kept: options.keepWorktree ? 'kept as asked (--keep-worktree)' : 'it holds work that is not saved elsewhere',
      };
    else {
      const outcome = await removeWorktree(deps, record);
      if (outcome.removed) await rm(worktreeRecordFile(fleet.paths.worktreesDir, agent.name), { force: true });
      worktree = {
        path: record.path,
        removed: outcome.removed,
        branch: record.branch,
        branch_removed: outcome.branchDeleted,
        kept: outcome.kept ?? null,
      };
    }
  }
  // stop() drops the state and launch spec; the rest of its run state (heartbeat, kickstart, session
  // id, …) would otherwise stay in the run directory for good, since nothing else names this agent again.
  await removeAgentRunFiles(fleet.paths.runDir, agent.name);
  await removeEphemeral(fleet.paths.stateDir, agent.name);
  return { agent: name, stopped: stopped!, worktree };
}

/** `agent done`: what an orchestrator checks before it accepts "done": commits since the start, files, a clean tree. */
export async function agentDone(fleet: SupervisedFleet, name: string): Promise<DoneReport & { agent: string; worktree: string }> {
  const agent = findAgent(fleet.roster, name);
  const record = agent.worktree ? await readWorktreeRecord(fleet.paths.worktreesDir, agent.name) : undefined;
  if (!record) {
    throw new UserError(`agent "${name}" has no worktree${agent.worktree ? ' yet (it has not been started)' : ''}`, {
      hint: 'agent done reports on the branch of a worktree agent: `mosaic agent new <name> --worktree`, or `worktree: true` in the roster',
    });
  }
  return { agent: name, worktree: record.path, ...(await doneReport({ runner: fleet.host.runner, env: fleet.host.env }, record)) };
}
