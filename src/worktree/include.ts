import { constants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { git, splitZ, type WorktreeDeps } from './git.js';

export const INCLUDE_FILE = '.worktreeinclude';

/** A path git printed, relative to the repository top, that stays inside it. */
export function isSafeRelativePath(rel: string): boolean {
  if (rel === '' || rel.endsWith('/') || path.isAbsolute(rel) || rel.includes('\0')) return false;
  const parts = rel.split('/');
  return parts.every((part) => part !== '' && part !== '.' && part !== '..' && part !== '.git');
}

const lstatOrNull = async (file: string): Promise<Stats | null> => {
  try {
    return await fsp.lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
};

/**
 * The files `.worktreeinclude` (gitignore syntax, at the repository top, as Claude Code reads it)
 * selects: untracked files its patterns match that git also ignores. `ls-files --others --ignored
 * --exclude-from` gives the untracked files the patterns match (ignored or not: only the given
 * patterns count there), `check-ignore` keeps those the repository's own ignore rules (.gitignore
 * files, info/exclude, core.excludesFile) ignore. Read-only on the source checkout.
 */
export async function includedFiles(deps: WorktreeDeps, repo: string): Promise<string[]> {
  const includeFile = path.join(repo, INCLUDE_FILE);
  const stat = await lstatOrNull(includeFile);
  if (!stat?.isFile()) return [];
  const matched = splitZ(
    (await git(deps, ['-C', repo, 'ls-files', '-z', '--others', '--ignored', `--exclude-from=${includeFile}`])).stdout,
  ).filter(isSafeRelativePath);
  if (matched.length === 0) return [];
  const checked = await git(deps, ['-C', repo, 'check-ignore', '-z', '--stdin'], {
    input: matched.join('\0') + '\0',
    allowFailure: true,
  });
  // check-ignore: 0 = some paths are ignored, 1 = none is; anything else is an error.
  if (checked.status === 1) return [];
  if (checked.status !== 0) {
    await git(deps, ['-C', repo, 'check-ignore', '-z', '--stdin'], { input: matched.join('\0') + '\0' }); // throws with the details
  }
  const wanted = new Set(matched);
  return [...new Set(splitZ(checked.stdout))].filter((rel) => wanted.has(rel)).sort();
}

/**
 * Make the directories of `relDir` inside `root`, one component at a time, each with the mode of
 * the source's directory. False when a component exists and is not a plain directory (a symlink
 * there could lead the copy out of the worktree).
 */
async function ensureDirsInside(root: string, relDir: string, sourceRoot: string): Promise<boolean> {
  if (relDir === '.' || relDir === '') return true;
  let current = root;
  let source = sourceRoot;
  for (const part of relDir.split('/')) {
    current = path.join(current, part);
    source = path.join(source, part);
    const stat = await lstatOrNull(current);
    if (stat) {
      if (!stat.isDirectory()) return false;
      continue;
    }
    const mode = ((await lstatOrNull(source))?.mode ?? 0o755) & 0o7777;
    try {
      await fsp.mkdir(current, { mode });
      await fsp.chmod(current, mode); // mkdir's mode passes through the umask
    } catch (error) {
      // Another copy made it meanwhile.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!(await lstatOrNull(current))?.isDirectory()) return false;
    }
  }
  return true;
}

/**
 * Copy one file from the source checkout to the same relative path of the worktree, keeping its
 * mode (a symlink is copied as the link itself). Never replaces anything already in the worktree.
 * True when copied.
 */
async function copyOne(source: string, worktree: string, rel: string): Promise<boolean> {
  const from = path.join(source, rel);
  const to = path.join(worktree, rel);
  const stat = await lstatOrNull(from);
  if (!stat || !(stat.isFile() || stat.isSymbolicLink())) return false;
  if (!(await ensureDirsInside(worktree, path.posix.dirname(rel), source))) return false;
  if (await lstatOrNull(to)) return false;
  if (stat.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(from), to);
    return true;
  }
  await fsp.copyFile(from, to, constants.COPYFILE_EXCL);
  await fsp.chmod(to, stat.mode & 0o7777);
  return true;
}

/** Copy what `.worktreeinclude` selects from `source` into `worktree`; the relative paths copied, sorted. */
export async function copyIncluded(deps: WorktreeDeps, source: string, worktree: string): Promise<string[]> {
  const files = await includedFiles(deps, source);
  const copied: string[] = [];
  // A few copies at a time: an included node_modules can be thousands of files.
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let rel = queue.shift(); rel !== undefined; rel = queue.shift()) {
      if (await copyOne(source, worktree, rel)) copied.push(rel);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
  return copied.sort();
}
