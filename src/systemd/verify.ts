import { readFile } from 'node:fs/promises';
import { MosaicError } from '../core/errors.js';
import { classifyGenerated } from './fingerprint.js';
import { checkUnitFiles, describeFileState, managerViewProblems } from './inspect.js';
import { lingerState } from './linger.js';
import { agentOfUnit } from './names.js';
import { systemdSetup, unitContext } from './setup.js';
import { isActive } from './systemctl.js';
import { agentEnvFile, renderAgentEnvFile } from './units.js';
import { listPanes, type PaneRow } from '../supervisor/panes.js';
import { packageVersion } from '../system/package.js';
import type { FleetContext } from '../context/context.js';

export interface SystemdVerifySection {
  holder_unit: string;
  holder_state: string;
  holder_main_pid: number | null;
  tmux_server_pid: number | null;
  /** The cgroup the tmux server runs in (from /proc/<pid>/cgroup), and the holder unit's. */
  server_cgroup: string | null;
  holder_cgroup: string | null;
  linger: string;
  units: { agent: string; unit: string; active_state: string; unit_file_state: string; session: boolean }[];
}

export interface SystemdVerifyResult {
  problems: string[];
  warnings: string[];
  systemd?: SystemdVerifySection;
}

const problemText = (error: MosaicError): string => (error.hint ? `${error.message} (${error.hint})` : error.message);

export async function serverPid(ctx: FleetContext): Promise<number | null> {
  const result = await ctx.tmux.run(['display-message', '-p', '#{pid}'], { allowFailure: true });
  return result.status === 0 && /^\d+$/.test(result.stdout.trim()) ? Number(result.stdout.trim()) : null;
}

/** Cgroup paths of a process, one per hierarchy line of /proc/<pid>/cgroup. */
async function cgroupsOf(pid: number): Promise<string[]> {
  try {
    return (await readFile(`/proc/${pid}/cgroup`, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(':').slice(2).join(':'));
  } catch {
    return [];
  }
}

/**
 * The systemd half of `fleet verify`: units installed, current and loaded; the tmux server is
 * the holder unit's main process and lives in its cgroup; every agent unit is active exactly
 * when its session exists; no stray instances. Warnings for boot persistence (not enabled,
 * lingering off). Optionally proves restart isolation on one agent.
 */
export async function verifySystemd(ctx: FleetContext): Promise<SystemdVerifyResult> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const setup = systemdSetup(ctx.host);
  try {
    await setup.systemctl.manager();
  } catch (error) {
    if (error instanceof MosaicError) return { problems: [problemText(error)], warnings };
    throw error;
  }
  const { names, systemctl } = setup;
  const uctx = await unitContext(setup, ctx.roster, ctx.paths);
  for (const check of await checkUnitFiles(setup, uctx)) {
    if (check.state !== 'current') {
      problems.push(
        `${describeFileState(check)}: ${check.state === 'modified' || check.state === 'foreign' ? 'mosaic fleet install-systemd --force' : 'mosaic fleet install-systemd'}`,
      );
    }
  }
  const agentUnits = ctx.roster.agents.map((agent) => ({ agent, unit: names.agent(agent.name) }));
  const states = await systemctl.show([names.holder, ...agentUnits.map((a) => a.unit)]);
  problems.push(...(await managerViewProblems(setup, states)));

  const meta = { version: packageVersion(), rosterFile: ctx.roster.file };
  for (const { agent } of agentUnits) {
    const file = agentEnvFile(ctx.paths.agentsDir, agent.name);
    const state = classifyGenerated(await ctx.host.files.read(file), renderAgentEnvFile(meta, agent));
    if (state === 'missing') problems.push(`agent "${agent.name}" has no ${file}, so its unit cannot start: mosaic fleet install-systemd`);
    else if (state === 'outdated') warnings.push(`${file} no longer matches the roster: \`mosaic fleet restart ${agent.name}\` applies it`);
    else if (state !== 'current')
      problems.push(
        `${file} was ${state === 'modified' ? 'changed by hand' : 'not written by mosaic'}: mosaic fleet install-systemd --force`,
      );
  }

  const holder = states.get(names.holder);
  const pid = await serverPid(ctx);
  let serverCgroup: string | null = null;
  if (holder && isActive(holder)) {
    if (pid === null) {
      problems.push(`holder unit ${names.holder} is ${holder.activeState} but no tmux server answers on socket "${ctx.tmux.socket}"`);
    } else {
      if (holder.mainPid !== pid) {
        problems.push(
          `the tmux server on socket "${ctx.tmux.socket}" is pid ${pid}, but the holder unit's main process is pid ${holder.mainPid}`,
        );
      }
      const groups = await cgroupsOf(pid);
      serverCgroup = groups.find((group) => group.endsWith(`/${names.holder}`)) ?? groups.at(-1) ?? null;
      const inHolder =
        holder.controlGroup !== '' && groups.some((group) => group === holder.controlGroup || group.endsWith(holder.controlGroup));
      if (!inHolder) {
        problems.push(
          `the tmux server (pid ${pid}) is not in the holder unit's cgroup ${holder.controlGroup || '(none)'}; it is in ${groups.join(', ') || '?'}`,
        );
      }
    }
  } else if (pid !== null) {
    problems.push(
      `a tmux server (pid ${pid}) runs on socket "${ctx.tmux.socket}" but holder unit ${names.holder} is ${holder?.activeState ?? 'unknown'}: it is not supervised by systemd`,
    );
  }

  const panes = new Map<string, PaneRow>((await listPanes(ctx)).map((pane) => [pane.session, pane]));
  const notEnabled: string[] = [];
  const units: SystemdVerifySection['units'] = [];
  for (const { agent, unit } of agentUnits) {
    const state = states.get(unit);
    const active = isActive(state);
    const session = panes.get(agent.session)?.agent === agent.name;
    units.push({
      agent: agent.name,
      unit,
      active_state: state?.activeState ?? 'unknown',
      unit_file_state: state?.unitFileState ?? 'unknown',
      session,
    });
    if (active && !session)
      problems.push(`unit ${unit} is active but session "=${agent.session}" does not exist: mosaic fleet restart ${agent.name}`);
    else if (!active && session)
      problems.push(
        `session "=${agent.session}" exists but unit ${unit} is ${state?.activeState ?? 'unknown'}: mosaic fleet restart ${agent.name}`,
      );
    else if (state?.activeState === 'failed')
      problems.push(`unit ${unit} failed: see \`systemctl --user status ${unit}\`, then mosaic fleet start ${agent.name}`);
    if (active && state?.unitFileState !== 'enabled') notEnabled.push(agent.name);
  }
  const roster = new Set(ctx.roster.agents.map((a) => a.name));
  for (const listed of await systemctl.listUnits(names.agentPattern)) {
    const agent = agentOfUnit(names, listed.unit);
    if (agent !== undefined && !roster.has(agent) && listed.active !== 'inactive') {
      problems.push(`unit ${listed.unit} is ${listed.active} but "${agent}" is not in the roster: systemctl --user stop ${listed.unit}`);
    }
  }
  if (notEnabled.length > 0) {
    warnings.push(
      `${notEnabled.length === 1 ? `agent ${notEnabled[0]} runs but is` : `agents ${notEnabled.join(', ')} run but are`} not enabled, so will not come back at boot (fix: mosaic fleet enable ${notEnabled.join(' ')})`,
    );
  }
  const user = ctx.host.identity.tenantId;
  const linger = await lingerState(ctx.host.runner, ctx.host.env, user);
  if (linger.state !== 'on') {
    warnings.push(
      `lingering is ${linger.state === 'off' ? 'off' : 'not known to be on'} for ${user} (${linger.detail}): the fleet stops at logout and starts at boot only after a login (fix: sudo loginctl enable-linger ${user})`,
    );
  }
  return {
    problems,
    warnings,
    systemd: {
      holder_unit: names.holder,
      holder_state: holder?.activeState ?? 'unknown',
      holder_main_pid: holder?.mainPid || null,
      tmux_server_pid: pid,
      server_cgroup: serverCgroup,
      holder_cgroup: holder?.controlGroup || null,
      linger: linger.state,
      units,
    },
  };
}
