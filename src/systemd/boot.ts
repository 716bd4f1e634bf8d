import { UserError } from '../core/errors.js';
import type { FleetContext } from '../context/context.js';
import type { AgentSpec } from '../roster/model.js';
import { prepareAgents, prepareHolder } from './prepare.js';
import { assertInstalled, checkUnitFiles, managerViewProblems } from './inspect.js';
import { assertNoBuiltinFleet, assertUnitsOfThisRoster, linkUnits } from './install.js';
import { managerSearches, unitContext, type SystemdSetup } from './setup.js';

export type BootOutcome =
  | { agent: string; unit: string; result: 'enabled' | 'disabled' }
  | { agent: string; unit: string; result: 'error'; error: string; hint?: string };

/**
 * Boot persistence: enabled instances are wanted by default.target, so the user manager starts
 * them (and, through Requires=, the holder) when it starts: at login, or at boot with lingering.
 * Enabling prepares the agent too, since nobody runs `fleet start` at boot.
 */
export async function enableAgents(ctx: FleetContext, setup: SystemdSetup, agents: readonly AgentSpec[]): Promise<BootOutcome[]> {
  // A roster without `supervisor:` may be enabled: from then on it is detected as a systemd fleet.
  if (ctx.roster.supervisor !== 'systemd' && ctx.roster.supervisorSource === 'roster') {
    throw new UserError(
      `roster ${ctx.roster.file} uses "supervisor: ${ctx.roster.supervisor}": enabling systemd units would start a second fleet at boot`,
      {
        hint: 'set "supervisor: systemd" in the roster and run `mosaic fleet install-systemd` first',
      },
    );
  }
  await assertNoBuiltinFleet(ctx, 'enable');
  await setup.systemctl.manager();
  const files = await checkUnitFiles(setup, await unitContext(setup, ctx.roster, ctx.paths));
  const probe = agents.length > 0 ? agents : ctx.roster.agents.slice(0, 1);
  const states = await setup.systemctl.show([setup.names.holder, ...probe.map((a) => setup.names.agent(a.name))]);
  assertInstalled(files, await managerViewProblems(setup, states));
  const [errors] = await Promise.all([prepareAgents(ctx, agents), prepareHolder(ctx)]);
  const ok = agents.filter((a) => !errors.has(a.name));
  if (ok.length > 0) await setup.systemctl.enable([setup.names.holder, ...ok.map((a) => setup.names.agent(a.name))]);
  return settle(setup, agents, 'enabled', errors);
}

/** Disabling every agent (none named) also disables the holder: nothing is left to bring back at boot. */
export async function disableAgents(
  ctx: FleetContext,
  setup: SystemdSetup,
  agents: readonly AgentSpec[],
  all: boolean,
): Promise<BootOutcome[]> {
  await assertUnitsOfThisRoster(ctx, setup, 'disable');
  const manager = await setup.systemctl.manager();
  const units = agents.map((a) => setup.names.agent(a.name));
  const result = await setup.systemctl.disable(all ? [setup.names.holder, ...units] : units);
  if (result.status !== 0 && !/does not exist/.test(result.stderr)) {
    return agents.map((a) => ({ agent: a.name, unit: setup.names.agent(a.name), result: 'error', error: result.stderr.trim() }));
  }
  // Disabling a unit also removes the link install-systemd made when the manager does not search
  // our unit directory: the holder would be gone from the manager (not-found) until the next install.
  if (all && !(await managerSearches(manager.unitPath, setup.unitDir))) await linkUnits(setup);
  return settle(setup, agents, 'disabled', new Map());
}

async function settle(
  setup: SystemdSetup,
  agents: readonly AgentSpec[],
  wanted: 'enabled' | 'disabled',
  errors: Map<string, { message: string; hint?: string }>,
): Promise<BootOutcome[]> {
  const states = await setup.systemctl.show(agents.map((a) => setup.names.agent(a.name)));
  return agents.map((agent): BootOutcome => {
    const unit = setup.names.agent(agent.name);
    const error = errors.get(agent.name);
    if (error) return { agent: agent.name, unit, result: 'error', error: error.message, hint: error.hint };
    const fileState = states.get(unit)?.unitFileState ?? '';
    const isEnabled = fileState === 'enabled';
    if (isEnabled === (wanted === 'enabled')) return { agent: agent.name, unit, result: wanted };
    return {
      agent: agent.name,
      unit,
      result: 'error',
      error: `${unit} is "${fileState || 'unknown'}" after systemctl --user ${wanted === 'enabled' ? 'enable' : 'disable'}`,
      hint: `see \`systemctl --user status ${unit}\``,
    };
  });
}
