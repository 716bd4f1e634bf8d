import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { FleetContext } from '../context/context.js';
import { launchSpecFile } from '../roster/paths.js';
import { listPanes } from '../supervisor/panes.js';
import { stateFile } from '../supervisor/state.js';
import { prepareAgents, prepareHolder } from './prepare.js';
import { classifyGenerated, isUntouchedGenerated, type GeneratedFileState } from './fingerprint.js';
import { checkUnitFiles, managerViewProblems } from './inspect.js';
import { managerSearches, unitContext, type SystemdSetup } from './setup.js';
import { rosterHeaderLine, rosterOfUnitFile } from './names.js';
import { agentEnvFile } from './units.js';

/** Unit files are read by the user manager only; like everything else of ours they are private. */
const UNIT_FILE_MODE = 0o600;

export interface FileAction {
  file: string;
  unit?: string;
  agent?: string;
  state: GeneratedFileState;
  action: 'written' | 'unchanged' | 'kept' | 'removed' | 'absent';
}

export interface InstallReport {
  tenant_id: string;
  host: string;
  unit_dir: string;
  /** The manager does not search unit_dir, so the units were linked into its own config directory. */
  linked: boolean;
  holder_unit: string;
  agent_template: string;
  files: FileAction[];
  enabled: string[];
  agent_errors: { agent: string; error: string; hint?: string }[];
  warnings: string[];
}

/**
 * Write the holder unit and agent template (only where missing or out of date and untouched by
 * hand, unless forced), prepare every roster agent (launch spec + EnvironmentFile), make the
 * manager load the units (linking them when their directory is not in its search path),
 * daemon-reload, and optionally enable the fleet for boot. Re-running changes nothing.
 */
export async function installSystemd(
  ctx: FleetContext,
  setup: SystemdSetup,
  options: { enable?: boolean; force?: boolean } = {},
): Promise<InstallReport> {
  if (options.enable) await assertNoBuiltinFleet(ctx, 'install-systemd --enable');
  const manager = await setup.systemctl.manager();
  const uctx = await unitContext(setup, ctx.roster, ctx.paths);
  await ctx.host.files.ensurePrivateDir(setup.unitDir);
  const files: FileAction[] = [];
  let changed = false;
  for (const check of await checkUnitFiles(setup, uctx)) {
    const writable = check.state === 'missing' || check.state === 'outdated' || (options.force === true && check.state !== 'current');
    if (writable) {
      await ctx.host.files.writeAtomic(check.file, check.rendered, { mode: UNIT_FILE_MODE });
      changed = true;
    }
    files.push({
      file: check.file,
      unit: check.unit,
      state: check.state,
      action: writable ? 'written' : check.state === 'current' ? 'unchanged' : 'kept',
    });
  }

  const envBefore = await Promise.all(ctx.roster.agents.map((a) => ctx.host.files.read(agentEnvFile(ctx.paths.agentsDir, a.name))));
  const [errors] = await Promise.all([prepareAgents(ctx, ctx.roster.agents, { force: options.force }), prepareHolder(ctx)]);
  const envActions = await Promise.all(
    ctx.roster.agents.map(async (agent, index): Promise<FileAction> => {
      const file = agentEnvFile(ctx.paths.agentsDir, agent.name);
      const state = classifyGenerated(envBefore[index], (await ctx.host.files.read(file)) ?? '');
      const action = errors.has(agent.name) ? 'kept' : state === 'current' ? 'unchanged' : 'written';
      return { file, agent: agent.name, state, action };
    }),
  );
  files.push(...envActions);

  const linked = !(await managerSearches(manager.unitPath, setup.unitDir));
  if (linked) await linkUnits(setup);
  const probe = ctx.roster.agents[0]?.name ?? 'probe';
  let states = await setup.systemctl.show([setup.names.holder, setup.names.agent(probe)]);
  if (changed || linked || [...states.values()].some((s) => s.needDaemonReload || s.loadState !== 'loaded')) {
    await setup.systemctl.daemonReload();
    states = await setup.systemctl.show([setup.names.holder, setup.names.agent(probe)]);
  }
  const kept = files.filter((f) => f.unit && f.action === 'kept');
  const view = kept.length > 0 ? [] : await managerViewProblems(setup, states);
  if (view.length > 0) {
    throw new UserError(`installed the units, but ${view.join('; ')}`, {
      hint: `remove or rename the other unit of that name, or pick another prefix with MOSAIC_SYSTEMD_UNIT_PREFIX`,
    });
  }

  const enabled: string[] = [];
  if (options.enable && kept.length === 0) {
    const agents = ctx.roster.agents.filter((a) => !errors.has(a.name)).map((a) => setup.names.agent(a.name));
    await setup.systemctl.enable([setup.names.holder, ...agents]);
    enabled.push(setup.names.holder, ...agents);
  }
  const warnings: string[] = [];
  if (ctx.roster.supervisorSource === 'default' && !options.enable) {
    warnings.push(
      `roster ${ctx.roster.file} has no "supervisor:" line: fleet start uses these units once they are enabled (\`mosaic fleet install-systemd --enable\` or \`mosaic fleet enable\`); until then it uses the built-in supervisor`,
    );
  } else if (ctx.roster.supervisor !== 'systemd' && ctx.roster.supervisorSource !== 'default') {
    warnings.push(
      `roster ${ctx.roster.file} says "supervisor: ${ctx.roster.supervisor}": fleet start/stop use the units only with "supervisor: systemd"`,
    );
  }
  if (options.enable && kept.length > 0) {
    warnings.push('nothing was enabled: resolve the kept unit files first (or use --force), then run install-systemd --enable again');
  }
  if (linked) {
    warnings.push(
      `the user manager does not search ${setup.unitDir} (its XDG_CONFIG_HOME differs from this shell's), so the units were linked into its own config directory with \`systemctl --user link\``,
    );
  }
  return {
    tenant_id: ctx.roster.tenantId,
    host: ctx.host.identity.host,
    unit_dir: setup.unitDir,
    linked,
    holder_unit: setup.names.holder,
    agent_template: setup.names.template,
    files,
    enabled,
    agent_errors: [...errors].map(([agent, error]) => ({ agent, error: error.message, hint: error.hint })),
    warnings,
  };
}

/**
 * Units share their names with every fleet of this user that has the same prefix: refuse to stop,
 * disable or remove units that install-systemd wrote for another roster file (a second fleet that
 * needs a MOSAIC_SYSTEMD_UNIT_PREFIX of its own, or a command run with the wrong --roster).
 */
export async function assertUnitsOfThisRoster(ctx: FleetContext, setup: SystemdSetup, verb: string): Promise<void> {
  let file = setup.holderFile;
  let text = await ctx.host.files.read(file);
  if (text === undefined) {
    // Not in this shell's unit directory: the manager may still load a holder of that name from its own.
    file = (await setup.systemctl.show([setup.names.holder])).get(setup.names.holder)?.fragmentPath ?? '';
    if (file) text = await ctx.host.files.read(file);
  }
  const other = text === undefined ? undefined : rosterOfUnitFile(text);
  if (other === undefined || rosterHeaderLine(other) === rosterHeaderLine(ctx.roster.file)) return;
  throw new UserError(
    `the units ${setup.names.holder} (${file}) and ${setup.names.template} were installed for roster ${other}, not ${ctx.roster.file}`,
    {
      hint:
        `run it for that fleet (\`mosaic --roster ${other} fleet ${verb}\`), or give this fleet units of its own with MOSAIC_SYSTEMD_UNIT_PREFIX` +
        (verb === 'uninstall-systemd' ? '; `--force` uninstalls them anyway' : ''),
    },
  );
}

/**
 * A roster without `supervisor:` runs under systemd once its units are enabled. Enabling them while the
 * built-in supervisor runs its fleet would hand `fleet stop|start` to systemd, which cannot stop that
 * fleet's tmux server (and the holder unit refuses to start beside it): refuse until it is stopped.
 */
export async function assertNoBuiltinFleet(ctx: FleetContext, verb: string): Promise<void> {
  if (ctx.roster.supervisorSource !== 'default') return;
  const holder = ctx.roster.holderSession;
  if (!(await listPanes(ctx)).some((pane) => pane.agent === holder)) return;
  throw new UserError(
    `the fleet on socket ${ctx.tmux.socket} runs under the built-in supervisor: once its systemd units are enabled, fleet stop and start go through systemd, which cannot stop it`,
    { hint: `stop it first (\`mosaic fleet stop\`), then run \`mosaic fleet ${verb}\` again and \`mosaic fleet start\`` },
  );
}

/** `systemctl --user link` the unit files into the manager's config directory (it does not search ours). */
export async function linkUnits(setup: SystemdSetup): Promise<void> {
  const result = await setup.systemctl.run(['link', '--', setup.holderFile, setup.templateFile], { allowFailure: true });
  if (result.status !== 0) {
    throw new UserError(`could not link the units into the user manager's config directory: ${result.stderr.trim()}`, {
      hint: 'a unit of the same name exists there: remove it, or pick another prefix with MOSAIC_SYSTEMD_UNIT_PREFIX',
    });
  }
}

export interface UninstallReport {
  tenant_id: string;
  host: string;
  stopped: string[];
  files: FileAction[];
  /** Units of this fleet the manager still knows after uninstalling (should be none). */
  left_behind: string[];
}

/**
 * Stop the fleet's units, disable them (which also removes links and enable symlinks), and
 * delete the files install-systemd wrote: unit files and EnvironmentFiles that still carry
 * our fingerprint (hand-changed ones only with --force; files we never wrote never), plus the
 * launch specs and run state of the roster's agents.
 */
export async function uninstallSystemd(
  ctx: FleetContext,
  setup: SystemdSetup,
  options: { force?: boolean } = {},
): Promise<UninstallReport> {
  const { systemctl, names } = setup;
  if (!options.force) await assertUnitsOfThisRoster(ctx, setup, 'uninstall-systemd');
  await systemctl.manager();
  const instances = await systemctl.listUnits(names.agentPattern);
  const holder = await systemctl.show([names.holder]);
  const toStop = [
    ...instances.filter((u) => u.active !== 'inactive').map((u) => u.unit),
    ...(holder.get(names.holder)?.activeState === 'inactive' ? [] : [names.holder]),
  ];
  await systemctl.jobs('stop', toStop);
  const known = new Set((await systemctl.listUnitFiles(`${names.prefix}-*`)).map((f) => f.unit_file));
  const toDisable = [names.holder, names.template].filter((unit) => known.has(unit));
  if (toDisable.length > 0) await systemctl.disable(toDisable);

  const files: FileAction[] = [];
  const uctx = await unitContext(setup, ctx.roster, ctx.paths);
  for (const check of await checkUnitFiles(setup, uctx))
    files.push(await removeGenerated(check.file, check.state, options.force, { unit: check.unit }));
  let envNames: string[] = [];
  try {
    envNames = (await readdir(ctx.paths.agentsDir)).filter((name) => name.endsWith('.env'));
  } catch {
    /* no agents directory: nothing to remove */
  }
  for (const name of envNames) {
    const file = path.join(ctx.paths.agentsDir, name);
    const state = classifyGenerated(await ctx.host.files.read(file), '');
    files.push(await removeGenerated(file, state, options.force, { agent: name.slice(0, -'.env'.length) }));
  }
  // Sessions still running on the socket (a fleet the built-in supervisor runs) need their launch specs and
  // run state to be restarted after a crash: only those of agents without a session go.
  const running = new Set((await listPanes(ctx)).map((pane) => pane.agent).filter((agent) => agent !== ''));
  for (const agent of [...ctx.roster.agents.map((a) => a.name), ctx.roster.holderSession]) {
    if (running.has(agent)) continue;
    await rm(launchSpecFile(ctx.paths.runDir, agent), { force: true });
    await rm(stateFile(ctx.paths.runDir, agent), { force: true });
  }
  await systemctl.daemonReload();
  await systemctl.resetFailed([names.holder, ...instances.map((u) => u.unit)]);
  const leftUnits = (await systemctl.listUnits(`${names.prefix}-*`)).map((u) => u.unit);
  const leftFiles = (await systemctl.listUnitFiles(`${names.prefix}-*`)).map((f) => f.unit_file);
  return {
    tenant_id: ctx.roster.tenantId,
    host: ctx.host.identity.host,
    stopped: toStop,
    files,
    left_behind: [...new Set([...leftUnits, ...leftFiles])].filter(
      (unit) => unit === names.holder || unit.startsWith(`${names.prefix}-agent@`),
    ),
  };
}

async function removeGenerated(
  file: string,
  state: GeneratedFileState,
  force: boolean | undefined,
  label: { unit?: string; agent?: string },
): Promise<FileAction> {
  if (state === 'missing') return { file, ...label, state, action: 'absent' };
  if (isUntouchedGenerated(state) || (state === 'modified' && force)) {
    await rm(file, { force: true });
    return { file, ...label, state, action: 'removed' };
  }
  return { file, ...label, state, action: 'kept' };
}
