import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { findAgent } from '../../context/context.js';
import { fleetStatus } from '../../fleet/status.js';
import { out, printJson, table } from '../output.js';
import { runElsewhere } from '../elsewhere.js';
import { parseWholeNumber } from '../whole-number.js';
import { statusTable } from './status-table.js';
import { open, options } from './shared.js';

export async function roster(command: Command): Promise<number> {
  const ctx = await open(command);
  // Every agent of the roster, those other hosts run too (their host is the roster's name for it).
  const rows = [...ctx.roster.agents, ...(ctx.roster.remoteAgents ?? [])].map((a) => ({
    tenant_id: ctx.roster.tenantId,
    host: a.host ?? ctx.host.identity.host,
    agent: a.name,
    session: a.session,
    runtime: a.runtime,
    class: a.class ?? null,
    working_directory: a.workingDirectory,
    model_hint: a.modelHint ?? null,
    persistent_persona: a.persistentPersona ?? null,
    reset_between_tasks: a.resetBetweenTasks ?? null,
    kickstart_template: a.kickstartTemplate ?? null,
  }));
  if (options(command).json) printJson(rows);
  else
    out(
      table(
        ['AGENT', 'RUNTIME', 'CLASS', 'WORKING DIRECTORY'],
        rows.map((r, i) => [
          i < ctx.roster.agents.length ? r.agent : `${r.host}/${r.agent}`,
          r.runtime,
          r.class ?? '-',
          r.working_directory,
        ]),
      ),
    );
  return 0;
}

/** One agent's row (a JSON object); with no name, every agent's rows (a JSON array), as `fleet status`. */
export async function status(command: Command): Promise<number> {
  const ctx = await open(command);
  const name = command.args[0];
  const there = await runElsewhere(ctx, command);
  if (there !== undefined) return there;
  if (name === undefined) {
    // Every agent's, other hosts' included, as `fleet status` (they were left out, and the exit was 0).
    const { everyStatus, hostQualified } = await import('./fleet.js');
    const { rows, local, hostsOk } = await everyStatus(ctx);
    if (options(command).json) printJson(rows);
    else out(statusTable(hostQualified(rows, local)));
    return hostsOk ? 0 : 1;
  }
  const rows = await fleetStatus(ctx, [findAgent(ctx.roster, name)]);
  if (options(command).json) printJson(rows[0]);
  else out(statusTable(rows));
  return 0;
}

export async function tail(command: Command): Promise<number> {
  const opts = options<{ lines: string }>(command);
  // 0 is allowed, as for `agent logs -n 0` (and tail(1)): nothing is printed.
  const lines = parseWholeNumber('-n', opts.lines, 0, 100_000);
  const ctx = await open(command);
  const there = await runElsewhere(ctx, command);
  if (there !== undefined) return there;
  const agent = findAgent(ctx.roster, command.args[0]!);
  const { tailAgent } = await import('../../observe/tail.js');
  const text = await tailAgent(ctx.tmux, agent, lines);
  if (opts.json) printJson({ tenant_id: ctx.roster.tenantId, host: ctx.host.identity.host, agent: agent.name, lines: text });
  else if (text.length > 0) out(text.join('\n'));
  return 0;
}

export async function reset(command: Command): Promise<number> {
  const opts = options<{ clear?: boolean; new?: boolean; force?: boolean; restart?: boolean }>(command);
  if (!opts.clear && !opts.new) throw new UsageError('say how to reset: --clear or --new');
  const ctx = await open(command);
  const there = await runElsewhere(ctx, command);
  if (there !== undefined) return there;
  const agent = findAgent(ctx.roster, command.args[0]!);
  const { resetAgent } = await import('../../fleet/reset.js'); // the send machinery: only reset needs it
  const result = await resetAgent(ctx, agent, opts.new ? 'new' : 'clear', { force: opts.force, restart: opts.restart });
  const kickstartOk = !result.kickstart || result.kickstart.status === 'accepted' || result.kickstart.status === 'queued';
  if (opts.json) printJson(result);
  else {
    const what = result.how === 'restart' ? 'restart with a new session' : result.command;
    out(`${agent.name}: ${what} ${result.verified ? 'verified' : 'NOT verified'}: ${result.evidence}`);
    if (result.kickstart) out(`${agent.name}: kickstart ${result.kickstart.status}: ${result.kickstart.detail}`);
    else if (result.kickstart_via === 'argv') out(`${agent.name}: kickstart passed on the runtime's command line`);
  }
  return result.verified && kickstartOk ? 0 : 1;
}
