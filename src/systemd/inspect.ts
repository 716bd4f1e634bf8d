import { UserError } from '../core/errors.js';
import { readFileOrUndefined } from '../system/fs.js';
import { classifyGenerated, type GeneratedFileState } from './fingerprint.js';
import { resolved, type SystemdSetup } from './setup.js';
import type { UnitState } from './systemctl.js';
import { renderAgentTemplate, renderHolderUnit, type UnitContext } from './units.js';

export interface UnitFileCheck {
  unit: string;
  file: string;
  state: GeneratedFileState;
  rendered: string;
}

/** The two unit files on disk compared with what install-systemd would write now. */
export async function checkUnitFiles(setup: SystemdSetup, ctx: UnitContext): Promise<UnitFileCheck[]> {
  const wanted = [
    { unit: setup.names.holder, file: setup.holderFile, rendered: renderHolderUnit(ctx) },
    { unit: setup.names.template, file: setup.templateFile, rendered: renderAgentTemplate(ctx) },
  ];
  return Promise.all(wanted.map(async (w) => ({ ...w, state: classifyGenerated(await readFileOrUndefined(w.file), w.rendered) })));
}

export function describeFileState(check: Pick<UnitFileCheck, 'file' | 'state'>): string {
  switch (check.state) {
    case 'missing':
      return `${check.file} is not installed`;
    case 'outdated':
      return `${check.file} is out of date (roster, paths or mosaic version changed since install)`;
    case 'modified':
      return `${check.file} was changed by hand`;
    case 'foreign':
      return `${check.file} was not written by mosaic`;
    default:
      return `${check.file} is current`;
  }
}

/**
 * Problems with how the manager sees our units: not loaded, loaded from another file (a unit of
 * the same name earlier in its search path), or changed on disk since the last daemon-reload.
 * `states` must hold the holder and at least one agent instance.
 */
export async function managerViewProblems(setup: SystemdSetup, states: Map<string, UnitState>): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Map([
    [setup.names.holder, await resolved(setup.holderFile)],
    [setup.names.template, await resolved(setup.templateFile)],
  ]);
  let reload = false;
  for (const state of states.values()) {
    const key = state.unit === setup.names.holder ? setup.names.holder : setup.names.template;
    if (state.loadState !== 'loaded') {
      problems.push(`the user manager cannot load ${state.unit} (LoadState=${state.loadState || '?'})`);
      continue;
    }
    const fragment = state.fragmentPath ? await resolved(state.fragmentPath) : '';
    if (fragment !== expected.get(key)) {
      problems.push(`the user manager loads ${state.unit} from ${state.fragmentPath || '?'}, not from ${expected.get(key)}`);
    }
    if (state.needDaemonReload) reload = true;
  }
  if (reload) problems.push('unit files changed since the user manager last read them: run `systemctl --user daemon-reload`');
  return problems;
}

/** Throw the one error start/stop/enable give when the units are not ready to use. */
export function assertInstalled(files: UnitFileCheck[], viewProblems: string[]): void {
  const fileProblems = files.filter((f) => f.state !== 'current').map(describeFileState);
  const problems = [...fileProblems, ...viewProblems];
  if (problems.length > 0) {
    throw new UserError(`the systemd units of this fleet are not ready: ${problems.join('; ')}`, {
      hint: files.some((f) => f.state === 'modified' || f.state === 'foreign')
        ? 'run `mosaic fleet install-systemd --force` to replace them (your changes are lost), or fix them by hand'
        : 'run `mosaic fleet install-systemd`',
    });
  }
}
