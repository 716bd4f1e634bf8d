// `systemctl --user link` (how `fleet install-systemd` registers units kept elsewhere) creates the
// user manager's own unit directory, ~/.config/systemd/user, when it is missing. Tests and fault
// cells unlink their units; the directories themselves, when a run made them and they are empty
// again, are removed by that run (test/global-leftovers.ts, faults/run.mjs, bench/systemd.mjs).
import { existsSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The manager's unit directories that do not exist yet (innermost first): call before the run. */
export function missingManagerUnitDirs() {
  const systemd = path.join(os.homedir(), '.config', 'systemd');
  return [path.join(systemd, 'user'), systemd].filter((dir) => !existsSync(dir));
}

/** Remove those of `dirs` that are empty again: call after the run. A unit still in there stays (and is reported by the caller's leftovers check). */
export function removeEmptyDirs(dirs) {
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch (error) {
      if (!['ENOTEMPTY', 'ENOENT'].includes(error.code ?? '')) throw error;
    }
  }
}
