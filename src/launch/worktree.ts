import path from 'node:path';
import { InternalError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { readFileOrUndefined, writeFileAtomic } from '../system/fs.js';
import type { CommandRunner } from '../system/runner.js';
import { ensureWorktree, type WorktreeRecord } from '../worktree/worktree.js';

/**
 * The worktree of a worktree agent (`worktree:` in the roster, `agent new --worktree`): made at its
 * first start, found again at every later one, its record (branch, source repository, the commit it
 * started from) kept beside it as `<worktrees>/<agent>.json` for `agent rm`, `agent done` and
 * `agent show`. Crash restarts run no Node and need nothing here: the directory stays.
 */
export const worktreeRecordFile = (worktreesDir: string, agent: string): string => path.join(worktreesDir, `${agent}.json`);

export async function readWorktreeRecord(worktreesDir: string, agent: string): Promise<WorktreeRecord | undefined> {
  const text = await readFileOrUndefined(worktreeRecordFile(worktreesDir, agent));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as WorktreeRecord;
  } catch {
    return undefined;
  }
}

export async function prepareWorktree(agent: AgentSpec, deps: { runner: CommandRunner; env: NodeJS.ProcessEnv }): Promise<void> {
  if (!agent.worktree) return;
  if (!agent.sourceDirectory) throw new InternalError(`agent "${agent.name}" has a worktree but no source directory`);
  const worktreesDir = path.dirname(agent.workingDirectory);
  const known = await readWorktreeRecord(worktreesDir, agent.name);
  const { record, created } = await ensureWorktree(deps, {
    workdir: agent.sourceDirectory,
    path: agent.workingDirectory,
    branch: agent.worktree.branch,
    explicitBranch: agent.worktree.explicit,
    ...(known ? { known } : {}),
  });
  if (created || !known) await writeFileAtomic(worktreeRecordFile(worktreesDir, agent.name), `${JSON.stringify(record, null, 2)}\n`);
}
