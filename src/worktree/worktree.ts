import { constants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { CommandError, UserError } from '../core/errors.js';
import {
  branchTip,
  checkBranchName,
  commitsOnlyIn,
  findListed,
  git,
  gitLine,
  isCommit,
  listWorktrees,
  realOrResolved,
  splitLines,
  splitZ,
  withoutGitLocation,
  type Commit,
  type ListedWorktree,
  type WorktreeDeps,
} from './git.js';
import { copyIncluded } from './include.js';

/*
 * Git worktrees for agents. What peers lost here decides every rule: nothing is ever deleted by
 * force (no `worktree remove --force`, no `rm -rf`, `branch -D` only after proving that every
 * commit of the branch is on another branch or a remote); a worktree with modified, staged or
 * untracked files, or with commits nowhere else, is kept; an existing path is checked (repository
 * and branch) and never changed; the source checkout is only read (no checkout, reset, clean or
 * stash there, and reads never rewrite its index).
 */

export type { Commit, WorktreeDeps } from './git.js';

export interface WorktreeRecord {
  /** The worktree's directory (absolute). */
  path: string;
  /** e.g. mosaic/coder1 */
  branch: string;
  /** The source repository's top level (absolute). */
  repo: string;
  /** Full sha the branch started from. */
  base: string;
  /** ISO time of creation. */
  created: string;
  /**
   * mosaic made the branch (`git worktree add -b`): true; the branch existed before (named with
   * `--worktree <branch>`): false. `agent rm` deletes only a branch mosaic made. Absent in records
   * written before this field, and for a worktree found again without its record: unknown, so the
   * branch is kept.
   */
  branch_created?: boolean;
}

export interface EnsureRequest {
  /** Any directory inside the source repository's work tree. */
  workdir: string;
  path: string;
  branch: string;
  /** The user named the branch: an existing branch that no worktree has checked out may be used. */
  explicitBranch: boolean;
  /** The record kept from an earlier creation: returned as is when path, branch and repository match. */
  known?: WorktreeRecord;
}

export interface EnsureResult {
  record: WorktreeRecord;
  created: boolean;
  /** Relative paths copied from the source checkout by `.worktreeinclude`. */
  copied: string[];
  setup: { ran: boolean; output: string };
}

export const SETUP_SCRIPT = path.join('.mosaic', 'worktree-setup');
export const SETUP_TIMEOUT_MS = 300_000;
/** A checkout of a large repository, with its post-checkout hook, can take minutes. */
const ADD_TIMEOUT_MS = 600_000;

const lstatOrNull = async (file: string): Promise<Stats | null> => {
  try {
    return await fsp.lstat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
};

const short = (sha: string): string => sha.slice(0, 7);

/** The top level of the work tree `workdir` is in. */
async function sourceRepo(deps: WorktreeDeps, workdir: string): Promise<string> {
  const stat = await lstatOrNull(workdir);
  if (!stat)
    throw new UserError(`${workdir} does not exist: --worktree needs a directory inside a git repository`, { hint: 'pick --workdir' });
  const top = await gitLine(deps, ['-C', workdir, 'rev-parse', '--show-toplevel']);
  if (!top) {
    // Only on this failure path: one more git call to tell a bare repository (no work tree to branch from) from no repository.
    if ((await gitLine(deps, ['-C', workdir, 'rev-parse', '--is-bare-repository'])) === 'true') {
      throw new UserError(`${workdir} is a bare git repository: --worktree needs a checkout of one`, {
        hint: `clone it (\`git clone ${workdir} <dir>\`) and pass that directory as --workdir`,
      });
    }
    throw new UserError(`${workdir} is not in a git repository: --worktree needs one`, {
      hint: 'run `git init` there or pick --workdir',
    });
  }
  return realOrResolved(top);
}

/** What is at a worktree path, as far as `repo` is concerned. */
type Found =
  | { kind: 'missing'; listed: ListedWorktree | undefined }
  | { kind: 'not-directory' }
  | { kind: 'empty' }
  | { kind: 'plain'; enclosing: string | undefined }
  | { kind: 'foreign'; top: string }
  | { kind: 'main' }
  | { kind: 'worktree'; listed: ListedWorktree };

async function find(deps: WorktreeDeps, repo: string, target: string): Promise<Found> {
  const stat = await lstatOrNull(target);
  if (!stat) return { kind: 'missing', listed: await findListed(await listWorktrees(deps, repo), target) };
  if (!stat.isDirectory()) return { kind: 'not-directory' };
  const top = await gitLine(deps, ['-C', target, 'rev-parse', '--show-toplevel']);
  const real = await realOrResolved(target);
  if (!top || (await realOrResolved(top)) !== real) {
    if ((await fsp.readdir(target)).length === 0) return { kind: 'empty' };
    return { kind: 'plain', enclosing: top };
  }
  if (real === repo) return { kind: 'main' };
  const listed = await findListed(await listWorktrees(deps, repo), target);
  if (!listed) return { kind: 'foreign', top };
  return listed.main ? { kind: 'main' } : { kind: 'worktree', listed };
}

/** Why the record's path is not the worktree of its branch: gone, or something else is there. */
const notItsWorktree = (found: Found, target: string, repo: string, branch: string): string =>
  found.kind === 'missing' ? describe(found, target, repo) : `${describe(found, target, repo)}, not the worktree of branch ${branch}`;

/** In words, for a refusal: what is at `target`. */
function describe(found: Found, target: string, repo: string): string {
  switch (found.kind) {
    case 'missing':
      return `${target} does not exist`;
    case 'not-directory':
      return `${target} exists and is not a directory`;
    case 'empty':
      return `${target} is an empty directory`;
    case 'plain':
      return `${target} is a directory that is not a git worktree${found.enclosing ? ` (it lies inside the checkout ${found.enclosing})` : ''}`;
    case 'foreign':
      return `${target} is a checkout of another repository, not of ${repo}`;
    case 'main':
      return `${target} is the main checkout of ${repo}`;
    case 'worktree':
      return `${target} is a worktree of ${repo} on ${
        found.listed.branch ? `branch ${found.listed.branch}` : `a detached HEAD at ${short(found.listed.head ?? '')}`
      }`;
  }
}

/** The record of an existing worktree found again without a kept record: base = merge-base with the repository's HEAD. */
async function recordFound(deps: WorktreeDeps, repo: string, target: string, branch: string): Promise<WorktreeRecord> {
  const tip = (await branchTip(deps, repo, branch)) ?? '';
  const head = await gitLine(deps, ['-C', repo, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  const base = (head && (await gitLine(deps, ['-C', repo, 'merge-base', tip, head]))) || tip;
  // `<worktree>/.git` is written once, by `git worktree add`.
  const stat = await lstatOrNull(path.join(target, '.git'));
  const created = new Date(stat ? stat.birthtimeMs || stat.mtimeMs : Date.now()).toISOString();
  return { path: target, branch, repo, base, created };
}

async function sameRecord(known: WorktreeRecord, target: string, branch: string, repo: string): Promise<boolean> {
  return (
    known.branch === branch &&
    (await realOrResolved(known.path)) === (await realOrResolved(target)) &&
    (await realOrResolved(known.repo)) === repo
  );
}

/** Create (or find again) the worktree of an agent. */
export async function ensureWorktree(deps: WorktreeDeps, request: EnsureRequest): Promise<EnsureResult> {
  const target = path.resolve(request.path);
  const { branch } = request;
  await checkBranchName(deps, branch);
  const repo = await sourceRepo(deps, path.resolve(request.workdir));
  const found = await find(deps, repo, target);

  if (found.kind === 'worktree' && found.listed.branch === branch) {
    const { known } = request;
    const record = known && (await sameRecord(known, target, branch, repo)) ? known : await recordFound(deps, repo, target, branch);
    return { record, created: false, copied: [], setup: { ran: false, output: '' } };
  }
  if (found.kind !== 'missing' && found.kind !== 'empty') {
    throw new UserError(`${describe(found, target, repo)}: it cannot be the worktree of branch ${branch}`, {
      hint: 'mosaic never changes or deletes what is there: pick another worktree path (or move that one away yourself)',
    });
  }

  const inside = path.relative(repo, await realOrResolved(target));
  if (!inside.startsWith('..') && !path.isAbsolute(inside)) {
    // A worktree inside the source checkout would show up there as untracked (and `git add -A`
    // would add it as an embedded repository) unless the source ignores it.
    const ignored = await git(deps, ['-C', repo, 'check-ignore', '-q', '--no-index', `${inside}/`], { allowFailure: true });
    if (ignored.status !== 0) {
      throw new UserError(`${target} is inside the source checkout ${repo} and git does not ignore it there`, {
        hint: 'pick a worktree path outside the checkout, or ignore that directory (.gitignore or .git/info/exclude)',
      });
    }
  }

  const head = await gitLine(deps, ['-C', repo, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  if (!head) throw new UserError(`${repo} has no commits yet: a worktree starts from one`, { hint: 'make a first commit there' });

  let base: string;
  const tip = await branchTip(deps, repo, branch);
  // The kept record says mosaic made this branch for this worktree (whose directory is gone): made again on it, still mosaic's.
  const { known } = request;
  const ours = tip !== undefined && known?.branch_created === true && (await sameRecord(known, target, branch, repo));
  const branchCreated = tip === undefined || ours;
  if (tip === undefined) {
    base = head;
    await addWorktree(deps, repo, ['-b', branch, target, head], branch);
  } else {
    const worktrees = await listWorktrees(deps, repo);
    const holders = worktrees.filter((entry) => entry.branch === branch);
    if (holders.length > 0) {
      const gone = holders.some((entry) => entry.prunable);
      throw new UserError(
        `branch ${branch} is already checked out at ${holders.map((entry) => entry.path).join(', ')}${gone ? ' (a directory that no longer exists)' : ''}`,
        {
          hint: gone
            ? `\`git -C ${repo} worktree prune\` forgets worktrees whose directories are gone; or pick another branch`
            : 'a branch can be checked out in one worktree only: pick another branch',
        },
      );
    }
    if (!request.explicitBranch && !ours) {
      throw new UserError(
        `branch ${branch} already exists in ${repo} (at ${short(tip)}): mosaic will not take over a branch it did not create`,
        {
          hint: `name it explicitly to work on it, or delete it if it is no longer needed (\`git -C ${repo} branch -d ${branch}\`)`,
        },
      );
    }
    base =
      ours && (await isCommit(deps, repo, known.base)) ? known.base : ((await gitLine(deps, ['-C', repo, 'merge-base', tip, head])) ?? tip);
    await addWorktree(deps, repo, [target, branch], branch);
  }

  const record: WorktreeRecord = { path: target, branch, repo, base, created: new Date().toISOString(), branch_created: branchCreated };
  const leftInPlace = `the worktree is left in place at ${target} (branch ${branch}); mosaic never removes it by itself`;
  let copied: string[];
  try {
    copied = await copyIncluded(deps, repo, target);
  } catch (error) {
    throw new UserError(`copying the files .worktreeinclude selects into ${target} failed: ${(error as Error).message}`, {
      hint: leftInPlace,
      cause: error,
    });
  }
  const setup = await runSetup(deps, record, leftInPlace);
  return { record, created: true, copied, setup };
}

async function addWorktree(deps: WorktreeDeps, repo: string, args: string[], branch: string): Promise<void> {
  try {
    await git(deps, ['-C', repo, 'worktree', 'add', ...args], { timeoutMs: ADD_TIMEOUT_MS });
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    throw new UserError(`git could not create the worktree of branch ${branch}: ${error.stderr.trim().split('\n').slice(-3).join(' | ')}`, {
      cause: error,
    });
  }
}

const tail = (text: string, lines = 15): string => {
  const kept = text.trimEnd().split('\n').slice(-lines).join('\n');
  return kept.length > 2000 ? `…${kept.slice(-2000)}` : kept;
};

async function isExecutableFile(file: string): Promise<boolean> {
  const stat = await lstatOrNull(file);
  if (!stat) return false;
  try {
    await fsp.access(file, constants.X_OK);
    return (await fsp.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** `.mosaic/worktree-setup` of the new worktree (its own copy), run there once. */
async function runSetup(deps: WorktreeDeps, record: WorktreeRecord, leftInPlace: string): Promise<EnsureResult['setup']> {
  const script = path.join(record.path, SETUP_SCRIPT);
  if (!(await isExecutableFile(script))) {
    const inWorktree = await lstatOrNull(script);
    const inSource = await lstatOrNull(path.join(record.repo, SETUP_SCRIPT));
    let output = '';
    if (inWorktree) output = `${SETUP_SCRIPT} is not executable: not run (chmod +x it and commit that)`;
    else if (inSource) output = `${SETUP_SCRIPT} exists in ${record.repo} but not on the worktree's commit: not run (commit it)`;
    return { ran: false, output };
  }
  const env = {
    ...withoutGitLocation(deps.env),
    MOSAIC_WORKTREE: record.path,
    MOSAIC_WORKTREE_BRANCH: record.branch,
    MOSAIC_SOURCE_REPO: record.repo,
  };
  let result;
  try {
    result = await deps.runner([script], { cwd: record.path, env, timeoutMs: SETUP_TIMEOUT_MS, allowFailure: true });
  } catch (error) {
    throw new UserError(`the worktree setup script ${script} could not start: ${(error as Error).message}`, {
      hint: leftInPlace,
      cause: error,
    });
  }
  const output = [result.stdout, result.stderr].filter((text) => text !== '').join('\n');
  if (result.status !== 0) {
    const how =
      result.signal && result.durationMs >= SETUP_TIMEOUT_MS
        ? `timed out after ${SETUP_TIMEOUT_MS / 1000} s`
        : result.signal
          ? `killed by ${result.signal}`
          : `exit ${String(result.status)}`;
    const detail = tail(result.stderr) || tail(result.stdout);
    throw new UserError(`the worktree setup script ${script} failed (${how})${detail ? `:\n${detail}` : ''}`, { hint: leftInPlace });
  }
  return { ran: true, output };
}

export interface WorktreeState {
  exists: boolean;
  /** What the path has checked out now (null: missing, detached, or not a worktree of the repository). */
  branch: string | null;
  /** `git status --porcelain=v1 -uall` lines (untracked included). */
  dirty: string[];
  /** Commits of the branch on no other local branch and no remote-tracking ref, newest first. */
  unpushed: Commit[];
}

/**
 * The commits of `record.branch` that deleting it would lose: not on any other local branch or
 * remote-tracking ref, and past `base` (what it started from was there before the agent).
 */
async function unpushedCommits(deps: WorktreeDeps, record: WorktreeRecord): Promise<{ tip: string | undefined; commits: Commit[] }> {
  const tip = await branchTip(deps, record.repo, record.branch);
  if (!tip) return { tip, commits: [] };
  const refs = splitLines(
    (await git(deps, ['-C', record.repo, 'for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/remotes'])).stdout,
  ).filter((ref) => ref !== `refs/heads/${record.branch}`);
  if ((await isCommit(deps, record.repo, record.base)) && !refs.includes(record.base)) refs.push(record.base);
  return { tip, commits: await commitsOnlyIn(deps, record.repo, tip, refs) };
}

const statusLines = async (deps: WorktreeDeps, dir: string): Promise<string[]> =>
  splitLines((await git(deps, ['-C', dir, 'status', '--porcelain=v1', '-uall'])).stdout);

/**
 * How many tracked files the checkout at `repo` has changed and not committed (a new worktree starts from the
 * commit, without them); untracked files are neither counted nor scanned. undefined when git could not tell.
 */
export async function uncommittedTrackedChanges(deps: WorktreeDeps, repo: string): Promise<number | undefined> {
  const result = await git(deps, ['-C', repo, 'status', '--porcelain=v1', '--untracked-files=no'], { allowFailure: true });
  return result.status === 0 ? splitLines(result.stdout).length : undefined;
}

async function inspectFound(deps: WorktreeDeps, record: WorktreeRecord): Promise<{ found: Found; state: WorktreeState }> {
  const repo = await realOrResolved(record.repo);
  const found = await find(deps, repo, path.resolve(record.path));
  const { commits } = await unpushedCommits(deps, record);
  const worktree = found.kind === 'worktree';
  return {
    found,
    state: {
      exists: found.kind !== 'missing',
      branch: worktree ? found.listed.branch : null,
      dirty: worktree ? await statusLines(deps, record.path) : [],
      unpushed: commits,
    },
  };
}

export async function inspectWorktree(deps: WorktreeDeps, record: WorktreeRecord): Promise<WorktreeState> {
  return (await inspectFound(deps, record)).state;
}

export interface RemoveOutcome {
  removed: boolean;
  branchDeleted: boolean;
  /** Why something was kept, in words. */
  kept?: string;
}

const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;
const listSome = (items: string[], max = 3): string => items.slice(0, max).join(', ') + (items.length > max ? ', …' : '');

function whyKept(state: WorktreeState, branch: string): string | undefined {
  const reasons: string[] = [];
  if (state.dirty.length > 0) {
    reasons.push(`${plural(state.dirty.length, 'file', 'files')} not committed (${listSome(state.dirty.map((line) => line.slice(3)))})`);
  }
  if (state.unpushed.length > 0) {
    reasons.push(
      `${plural(state.unpushed.length, 'commit', 'commits')} on ${branch} not on any other branch or remote (${listSome(
        state.unpushed.map((commit) => `${short(commit.sha)} ${commit.subject}`),
      )})`,
    );
  }
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/**
 * Whether removing the worktree takes its branch too: only a branch mosaic created. Commits on a
 * branch that stays are not lost with the worktree, so only then do they hold the worktree back.
 */
export const branchGoesWithWorktree = (record: WorktreeRecord): boolean => record.branch_created === true;

/**
 * Remove the worktree, and its branch when mosaic created it, only when nothing would be lost;
 * else keep them and say why.
 */
export async function removeWorktree(deps: WorktreeDeps, record: WorktreeRecord): Promise<RemoveOutcome> {
  const { found, state } = await inspectFound(deps, record);
  const repo = await realOrResolved(record.repo);
  const target = path.resolve(record.path);

  if (found.kind === 'missing') {
    // The directory is gone: forget its registration (this entry only, unlike a global prune).
    if (found.listed) {
      const forgot = await git(deps, ['-C', repo, 'worktree', 'remove', found.listed.path], { allowFailure: true });
      if (forgot.status !== 0) {
        return { removed: false, branchDeleted: false, kept: `git worktree remove refused: ${forgot.stderr.trim()}` };
      }
    }
  } else if (found.kind !== 'worktree' || found.listed.branch !== record.branch) {
    return { removed: false, branchDeleted: false, kept: notItsWorktree(found, target, repo, record.branch) };
  } else {
    const why = whyKept(branchGoesWithWorktree(record) ? state : { ...state, unpushed: [] }, record.branch);
    if (why) return { removed: false, branchDeleted: false, kept: why };
    if (found.listed.locked) return { removed: false, branchDeleted: false, kept: `the worktree is locked (${found.listed.locked})` };
    // No --force: git itself refuses again if a file appeared since the inspection.
    const removed = await git(deps, ['-C', repo, 'worktree', 'remove', found.listed.path], { allowFailure: true });
    if (removed.status !== 0) {
      return { removed: false, branchDeleted: false, kept: `git worktree remove refused: ${removed.stderr.trim()}` };
    }
  }
  return { removed: true, ...(await deleteBranchIfSafe(deps, record)) };
}

/**
 * `branch -D` of a branch mosaic created, only right after proving again that every commit of the
 * branch is somewhere else. A branch that existed before (or a record that does not say) is kept.
 */
async function deleteBranchIfSafe(deps: WorktreeDeps, record: WorktreeRecord): Promise<Omit<RemoveOutcome, 'removed'>> {
  const { tip, commits } = await unpushedCommits(deps, record);
  if (!tip) return { branchDeleted: false };
  if (record.branch_created === false) {
    return { branchDeleted: false, kept: `branch ${record.branch} kept: it existed before mosaic made the worktree` };
  }
  if (record.branch_created !== true) {
    return {
      branchDeleted: false,
      kept: `branch ${record.branch} kept: the worktree's record does not say whether mosaic created it (delete it yourself if it is no longer needed)`,
    };
  }
  const why = whyKept({ exists: false, branch: null, dirty: [], unpushed: commits }, record.branch);
  if (why) return { branchDeleted: false, kept: `branch ${record.branch} kept: ${why}` };
  const deleted = await git(deps, ['-C', record.repo, 'branch', '-D', record.branch], { allowFailure: true });
  if (deleted.status !== 0) return { branchDeleted: false, kept: `branch ${record.branch} kept: ${deleted.stderr.trim()}` };
  return { branchDeleted: true };
}

export interface DoneReport {
  branch: string;
  base: string;
  /** Commits since base, newest first. */
  commits: Commit[];
  /** Changed since base, committed or not (untracked included), sorted, unique. */
  files: string[];
  /** No uncommitted files, seen in the worktree: false when it could not be looked at (worktree_problem). */
  clean: boolean;
  dirty: string[];
  /** Why the worktree could not be looked at (its directory is gone, or holds another branch); null when it was. */
  worktree_problem: string | null;
}

export async function doneReport(deps: WorktreeDeps, record: WorktreeRecord): Promise<DoneReport> {
  const repo = await realOrResolved(record.repo);
  if (!(await isCommit(deps, repo, record.base))) {
    throw new UserError(`the base ${record.base} of branch ${record.branch} is not a commit of ${repo}`);
  }
  const tip = await branchTip(deps, repo, record.branch);
  const commits = tip ? await commitsOnlyIn(deps, repo, tip, [record.base]) : [];
  const found = await find(deps, repo, path.resolve(record.path));
  const files = new Set<string>();
  let dirty: string[] = [];
  let problem: string | null = null;
  const diffArgs = ['diff', '--name-only', '--no-renames', '--no-ext-diff', '-z'];
  if (found.kind === 'worktree' && found.listed.branch === record.branch) {
    // The working tree against base: committed, staged and unstaged changes at once.
    for (const file of splitZ((await git(deps, ['-C', record.path, ...diffArgs, record.base, '--'])).stdout)) files.add(file);
    const untracked = await git(deps, ['-C', record.path, 'ls-files', '-z', '--others', '--exclude-standard']);
    for (const file of splitZ(untracked.stdout)) files.add(file);
    dirty = await statusLines(deps, record.path);
  } else {
    // Only the branch can be read: whatever was not committed is not known, so the tree is not reported clean.
    problem = notItsWorktree(found, path.resolve(record.path), repo, record.branch);
    if (tip) for (const file of splitZ((await git(deps, ['-C', repo, ...diffArgs, record.base, tip, '--'])).stdout)) files.add(file);
  }
  return {
    branch: record.branch,
    base: record.base,
    commits,
    files: [...files].sort(),
    clean: problem === null && dirty.length === 0,
    dirty,
    worktree_problem: problem,
  };
}

/** Worktrees under `root` (one directory per agent name) with no agent in `known`: for `fleet verify`. */
export async function strayWorktrees(root: string, known: ReadonlySet<string>): Promise<string[]> {
  let entries;
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isDirectory() && !known.has(entry.name))
    .map((entry) => path.join(path.resolve(root), entry.name))
    .sort();
}
