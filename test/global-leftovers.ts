import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

/*
 * `npm test` must leave nothing behind: every test puts its runtimes' HOME, XDG dirs and TMPDIR
 * under its own directory and removes it. This global setup notes what the temp dir, $HOME and
 * its XDG default directories hold before the run and fails the run if anything new is left after it.
 */
const watched = (): Record<string, string> => {
  const home = os.homedir();
  // One level into the XDG defaults too: a runtime or a user manager writes there, not in $HOME itself.
  return {
    tmp: os.tmpdir(),
    home,
    config: path.join(home, '.config'),
    cache: path.join(home, '.cache'),
    data: path.join(home, '.local', 'share'),
    state: path.join(home, '.local', 'state'),
  };
};
let before: Record<string, Set<string>> = {};
/** vitest's own temp directory, which it removes after the teardown. */
let ownTmp: string | undefined;

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/**
 * `systemctl --user link` (how `fleet install-systemd` registers units kept elsewhere) creates the
 * manager's own unit directory, ~/.config/systemd/user, when it is missing. Every test unlinks its
 * units; the directories themselves, when this run made them and they are empty again, go here.
 */
const managerUnitDirs = (): string[] => {
  const systemd = path.join(os.homedir(), '.config', 'systemd');
  return [path.join(systemd, 'user'), systemd];
};
let madeBySystemctl: string[] = [];

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch (error) {
    // Not empty: a unit is still in there, and the check below reports what this run left.
    if (!['ENOTEMPTY', 'ENOENT'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
}

export function setup(project: TestProject): void {
  madeBySystemctl = managerUnitDirs().filter((dir) => !existsSync(dir));
  ownTmp = path.basename(project.tmpDir);
  before = Object.fromEntries(Object.entries(watched()).map(([name, dir]) => [name, new Set(list(dir))]));
}

export function teardown(): void {
  for (const dir of madeBySystemctl) removeIfEmpty(dir);
  const left = Object.entries(watched()).flatMap(([name, dir]) =>
    list(dir)
      .filter((entry) => !before[name]!.has(entry) && !(name === 'tmp' && entry === ownTmp))
      .map((entry) => `${dir}/${entry}`),
  );
  if (left.length > 0) {
    // An error thrown here is printed but does not fail the run: set the exit code too.
    process.exitCode = 1;
    throw new Error(`the test run left ${left.length} new entries behind: ${left.slice(0, 20).join(', ')}`);
  }
}
