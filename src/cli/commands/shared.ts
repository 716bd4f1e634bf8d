import type { Command } from 'commander';
import { openFleet, type SupervisedFleet } from '../../fleet/open.js';
import { cliHost } from '../host.js';
import type { AgentOutcome } from '../../supervisor/types.js';
import { colour, err, out, printJson, stateColour } from '../output.js';
import { reportHosts, type FanOut } from '../remote.js';

export interface CommonOptions {
  roster?: string;
  json?: boolean;
}

export function options<T extends object>(command: Command): T & CommonOptions {
  return command.optsWithGlobals<T & CommonOptions>();
}

/** The fleet with its supervisor; the roster's warnings (accepted upstream shorthands) go to stderr. */
export async function open(command: Command, how: { quietWarnings?: boolean } = {}): Promise<SupervisedFleet> {
  const fleet = await openFleet(cliHost(), { roster: options(command).roster });
  if (!how.quietWarnings) for (const warning of fleet.roster.warnings ?? []) err(`warning: ${warning}`);
  return fleet;
}

/** Print per-agent outcomes (this host's, then other hosts' rows); exit 1 if any failed or a host did not answer. */
export function renderOutcomes(ctx: SupervisedFleet, outcomes: AgentOutcome[], json: boolean | undefined, remote?: FanOut): number {
  const failed = outcomes.filter((o) => o.result === 'error');
  const others = (remote?.rows ?? []) as (AgentOutcome & { host: string })[];
  if (json) {
    printJson([
      ...outcomes.map((o) => ({ tenant_id: ctx.roster.tenantId, host: ctx.host.identity.host, supervisor: ctx.supervisor.kind, ...o })),
      ...others,
    ]);
  } else {
    const line = (name: string, outcome: AgentOutcome): void => {
      if (outcome.result === 'error') {
        err(`${name}: ${colour.red('error', process.stderr)}: ${outcome.error}`);
        if (outcome.hint) err(`  hint: ${outcome.hint}`);
      } else {
        out(`${name}: ${stateColour(outcome.result.replace('-', ' '))}`);
      }
    };
    for (const outcome of outcomes) line(outcome.agent, outcome);
    for (const outcome of others) line(`${outcome.host}/${outcome.agent}`, outcome);
    // Not when the selection was on a host that did not answer (reported below): there were agents.
    if (outcomes.length === 0 && others.length === 0 && !remote?.failed.length) out('no agents');
  }
  const hostsOk = remote ? reportHosts(remote) : true;
  return failed.length > 0 || others.some((o) => o.result === 'error') || !hostsOk ? 1 : 0;
}
