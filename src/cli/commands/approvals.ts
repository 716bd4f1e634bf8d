import type { Command } from 'commander';
import { loadFleetContext } from '../../context/context.js';
import { answerRequest, fleetPending } from '../../fleet/approvals.js';
import { cliHost } from '../host.js';
import { colour, err, out, printJson, table } from '../output.js';
import { formatSeconds } from './observe.js';
import { options } from './shared.js';

/** `mosaic fleet pending`: every open permission request, oldest first. */
export async function pending(command: Command): Promise<number> {
  const view = await loadFleetContext(cliHost(), { roster: options(command).roster });
  const rows = await fleetPending(view);
  if (options(command).json) {
    printJson(rows);
    return 0;
  }
  if (rows.length === 0) {
    out('no open permission requests');
    return 0;
  }
  out(
    table(
      ['AGENT', 'ID', 'TOOL', 'AGE', 'ANSWER', 'SUMMARY'],
      rows.map((r) => [
        r.agent,
        r.id ?? '-',
        r.tool ?? '-',
        formatSeconds(r.age_seconds),
        r.answered
          ? colour.yellow(`${r.answered.decision === 'allow' ? 'approved' : 'denied'}, not taken`)
          : r.answer === 'mosaic'
            ? colour.yellow('approve|deny')
            : colour.dim('in the pane'),
        r.summary ?? '',
      ]),
    ),
  );
  if (rows.some((r) => r.answer === 'pane')) out(colour.dim('"in the pane": answer it there (mosaic agent attach <agent>)'));
  if (rows.some((r) => r.answered)) {
    out(
      colour.dim(
        '"not taken": your answer waits for the runtime\'s hook; if it never takes it, the runtime asks in the pane once the request times out',
      ),
    );
  }
  return 0;
}

async function answer(command: Command, decision: 'allow' | 'deny'): Promise<number> {
  const opts = options<{ message?: string }>(command);
  const view = await loadFleetContext(cliHost(), { roster: opts.roster });
  const [agent, id] = command.args as [string, string | undefined];
  const result = await answerRequest(view, agent, id, decision, {
    ...(opts.message !== undefined ? { message: opts.message } : {}),
    by: `${view.host.identity.host}:${process.env.USER ?? view.host.uid}`,
  });
  if (opts.json) {
    printJson({ tenant_id: view.roster.tenantId, host: view.host.identity.host, ...result });
  } else {
    const verb = decision === 'allow' ? 'approved' : 'denied';
    const what = `${result.request.tool}${result.request.summary ? `: ${result.request.summary}` : ''}`;
    if (result.delivered) out(`${result.agent}: ${verb} ${result.request.id} (${what})`);
    else
      err(
        `${result.agent}: ${verb} ${result.request.id}, but the runtime has not taken the answer yet (its hook may be stuck); \`mosaic fleet pending\` lists it as "${verb}, not taken" until it does or the request times out`,
      );
  }
  return result.delivered ? 0 : 1;
}

export const approve = (command: Command): Promise<number> => answer(command, 'allow');
export const deny = (command: Command): Promise<number> => answer(command, 'deny');
