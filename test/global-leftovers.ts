import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { missingManagerUnitDirs, removeEmptyDirs } from './manager-unit-dirs.mjs';

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
/** vitest's own temp directories (one per project), which it removes after the teardown. */
let ownTmp = new Set<string>();

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

let madeBySystemctl: string[] = [];

/**
 * vitest runs this setup once per project (root, unit, e2e), each from a module instance of its own: the first
 * notes what is there and the last teardown checks, counted on the process (one report, not three).
 */
const shared = globalThis as { mosaicLeftoverChecks?: number };

export function setup(project: TestProject): void {
  shared.mosaicLeftoverChecks = (shared.mosaicLeftoverChecks ?? 0) + 1;
  if (shared.mosaicLeftoverChecks > 1) return;
  madeBySystemctl = missingManagerUnitDirs();
  ownTmp = new Set([project, ...project.vitest.projects].map((p) => path.basename(p.tmpDir)));
  before = Object.fromEntries(Object.entries(watched()).map(([name, dir]) => [name, new Set(list(dir))]));
}

export function teardown(): void {
  shared.mosaicLeftoverChecks = (shared.mosaicLeftoverChecks ?? 1) - 1;
  if (shared.mosaicLeftoverChecks > 0) return;
  removeEmptyDirs(madeBySystemctl); // ~/.config/systemd/user, made by `systemctl --user link` (manager-unit-dirs.mjs)
  const left = Object.entries(watched()).flatMap(([name, dir]) =>
    list(dir)
      .filter((entry) => !before[name]!.has(entry) && !(name === 'tmp' && ownTmp.has(entry)))
      .map((entry) => `${dir}/${entry}`),
  );
  if (left.length > 0) {
    // An error thrown here is printed but does not fail the run: set the exit code too.
    process.exitCode = 1;
    throw new Error(`the test run left ${left.length} new entries behind: ${left.slice(0, 20).join(', ')}`);
  }
}
