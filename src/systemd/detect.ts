import { readFileSync } from 'node:fs';
import path from 'node:path';
import { rosterHeaderLine, unitNames, userUnitDir } from './names.js';
import { scanEnablement, userUnitDirectories } from './unit-states.js';

/**
 * Are this roster's systemd units installed and enabled? For a roster without `supervisor:`
 * (upstream's install sequence: install-systemd --enable, then fleet start). No systemctl call:
 * one read of the holder unit file (which names the roster it was rendered for) and, only when
 * that file is ours and for this roster, a scan of the usual user unit directories for the
 * holder's enable link (`systemctl --user enable` puts it in default.target.wants/).
 */
export function systemdUnitsEnabledFor(env: NodeJS.ProcessEnv, uid: number, rosterFile: string): boolean {
  let holder: string;
  try {
    holder = unitNames(env).holder;
  } catch {
    return false; // an unusable MOSAIC_SYSTEMD_UNIT_PREFIX: install-systemd could not have used it either
  }
  let text: string;
  try {
    text = readFileSync(path.join(userUnitDir(env), holder), 'utf8');
  } catch {
    return false;
  }
  if (!text.split('\n', 3).includes(rosterHeaderLine(rosterFile))) return false;
  return scanEnablement(userUnitDirectories(env, uid), holder).has(holder);
}
