import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { runCommand } from '../system/runner.js';
import { isSafeRelativePath } from './include.js';
import {
  doneReport,
  ensureWorktree,
  inspectWorktree,
  removeWorktree,
  strayWorktrees,
  uncommittedTrackedChanges,
  type WorktreeDeps,
  type WorktreeRecord,
} from './worktree.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Fixture {
  root: string;
  repo: string;
  env: NodeJS.ProcessEnv;
  deps: WorktreeDeps;
  /** git in `cwd`, stdout trimmed. */
  git(cwd: string, ...args: string[]): string;
  write(file: string, content: string, mode?: number): void;
  /** A worktree path under the fixture's worktree root. */
  wt(name: string): string;
  /** Fails the test unless the source checkout is exactly as it was at the last baseline. */
  expectSourceUntouched(): void;
  /** Take the baseline again (after a test commits its own setup to the source). */
  baseline(): void;
}

/**
 * A source repository with history, a remote-less main branch and a deliberately dirty checkout
 * (a modified file, a staged file, untracked and ignored files): the library must never change
 * any of it. git runs with a private HOME and no system config, so the user's config is never read.
 */
function fixture(): Fixture {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mosaic-worktree-'));
  dirs.push(root);
  const home = path.join(root, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'author@example.invalid',
    GIT_COMMITTER_NAME: 'Test Committer',
    GIT_COMMITTER_EMAIL: 'committer@example.invalid',
    LC_ALL: 'C',
  };
  const gitIn = (cwd: string, ...args: string[]): string =>
    execFileSync('git', args, {
      cwd,
      env: { ...env, GIT_OPTIONAL_LOCKS: '0' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  const write = (file: string, content: string, mode = 0o644): void => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    chmodSync(file, mode);
  };
  const repo = path.join(root, 'repo');
  mkdirSync(repo);
  gitIn(repo, 'init', '-q', '-b', 'main');
  write(path.join(repo, '.gitignore'), '.env\ncache/\n*.log\n');
  write(path.join(repo, 'a.txt'), 'a\n');
  write(path.join(repo, 'b.txt'), 'b\n');
  gitIn(repo, 'add', '.');
  gitIn(repo, 'commit', '-q', '-m', 'first');
  write(path.join(repo, 'a.txt'), 'a2\n');
  gitIn(repo, 'commit', '-q', '-am', 'second');
  // The dirty checkout: modified, staged, untracked and ignored.
  write(path.join(repo, 'b.txt'), 'b modified in the source\n');
  write(path.join(repo, 'staged.txt'), 'staged\n');
  gitIn(repo, 'add', 'staged.txt');
  write(path.join(repo, 'notes.txt'), 'untracked notes\n');
  write(path.join(repo, 'debug.log'), 'ignored log\n');

  const snapshot = (): unknown => {
    const files: Record<string, string> = {};
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const full = path.join(dir, name);
        const rel = path.relative(repo, full);
        if (rel === '.git') continue;
        const stat = statSync(full);
        if (stat.isDirectory()) walk(full);
        else files[rel] = `${stat.mode.toString(8)} ${stat.mtimeMs} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
      }
    };
    walk(repo);
    // HEAD, the branch it names and the stash (git stash list reads its reflog), read as files: one git process
    // per snapshot (status) instead of four; this suite starts hundreds of them. Worktrees add branches of
    // their own to the shared repository, so other refs are not part of the source checkout.
    const gitDir = path.join(repo, '.git');
    const read = (file: string): string | null =>
      existsSync(path.join(gitDir, file)) ? readFileSync(path.join(gitDir, file), 'utf8') : null;
    const head = read('HEAD') ?? '';
    const branch = head.startsWith('ref: ') ? head.slice(5).trim() : null;
    const refs = {
      head,
      branch:
        branch === null
          ? null
          : (read(branch) ?? (read('packed-refs') ?? '').split('\n').find((line) => line.endsWith(` ${branch}`)) ?? null),
      stash: read('logs/refs/stash'),
    };
    return {
      refs,
      status: gitIn(repo, 'status', '--porcelain=v1', '-uall', '--ignored'),
      index: createHash('sha256')
        .update(readFileSync(path.join(repo, '.git', 'index')))
        .digest('hex'),
      files,
    };
  };
  let before = snapshot();
  return {
    root,
    repo,
    env,
    deps: { runner: runCommand, env },
    git: gitIn,
    write,
    wt: (name) => path.join(root, 'worktrees', name),
    expectSourceUntouched: () => expect(snapshot()).toEqual(before),
    baseline: () => {
      before = snapshot();
    },
  };
}

const rejection = async (promise: Promise<unknown>): Promise<UserError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError, the call succeeded');
};

async function create(f: Fixture, name: string, options: { branch?: string; explicitBranch?: boolean; workdir?: string } = {}) {
  return ensureWorktree(f.deps, {
    workdir: options.workdir ?? f.repo,
    path: f.wt(name),
    branch: options.branch ?? `mosaic/${name}`,
    explicitBranch: options.explicitBranch ?? false,
  });
}

describe('ensureWorktree', () => {
  it('creates the worktree on a new branch from the source HEAD', async () => {
    const f = fixture();
    const head = f.git(f.repo, 'rev-parse', 'HEAD');
    const result = await create(f, 'a', { workdir: path.join(f.repo) });
    expect(result.created).toBe(true);
    expect(result.record).toMatchObject({ path: f.wt('a'), branch: 'mosaic/a', repo: f.repo, base: head });
    expect(Date.parse(result.record.created)).not.toBeNaN();
    expect(f.git(f.wt('a'), 'symbolic-ref', '--short', 'HEAD')).toBe('mosaic/a');
    expect(f.git(f.wt('a'), 'rev-parse', 'HEAD')).toBe(head);
    // The committed content, not the source's uncommitted changes.
    expect(readFileSync(path.join(f.wt('a'), 'b.txt'), 'utf8')).toBe('b\n');
    expect(existsSync(path.join(f.wt('a'), 'staged.txt'))).toBe(false);
    expect(result.copied).toEqual([]);
    expect(result.setup).toEqual({ ran: false, output: '' });
    expect(await inspectWorktree(f.deps, result.record)).toEqual({ exists: true, branch: 'mosaic/a', dirty: [], unpushed: [] });
    f.expectSourceUntouched();
  });

  it('finds the repository from any directory inside it', async () => {
    const f = fixture();
    f.write(path.join(f.repo, 'sub', 'deeper', 'x.txt'), 'x\n');
    const result = await create(f, 'a', { workdir: path.join(f.repo, 'sub', 'deeper') });
    expect(result.record.repo).toBe(f.repo);
  });

  it('copies the ignored files .worktreeinclude matches, with their modes, and nothing else', async () => {
    const f = fixture();
    f.write(path.join(f.repo, '.worktreeinclude'), '# secrets and caches\n.env\ncache/\nnotes.txt\nmissing.txt\n');
    f.write(path.join(f.repo, '.env'), 'TOKEN=1\n', 0o600);
    f.write(path.join(f.repo, 'cache', 'deep', 'data.bin'), 'data', 0o640);
    f.write(path.join(f.repo, 'cache', 'run.sh'), '#!/bin/sh\n', 0o755);
    chmodSync(path.join(f.repo, 'cache', 'deep'), 0o750);
    f.baseline();
    const result = await create(f, 'a');
    expect(result.copied).toEqual(['.env', 'cache/deep/data.bin', 'cache/run.sh']);
    const wt = f.wt('a');
    expect(readFileSync(path.join(wt, '.env'), 'utf8')).toBe('TOKEN=1\n');
    expect(statSync(path.join(wt, '.env')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(wt, 'cache', 'deep', 'data.bin')).mode & 0o777).toBe(0o640);
    expect(statSync(path.join(wt, 'cache', 'run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(wt, 'cache', 'deep')).mode & 0o777).toBe(0o750);
    // Ignored but not included; included but not ignored (untracked); the include file itself (untracked).
    expect(existsSync(path.join(wt, 'debug.log'))).toBe(false);
    expect(existsSync(path.join(wt, 'notes.txt'))).toBe(false);
    expect(existsSync(path.join(wt, '.worktreeinclude'))).toBe(false);
    // Copies of ignored files leave the worktree clean.
    expect((await inspectWorktree(f.deps, result.record)).dirty).toEqual([]);
    f.expectSourceUntouched();
  });

  it('never copies a path that leaves the repository', () => {
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a/./b', 'dir/', '.git/config', 'a//b', ''])
      expect(isSafeRelativePath(bad)).toBe(false);
    for (const good of ['.env', 'a/b/c.txt', '..x', 'x..']) expect(isSafeRelativePath(good)).toBe(true);
  });

  it('runs .mosaic/worktree-setup in the new worktree once, with the worktree variables', async () => {
    const f = fixture();
    const script = path.join(f.repo, '.mosaic', 'worktree-setup');
    f.write(
      script,
      '#!/bin/sh\nset -e\nprintf "%s|%s|%s|%s\\n" "$PWD" "$MOSAIC_WORKTREE" "$MOSAIC_WORKTREE_BRANCH" "$MOSAIC_SOURCE_REPO" >> setup-ran.log\necho set up\n',
      0o755,
    );
    f.git(f.repo, 'add', '-f', '.mosaic/worktree-setup');
    f.git(f.repo, 'commit', '-q', '-m', 'setup script', '--', '.mosaic/worktree-setup');
    f.baseline();
    const wt = f.wt('a');
    const result = await create(f, 'a');
    expect(result.setup).toEqual({ ran: true, output: 'set up\n' });
    expect(readFileSync(path.join(wt, 'setup-ran.log'), 'utf8')).toBe(`${wt}|${wt}|mosaic/a|${f.repo}\n`);
    expect(existsSync(path.join(f.repo, 'setup-ran.log'))).toBe(false);
    // Found again: not run a second time.
    const again = await create(f, 'a');
    expect(again.created).toBe(false);
    expect(again.setup.ran).toBe(false);
    expect(readFileSync(path.join(wt, 'setup-ran.log'), 'utf8').split('\n')).toHaveLength(2);
    f.expectSourceUntouched();
  });

  it('a failing setup script is a UserError with its stderr, and the worktree stays where it is', async () => {
    const f = fixture();
    f.write(path.join(f.repo, '.mosaic', 'worktree-setup'), '#!/bin/sh\necho progress\necho "npm: cannot install" >&2\nexit 3\n', 0o755);
    f.git(f.repo, 'add', '-f', '.mosaic/worktree-setup');
    f.git(f.repo, 'commit', '-q', '-m', 'failing setup', '--', '.mosaic/worktree-setup');
    f.baseline();
    const error = await rejection(create(f, 'a'));
    expect(error.message).toContain('exit 3');
    expect(error.message).toContain('npm: cannot install');
    expect(error.hint).toContain(`left in place at ${f.wt('a')}`);
    expect(f.git(f.wt('a'), 'symbolic-ref', '--short', 'HEAD')).toBe('mosaic/a');
    f.expectSourceUntouched();
  });

  it('says why an uncommitted or non-executable setup script did not run', async () => {
    const f = fixture();
    f.write(path.join(f.repo, '.mosaic', 'worktree-setup'), '#!/bin/sh\ntouch ran\n', 0o755);
    const first = await create(f, 'a');
    expect(first.setup.ran).toBe(false);
    expect(first.setup.output).toContain('not on the worktree');
    chmodSync(path.join(f.repo, '.mosaic', 'worktree-setup'), 0o644);
    f.git(f.repo, 'add', '-f', '.mosaic/worktree-setup');
    f.git(f.repo, 'commit', '-q', '-m', 'setup, not executable', '--', '.mosaic/worktree-setup');
    const second = await create(f, 'b');
    expect(second.setup.ran).toBe(false);
    expect(second.setup.output).toContain('not executable');
    expect(existsSync(path.join(f.wt('b'), 'ran'))).toBe(false);
  });

  it('finds an existing worktree again: the known record, or base = merge-base with HEAD', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    const withKnown = await ensureWorktree(f.deps, {
      workdir: f.repo,
      path: f.wt('a'),
      branch: 'mosaic/a',
      explicitBranch: false,
      known: record,
    });
    expect(withKnown).toEqual({ record, created: false, copied: [], setup: { ran: false, output: '' } });
    f.write(path.join(f.wt('a'), 'work.txt'), 'work\n');
    f.git(f.wt('a'), 'add', 'work.txt');
    f.git(f.wt('a'), 'commit', '-q', '-m', 'agent work');
    const without = await create(f, 'a');
    expect(without.created).toBe(false);
    expect(without.record).toMatchObject({ path: f.wt('a'), branch: 'mosaic/a', repo: f.repo, base: record.base });
    // The path given with a trailing slash and a `..` is the same path.
    const odd = await ensureWorktree(f.deps, {
      workdir: f.repo,
      path: `${path.join(f.root, 'worktrees', 'x', '..', 'a')}/`,
      branch: 'mosaic/a',
      explicitBranch: false,
      known: record,
    });
    expect(odd.record).toBe(record);
    f.expectSourceUntouched();
  });

  it('makes a worktree deleted by hand again on the branch mosaic made for it, with its base and work (was: "a branch it did not create")', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    f.write(path.join(f.wt('a'), 'work.txt'), 'work\n');
    f.git(f.wt('a'), 'add', 'work.txt');
    f.git(f.wt('a'), 'commit', '-q', '-m', 'agent work');
    rmSync(f.wt('a'), { recursive: true, force: true });
    f.git(f.repo, 'worktree', 'prune');
    // Without the record nothing says the branch is mosaic's: refused, as before.
    expect((await rejection(create(f, 'a'))).message).toContain('mosaic will not take over a branch it did not create');
    const again = await ensureWorktree(f.deps, {
      workdir: f.repo,
      path: f.wt('a'),
      branch: 'mosaic/a',
      explicitBranch: false,
      known: record,
    });
    expect(again.created).toBe(true);
    expect(again.record).toMatchObject({ path: f.wt('a'), branch: 'mosaic/a', repo: f.repo, base: record.base, branch_created: true });
    expect(readFileSync(path.join(f.wt('a'), 'work.txt'), 'utf8')).toBe('work\n');
    // A record of a branch that existed before (branch_created false) gives it no claim.
    rmSync(f.wt('a'), { recursive: true, force: true });
    f.git(f.repo, 'worktree', 'prune');
    const borrowed = { ...record, branch_created: false };
    const refused = await rejection(
      ensureWorktree(f.deps, { workdir: f.repo, path: f.wt('a'), branch: 'mosaic/a', explicitBranch: false, known: borrowed }),
    );
    expect(refused.message).toContain('mosaic will not take over a branch it did not create');
    f.expectSourceUntouched();
  });

  it('uses an existing branch named explicitly when no worktree has it; base = merge-base', async () => {
    const f = fixture();
    const first = f.git(f.repo, 'rev-list', '--max-parents=0', 'HEAD');
    f.git(f.repo, 'branch', 'feature', first);
    const result = await create(f, 'a', { branch: 'feature', explicitBranch: true });
    expect(result.record.base).toBe(first);
    expect(result.record.branch_created).toBe(false);
    expect(f.git(f.wt('a'), 'symbolic-ref', '--short', 'HEAD')).toBe('feature');
    f.expectSourceUntouched();
  });

  it('removes only a branch it created: one that existed before, or a record that does not say, keeps its branch', async () => {
    const f = fixture();
    const first = f.git(f.repo, 'rev-list', '--max-parents=0', 'HEAD');
    f.git(f.repo, 'branch', 'feature', first);
    f.git(f.repo, 'config', 'branch.feature.merge', 'refs/heads/feature');
    const { record: theirs } = await create(f, 'a', { branch: 'feature', explicitBranch: true });
    // Every commit of feature is on main: deleting it would lose nothing, and it still stays.
    expect(await removeWorktree(f.deps, theirs)).toEqual({
      removed: true,
      branchDeleted: false,
      kept: 'branch feature kept: it existed before mosaic made the worktree',
    });
    expect(existsSync(theirs.path)).toBe(false);
    expect(f.git(f.repo, 'rev-parse', 'feature')).toBe(first);
    expect(f.git(f.repo, 'config', 'branch.feature.merge')).toBe('refs/heads/feature');

    // A commit only on that branch does not hold its worktree back: the branch, and the commit on it, stay.
    const { record: again1 } = await create(f, 'a2', { branch: 'feature', explicitBranch: true });
    writeFileSync(path.join(again1.path, 'new.txt'), 'work\n');
    f.git(again1.path, 'add', 'new.txt');
    f.git(again1.path, 'commit', '-q', '-m', 'work on feature');
    const tip = f.git(again1.path, 'rev-parse', 'HEAD');
    expect(await removeWorktree(f.deps, again1)).toMatchObject({ removed: true, branchDeleted: false });
    expect(existsSync(again1.path)).toBe(false);
    expect(f.git(f.repo, 'rev-parse', 'feature')).toBe(tip);

    const { record: ours } = await create(f, 'b');
    expect(ours.branch_created).toBe(true);
    const legacy: WorktreeRecord = { ...ours };
    delete legacy.branch_created; // a record written before the field
    const outcome = await removeWorktree(f.deps, legacy);
    expect(outcome).toMatchObject({ removed: true, branchDeleted: false });
    expect(outcome.kept).toMatch(/^branch mosaic\/b kept: the worktree's record does not say whether mosaic created it/);
    expect(f.git(f.repo, 'branch', '--list', 'mosaic/b')).toBe('mosaic/b');

    const { record: again } = await create(f, 'c');
    expect(await removeWorktree(f.deps, again)).toEqual({ removed: true, branchDeleted: true });
    expect(f.git(f.repo, 'branch', '--list', 'mosaic/c')).toBe('');
    f.expectSourceUntouched();
  });

  describe('refuses, changing nothing', () => {
    it('a path that is a worktree on another branch', async () => {
      const f = fixture();
      await create(f, 'a');
      const error = await rejection(create(f, 'a', { branch: 'mosaic/b' }));
      expect(error.message).toContain(`${f.wt('a')} is a worktree of ${f.repo} on branch mosaic/a`);
      expect(f.git(f.repo, 'branch', '--list', 'mosaic/b')).toBe('');
      expect(f.git(f.wt('a'), 'symbolic-ref', '--short', 'HEAD')).toBe('mosaic/a');
      f.expectSourceUntouched();
    });

    it('a path that is a plain directory, or a file', async () => {
      const f = fixture();
      f.write(path.join(f.wt('a'), 'precious.txt'), 'mine\n');
      const error = await rejection(create(f, 'a'));
      expect(error.message).toContain(`${f.wt('a')} is a directory that is not a git worktree`);
      expect(readdirSync(f.wt('a'))).toEqual(['precious.txt']);
      f.write(f.wt('b'), 'a file\n');
      expect((await rejection(create(f, 'b'))).message).toContain('is not a directory');
      expect(readFileSync(f.wt('b'), 'utf8')).toBe('a file\n');
      expect(f.git(f.repo, 'branch', '--list', 'mosaic/*')).toBe('');
      f.expectSourceUntouched();
    });

    it('the source checkout itself, a directory in it, and a path in it that git does not ignore', async () => {
      const f = fixture();
      const request = (at: string, branch = 'mosaic/a') =>
        ensureWorktree(f.deps, { workdir: f.repo, path: at, branch, explicitBranch: true });
      expect((await rejection(request(f.repo, 'main'))).message).toContain(`${f.repo} is the main checkout of ${f.repo}`);
      expect((await rejection(request(path.join(f.repo, 'sub')))).message).toContain(
        `is inside the source checkout ${f.repo} and git does not ignore it`,
      );
      f.write(path.join(f.repo, 'cache', 'keep', 'x'), 'x\n');
      f.baseline();
      expect((await rejection(request(path.join(f.repo, 'cache')))).message).toContain(
        `is a directory that is not a git worktree (it lies inside the checkout ${f.repo})`,
      );
      expect(f.git(f.repo, 'branch', '--list', 'mosaic/*')).toBe('');
      f.expectSourceUntouched();
    });

    it('a path that is a checkout of another repository', async () => {
      const f = fixture();
      const other = f.wt('a');
      mkdirSync(other, { recursive: true });
      f.git(other, 'init', '-q', '-b', 'mosaic/a');
      const error = await rejection(create(f, 'a'));
      expect(error.message).toContain(`${other} is a checkout of another repository`);
      expect(f.git(f.repo, 'branch', '--list', 'mosaic/*')).toBe('');
      f.expectSourceUntouched();
    });

    it('a default branch that already exists', async () => {
      const f = fixture();
      f.git(f.repo, 'branch', 'mosaic/a');
      const error = await rejection(create(f, 'a'));
      expect(error.message).toContain('branch mosaic/a already exists');
      expect(existsSync(f.wt('a'))).toBe(false);
      f.expectSourceUntouched();
    });

    it('an explicit branch checked out elsewhere', async () => {
      const f = fixture();
      const onMain = await rejection(create(f, 'a', { branch: 'main', explicitBranch: true }));
      expect(onMain.message).toContain(`branch main is already checked out at ${f.repo}`);
      await create(f, 'a');
      const onOther = await rejection(create(f, 'b', { branch: 'mosaic/a', explicitBranch: true }));
      expect(onOther.message).toContain(`branch mosaic/a is already checked out at ${f.wt('a')}`);
      expect(existsSync(f.wt('b'))).toBe(false);
      f.expectSourceUntouched();
    });

    it('a workdir outside any git repository, a missing workdir, a bad branch name', async () => {
      const f = fixture();
      const outside = path.join(f.root, 'plain');
      mkdirSync(outside);
      const error = await rejection(create(f, 'a', { workdir: outside }));
      expect(error.message).toBe(`${outside} is not in a git repository: --worktree needs one`);
      expect(error.hint).toBe('run `git init` there or pick --workdir');
      const bare = path.join(f.root, 'bare.git');
      execFileSync('git', ['init', '-q', '--bare', bare]);
      const onBare = await rejection(create(f, 'a', { workdir: bare }));
      expect([onBare.message, onBare.hint]).toEqual([
        `${bare} is a bare git repository: --worktree needs a checkout of one`,
        `clone it (\`git clone ${bare} <dir>\`) and pass that directory as --workdir`,
      ]);
      expect((await rejection(create(f, 'a', { workdir: path.join(f.root, 'nope') }))).message).toContain('does not exist');
      for (const bad of ['-x', 'a..b', 'x@{1}', 'HEAD', 'a b', '']) {
        expect((await rejection(create(f, 'a', { branch: bad }))).message).toContain('not a valid git branch name');
      }
      expect(existsSync(f.wt('a'))).toBe(false);
      f.expectSourceUntouched();
    });
  });

  it('a path inside the source checkout that git ignores is allowed, and removed without a trace', async () => {
    const f = fixture();
    const at = path.join(f.repo, 'cache', 'agents', 'a');
    const { record } = await ensureWorktree(f.deps, { workdir: f.repo, path: at, branch: 'mosaic/a', explicitBranch: false });
    expect(f.git(at, 'symbolic-ref', '--short', 'HEAD')).toBe('mosaic/a');
    expect(await removeWorktree(f.deps, record)).toEqual({ removed: true, branchDeleted: true });
    rmSync(path.join(f.repo, 'cache'), { recursive: true }); // the empty directories git made
    f.expectSourceUntouched();
  });
});

describe('inspectWorktree', () => {
  it('sees modified, staged and untracked files, and commits that are nowhere else', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    const wt = record.path;
    f.write(path.join(wt, 'a.txt'), 'changed\n');
    f.write(path.join(wt, 'staged.txt'), 'new\n');
    f.git(wt, 'add', 'staged.txt');
    f.write(path.join(wt, 'dir', 'untracked.txt'), 'u\n');
    const dirty = await inspectWorktree(f.deps, record);
    expect(dirty.exists).toBe(true);
    expect(dirty.branch).toBe('mosaic/a');
    expect([...dirty.dirty].sort()).toEqual(['?? dir/untracked.txt', 'A  staged.txt', ' M a.txt'].sort());
    expect(dirty.unpushed).toEqual([]);

    f.git(wt, 'add', '-A');
    f.git(wt, 'commit', '-q', '-m', 'agent fix');
    const sha = f.git(wt, 'rev-parse', 'HEAD');
    expect(await inspectWorktree(f.deps, record)).toEqual({
      exists: true,
      branch: 'mosaic/a',
      dirty: [],
      unpushed: [{ sha, subject: 'agent fix' }],
    });

    // On another local branch: nothing would be lost.
    f.git(f.repo, 'branch', 'keep', sha);
    expect((await inspectWorktree(f.deps, record)).unpushed).toEqual([]);
    f.git(f.repo, 'branch', '-D', 'keep');
    expect((await inspectWorktree(f.deps, record)).unpushed).toHaveLength(1);

    // Pushed to a remote: nothing would be lost either.
    const remote = path.join(f.root, 'remote.git');
    f.git(f.root, 'init', '-q', '--bare', remote);
    f.git(f.repo, 'remote', 'add', 'origin', remote);
    f.git(wt, 'push', '-q', 'origin', 'mosaic/a');
    expect((await inspectWorktree(f.deps, record)).unpushed).toEqual([]);
    f.expectSourceUntouched();
  });

  it('a missing path: not there, but the branch is still looked at', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    f.write(path.join(record.path, 'x.txt'), 'x\n');
    f.git(record.path, 'add', 'x.txt');
    f.git(record.path, 'commit', '-q', '-m', 'x');
    rmSync(record.path, { recursive: true });
    const state = await inspectWorktree(f.deps, record);
    expect(state).toMatchObject({ exists: false, branch: null, dirty: [] });
    expect(state.unpushed.map((c) => c.subject)).toEqual(['x']);
  });
});

describe('removeWorktree', () => {
  it('keeps a dirty worktree (modified, staged or untracked) and every file in it', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    const wt = record.path;
    f.write(path.join(wt, 'new.txt'), 'agent notes\n');
    const untracked = await removeWorktree(f.deps, record);
    expect(untracked).toEqual({ removed: false, branchDeleted: false, kept: '1 file not committed (new.txt)' });
    expect(readFileSync(path.join(wt, 'new.txt'), 'utf8')).toBe('agent notes\n');
    rmSync(path.join(wt, 'new.txt'));

    f.write(path.join(wt, 'a.txt'), 'edited\n');
    f.write(path.join(wt, 'b.txt'), 'edited\n');
    f.write(path.join(wt, 's1.txt'), 's\n');
    f.write(path.join(wt, 's2.txt'), 's\n');
    f.git(wt, 'add', 's1.txt', 's2.txt');
    const modified = await removeWorktree(f.deps, record);
    expect(modified.removed).toBe(false);
    expect(modified.kept).toBe('4 files not committed (a.txt, b.txt, s1.txt, …)');
    expect(readFileSync(path.join(wt, 'a.txt'), 'utf8')).toBe('edited\n');
    expect(f.git(wt, 'diff', '--cached', '--name-only')).toBe('s1.txt\ns2.txt');
    expect(f.git(f.repo, 'rev-parse', '--verify', 'refs/heads/mosaic/a')).toBe(record.base);
    f.expectSourceUntouched();
  });

  it('keeps a worktree whose branch has commits on no other branch or remote', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    const wt = record.path;
    f.write(path.join(wt, 'fix.txt'), 'fix\n');
    f.git(wt, 'add', 'fix.txt');
    f.git(wt, 'commit', '-q', '-m', 'fix the thing');
    const sha = f.git(wt, 'rev-parse', 'HEAD');
    f.write(path.join(wt, 'more.txt'), 'more\n');
    const outcome = await removeWorktree(f.deps, record);
    expect(outcome).toEqual({
      removed: false,
      branchDeleted: false,
      kept: `1 file not committed (more.txt); 1 commit on mosaic/a not on any other branch or remote (${sha.slice(0, 7)} fix the thing)`,
    });
    rmSync(path.join(wt, 'more.txt'));
    expect((await removeWorktree(f.deps, record)).kept).toBe(
      `1 commit on mosaic/a not on any other branch or remote (${sha.slice(0, 7)} fix the thing)`,
    );
    expect(readFileSync(path.join(wt, 'fix.txt'), 'utf8')).toBe('fix\n');
    expect(f.git(f.repo, 'rev-parse', 'refs/heads/mosaic/a')).toBe(sha);

    // Once pushed, nothing would be lost: removed, and the branch too (the remote keeps the commit).
    const remote = path.join(f.root, 'remote.git');
    f.git(f.root, 'init', '-q', '--bare', remote);
    f.git(f.repo, 'remote', 'add', 'origin', remote);
    f.git(wt, 'push', '-q', 'origin', 'mosaic/a');
    expect(await removeWorktree(f.deps, record)).toEqual({ removed: true, branchDeleted: true });
    expect(existsSync(wt)).toBe(false);
    expect(f.git(remote, 'rev-parse', 'refs/heads/mosaic/a')).toBe(sha);
    f.expectSourceUntouched();
  });

  it('removes a clean worktree and its branch; ignored files do not keep it', async () => {
    const f = fixture();
    f.write(path.join(f.repo, '.worktreeinclude'), '.env\n');
    f.write(path.join(f.repo, '.env'), 'TOKEN=1\n');
    f.baseline();
    const { record, copied } = await create(f, 'a');
    expect(copied).toEqual(['.env']);
    expect(await removeWorktree(f.deps, record)).toEqual({ removed: true, branchDeleted: true });
    expect(existsSync(record.path)).toBe(false);
    expect(f.git(f.repo, 'branch', '--list', 'mosaic/a')).toBe('');
    expect(f.git(f.repo, 'worktree', 'list', '--porcelain')).not.toContain(record.path);
    expect(readFileSync(path.join(f.repo, '.env'), 'utf8')).toBe('TOKEN=1\n');
    f.expectSourceUntouched();
  });

  it('a path that is gone: forgets the registration, deletes the branch only when nothing would be lost', async () => {
    const f = fixture();
    const { record: clean } = await create(f, 'a');
    const { record: worked } = await create(f, 'b');
    f.write(path.join(worked.path, 'w.txt'), 'w\n');
    f.git(worked.path, 'add', 'w.txt');
    f.git(worked.path, 'commit', '-q', '-m', 'work');
    rmSync(clean.path, { recursive: true });
    rmSync(worked.path, { recursive: true });
    expect(await removeWorktree(f.deps, clean)).toEqual({ removed: true, branchDeleted: true });
    const outcome = await removeWorktree(f.deps, worked);
    expect(outcome.removed).toBe(true);
    expect(outcome.branchDeleted).toBe(false);
    expect(outcome.kept).toMatch(/^branch mosaic\/b kept: 1 commit on mosaic\/b not on any other branch or remote \([0-9a-f]{7} work\)$/);
    expect(f.git(f.repo, 'worktree', 'list', '--porcelain')).not.toContain(f.wt(''));
    expect(f.git(f.repo, 'branch', '--list', 'mosaic/*')).toBe('mosaic/b');
    // Asking again is harmless.
    expect(await removeWorktree(f.deps, clean)).toEqual({ removed: true, branchDeleted: false });
    f.expectSourceUntouched();
  });

  it('keeps a locked worktree, and one the user switched to another branch', async () => {
    const f = fixture();
    const { record: locked } = await create(f, 'a');
    f.git(f.repo, 'worktree', 'lock', '--reason', 'on a USB disk', locked.path);
    expect(await removeWorktree(f.deps, locked)).toEqual({
      removed: false,
      branchDeleted: false,
      kept: 'the worktree is locked (on a USB disk)',
    });
    expect(existsSync(locked.path)).toBe(true);

    const { record: switched } = await create(f, 'b');
    f.git(switched.path, 'switch', '-q', '-c', 'user-work');
    const outcome = await removeWorktree(f.deps, switched);
    expect(outcome).toEqual({
      removed: false,
      branchDeleted: false,
      kept: `${switched.path} is a worktree of ${f.repo} on branch user-work, not the worktree of branch mosaic/b`,
    });
    expect(f.git(switched.path, 'symbolic-ref', '--short', 'HEAD')).toBe('user-work');
    expect(f.git(f.repo, 'branch', '--list', 'mosaic/b')).toBe('mosaic/b');
    f.expectSourceUntouched();
  });

  it('never removes the source checkout, even when a record points at it', async () => {
    const f = fixture();
    const record: WorktreeRecord = {
      path: f.repo,
      branch: 'main',
      repo: f.repo,
      base: f.git(f.repo, 'rev-parse', 'HEAD'),
      created: new Date().toISOString(),
    };
    const outcome = await removeWorktree(f.deps, record);
    expect(outcome.removed).toBe(false);
    expect(outcome.kept).toContain('is the main checkout');
    f.expectSourceUntouched();
  });
});

describe('doneReport', () => {
  it('lists the commits since base and every file changed, committed or not', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    const wt = record.path;
    f.write(path.join(wt, 'a.txt'), 'one\n');
    f.git(wt, 'commit', '-q', '-am', 'one');
    f.write(path.join(wt, 'c.txt'), 'two\n');
    f.git(wt, 'add', 'c.txt');
    f.git(wt, 'commit', '-q', '-m', 'two');
    const [two, one] = f.git(wt, 'rev-list', 'HEAD', '-2').split('\n');
    f.write(path.join(wt, 'b.txt'), 'uncommitted\n');
    f.write(path.join(wt, 'e.txt'), 'staged\n');
    f.git(wt, 'add', 'e.txt');
    f.write(path.join(wt, 'd', 'new.txt'), 'untracked\n');
    const report = await doneReport(f.deps, record);
    expect(report).toEqual({
      branch: 'mosaic/a',
      base: record.base,
      commits: [
        { sha: two, subject: 'two' },
        { sha: one, subject: 'one' },
      ],
      files: ['a.txt', 'b.txt', 'c.txt', 'd/new.txt', 'e.txt'],
      clean: false,
      dirty: expect.arrayContaining([' M b.txt', 'A  e.txt', '?? d/new.txt']) as unknown as string[],
      worktree_problem: null,
    });
    expect(report.dirty).toHaveLength(3);

    f.git(wt, 'add', '-A');
    f.git(wt, 'commit', '-q', '-m', 'three');
    const after = await doneReport(f.deps, record);
    expect(after.clean).toBe(true);
    expect(after.dirty).toEqual([]);
    expect(after.commits.map((c) => c.subject)).toEqual(['three', 'two', 'one']);
    expect(after.files).toEqual(['a.txt', 'b.txt', 'c.txt', 'd/new.txt', 'e.txt']);
    f.expectSourceUntouched();
  });

  it('with no work: no commits, no files, clean', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    expect(await doneReport(f.deps, record)).toEqual({
      branch: 'mosaic/a',
      base: record.base,
      commits: [],
      files: [],
      clean: true,
      dirty: [],
      worktree_problem: null,
    });
  });

  it('a worktree deleted by hand is not reported clean: its committed work is listed, the tree is unknown', async () => {
    const f = fixture();
    const { record } = await create(f, 'a');
    f.write(path.join(record.path, 'c.txt'), 'kept\n');
    f.git(record.path, 'add', 'c.txt');
    f.git(record.path, 'commit', '-q', '-m', 'kept');
    f.write(path.join(record.path, 'lost.txt'), 'never committed\n');
    rmSync(record.path, { recursive: true, force: true });
    const report = await doneReport(f.deps, record);
    expect(report.commits.map((c) => c.subject)).toEqual(['kept']);
    expect(report.files).toEqual(['c.txt']);
    expect(report.clean).toBe(false);
    expect(report.worktree_problem).toBe(`${record.path} does not exist`);
  });
});

describe('uncommittedTrackedChanges', () => {
  it('counts the modified and staged tracked files, not untracked or ignored ones, and leaves the checkout as it was', async () => {
    const f = fixture();
    // The fixture's checkout: b.txt modified, staged.txt staged, notes.txt untracked, debug.log ignored.
    expect(await uncommittedTrackedChanges(f.deps, f.repo)).toBe(2);
    f.expectSourceUntouched();
    expect(await uncommittedTrackedChanges(f.deps, path.join(f.root, 'not-a-repo'))).toBeUndefined();
  });
});

describe('strayWorktrees', () => {
  it('lists the directories under root that no known agent owns', async () => {
    const f = fixture();
    const root = path.join(f.root, 'worktrees');
    for (const name of ['alpha', 'beta', 'gamma']) mkdirSync(path.join(root, name), { recursive: true });
    writeFileSync(path.join(root, 'note.txt'), 'not a worktree\n');
    expect(await strayWorktrees(root, new Set(['alpha', 'delta']))).toEqual([path.join(root, 'beta'), path.join(root, 'gamma')]);
    expect(await strayWorktrees(path.join(f.root, 'none'), new Set())).toEqual([]);
  });
});
