import type { Command } from 'commander';
import { openFleet, type SupervisedFleet } from '../../fleet/open.js';
import { cliHost } from '../host.js';
import type { AgentOutcome } from '../../supervisor/types.js';
import { colour, err, out, printJson, stateColour } from '../output.js';

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

/** Print per-agent outcomes; exit 1 if any failed. */
export function renderOutcomes(ctx: SupervisedFleet, outcomes: AgentOutcome[], json: boolean | undefined): number {
  const failed = outcomes.filter((o) => o.result === 'error');
  if (json) {
    printJson(
      outcomes.map((o) => ({ tenant_id: ctx.roster.tenantId, host: ctx.host.identity.host, supervisor: ctx.supervisor.kind, ...o })),
    );
  } else {
    for (const outcome of outcomes) {
      if (outcome.result === 'error') {
        err(`${outcome.agent}: ${colour.red('error', process.stderr)}: ${outcome.error}`);
        if (outcome.hint) err(`  hint: ${outcome.hint}`);
      } else {
        out(`${outcome.agent}: ${stateColour(outcome.result.replace('-', ' '))}`);
      }
    }
    if (outcomes.length === 0) out('no agents');
  }
  return failed.length > 0 ? 1 : 0;
}
