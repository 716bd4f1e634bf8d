import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { CommandRunner, RunOptions, RunResult } from '../system/runner.js';

export interface WorktreeDeps {
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
}

/**
 * Variables that would point git at another repository, work tree or index than the `-C`
 * directory (set, for example, when mosaic runs from inside a git hook). Every git call and the
 * setup script start without them.
 */
const LOCATING_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
];

export function withoutGitLocation(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...env };
  for (const name of LOCATING_VARIABLES) delete clean[name];
  return clean;
}

const GIT_TIMEOUT_MS = 120_000;

/**
 * `git <args>`. GIT_OPTIONAL_LOCKS=0: reads (status, diff, ls-files) never refresh and rewrite
 * an index, so looking at the source checkout leaves its `.git/index` byte for byte as it was.
 */
export function git(deps: WorktreeDeps, args: readonly string[], options: Omit<RunOptions, 'env'> = {}): Promise<RunResult> {
  return deps.runner(['git', ...args], {
    timeoutMs: GIT_TIMEOUT_MS,
    ...options,
    env: { ...withoutGitLocation(deps.env), GIT_OPTIONAL_LOCKS: '0' },
  });
}

/** The first line of a successful git's stdout, or undefined when it failed. */
export async function gitLine(deps: WorktreeDeps, args: readonly string[]): Promise<string | undefined> {
  const result = await git(deps, args, { allowFailure: true });
  if (result.status !== 0) return undefined;
  const line = result.stdout.split('\n')[0]?.trim();
  return line ? line : undefined;
}

export const splitZ = (text: string): string[] => text.split('\0').filter((entry) => entry !== '');
export const splitLines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

/** One entry of `git worktree list --porcelain`. */
export interface ListedWorktree {
  path: string;
  head: string | null;
  /** Short branch name, null when detached or bare. */
  branch: string | null;
  bare: boolean;
  locked: string | null;
  prunable: string | null;
  /** The first entry: the repository's main working tree. */
  main: boolean;
}

export async function listWorktrees(deps: WorktreeDeps, repo: string): Promise<ListedWorktree[]> {
  const { stdout } = await git(deps, ['-C', repo, 'worktree', 'list', '--porcelain']);
  const entries: ListedWorktree[] = [];
  for (const block of stdout.split(/\n\n+/)) {
    const lines = splitLines(block);
    const first = lines[0];
    if (!first?.startsWith('worktree ')) continue;
    const entry: ListedWorktree = {
      path: first.slice('worktree '.length),
      head: null,
      branch: null,
      bare: false,
      locked: null,
      prunable: null,
      main: entries.length === 0,
    };
    for (const line of lines.slice(1)) {
      const [key, ...rest] = line.split(' ');
      const value = rest.join(' ');
      if (key === 'HEAD') entry.head = value;
      else if (key === 'branch') entry.branch = value.replace(/^refs\/heads\//, '');
      else if (key === 'bare') entry.bare = true;
      else if (key === 'locked') entry.locked = value || 'locked';
      else if (key === 'prunable') entry.prunable = value || 'prunable';
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * The real path when it exists; for a missing path, the real path of its deepest existing
 * ancestor joined with the rest (so a missing path still compares with what git prints).
 */
export async function realOrResolved(file: string): Promise<string> {
  const absolute = path.resolve(file);
  try {
    return await fsp.realpath(absolute);
  } catch {
    const parent = path.dirname(absolute);
    return parent === absolute ? absolute : path.join(await realOrResolved(parent), path.basename(absolute));
  }
}

export async function findListed(entries: readonly ListedWorktree[], target: string): Promise<ListedWorktree | undefined> {
  const wanted = await realOrResolved(target);
  for (const entry of entries) {
    if (entry.path === target || (await realOrResolved(entry.path)) === wanted) return entry;
  }
  return undefined;
}

/** The full sha of a local branch's tip, or undefined when there is no such branch. */
export const branchTip = (deps: WorktreeDeps, repo: string, branch: string): Promise<string | undefined> =>
  gitLine(deps, ['-C', repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);

export const isCommit = async (deps: WorktreeDeps, repo: string, sha: string): Promise<boolean> =>
  /^[0-9a-f]{4,64}$/i.test(sha) && (await gitLine(deps, ['-C', repo, 'rev-parse', '--verify', '--quiet', `${sha}^{commit}`])) !== undefined;

/** A branch name git accepts and that cannot be read as an option or a `@{…}` expression. */
export async function checkBranchName(deps: WorktreeDeps, branch: string): Promise<void> {
  const valid =
    branch !== '' &&
    !branch.startsWith('-') &&
    branch !== 'HEAD' &&
    (await git(deps, ['check-ref-format', `refs/heads/${branch}`], { allowFailure: true })).status === 0;
  if (!valid) throw new UserError(`"${branch}" is not a valid git branch name`, { hint: 'pick a name like mosaic/coder1' });
}

export interface Commit {
  sha: string;
  subject: string;
}

/**
 * The commits reachable from the first revision and none of the others (`^rev`), newest first.
 * Revisions go through stdin, so a repository with thousands of refs never makes a long argv.
 * rev-list is plumbing: no `log.*` setting (signatures, decorations) changes its output.
 */
export async function commitsOnlyIn(deps: WorktreeDeps, repo: string, tip: string, excluded: readonly string[]): Promise<Commit[]> {
  const input = [tip, ...excluded.map((rev) => `^${rev}`)].join('\n') + '\n';
  const { stdout } = await git(deps, ['-C', repo, 'rev-list', '--stdin', '--format=%s'], { input });
  const lines = stdout.split('\n');
  const commits: Commit[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = /^commit ([0-9a-f]+)$/.exec(lines[i]!);
    if (!header) continue;
    commits.push({ sha: header[1]!, subject: lines[i + 1] ?? '' });
    i++;
  }
  return commits;
}
