import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { FleetPaths } from '../roster/paths.js';
import type { Roster } from '../roster/model.js';
import { agentUnitStartScript, holderUnitScript, mainScript } from '../supervisor/hook.js';
import { packageVersion } from '../system/package.js';
import type { Host } from '../host/host.js';
import { runCommand } from '../system/runner.js';
import { unitNames, userUnitDir, type UnitNames } from './names.js';
import { Systemctl } from './systemctl.js';
import { findOnPath } from './which.js';
import type { UnitContext } from './units.js';

/** What every systemd operation of one fleet needs: names, where the files go, a systemctl client. */
export interface SystemdSetup {
  names: UnitNames;
  unitDir: string;
  holderFile: string;
  templateFile: string;
  systemctl: Systemctl;
  env: NodeJS.ProcessEnv;
}

export function systemdSetup(host: Pick<Host, 'env' | 'runner'>): SystemdSetup {
  const names = unitNames(host.env);
  const unitDir = userUnitDir(host.env);
  return {
    names,
    unitDir,
    holderFile: path.join(unitDir, names.holder),
    templateFile: path.join(unitDir, names.template),
    // Straight to the manager's socket only with the real runner: an injected one must see every systemctl call.
    systemctl: new Systemctl(host.runner, host.env, { bus: host.runner === runCommand }),
    env: host.env,
  };
}

export async function unitContext(setup: SystemdSetup, roster: Roster, paths: FleetPaths): Promise<UnitContext> {
  const tmuxBinary = await findOnPath('tmux', setup.env);
  if (!tmuxBinary) {
    throw new UserError('tmux is not installed (not found on PATH)', { hint: 'install it: sudo apt-get install -y tmux' });
  }
  return {
    names: setup.names,
    version: packageVersion(),
    rosterFile: roster.file,
    root: paths.root,
    runDir: paths.runDir,
    agentsDir: paths.agentsDir,
    socket: roster.socketName,
    tmuxTmpdir: setup.env.TMUX_TMPDIR || undefined,
    nodeBinary: process.execPath,
    mainScript: mainScript(),
    tmuxBinary,
    agentStartScript: agentUnitStartScript(),
    holderScript: holderUnitScript(),
    holderSession: roster.holderSession,
  };
}

/** realpath when the file exists, else the path as given (for comparing what the manager loaded). */
export async function resolved(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    return path.resolve(file);
  }
}

/** Does the user manager load units from this directory itself (else install links them in)? */
export async function managerSearches(unitPath: readonly string[], dir: string): Promise<boolean> {
  const wanted = await resolved(dir);
  for (const entry of unitPath) {
    if ((await resolved(entry)) === wanted) return true;
  }
  return false;
}
