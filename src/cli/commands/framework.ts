import type { Command } from 'commander';
import { initFramework, updateFramework, type FrameworkReport } from '../../fleet/framework.js';
import { cliHost } from '../host.js';
import { colour, err, out, printJson, table } from '../output.js';
import { options } from './shared.js';

/** `mosaic init [--profile <p>] [--force]`: deploy the agent contract and the starter roster. */
export async function init(command: Command): Promise<number> {
  const opts = options<{ profile?: string; force?: boolean }>(command);
  const report = await initFramework(cliHost(), {
    ...(opts.roster !== undefined ? { roster: opts.roster } : {}),
    ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
    force: Boolean(opts.force),
  });
  print(report, Boolean(opts.json));
  return 0;
}

/** `mosaic update`: refresh the files mosaic owns; keep the operator's. */
export async function update(command: Command): Promise<number> {
  const opts = options(command);
  const report = await updateFramework(cliHost(), opts.roster !== undefined ? { roster: opts.roster } : {});
  print(report, Boolean(opts.json));
  return 0;
}

const ACTION_COLOUR: Record<string, (text: string) => string> = {
  written: colour.green,
  replaced: colour.green,
  'new-beside': colour.yellow,
  kept: colour.yellow,
  unchanged: colour.dim,
};

function print(report: FrameworkReport, json: boolean): void {
  const { identity } = cliHost();
  if (json) {
    printJson(report.rows.map((row) => ({ tenant_id: identity.tenantId, host: identity.host, ...row })));
    return;
  }
  out(
    table(
      ['ACTION', 'FILE', 'WHY'],
      report.rows.map((row) => [
        (ACTION_COLOUR[row.action] ?? String)(row.action),
        row.file,
        row.beside ? `${row.reason}: ${row.beside}` : row.reason,
      ]),
    ),
  );
  const beside = report.rows.filter((row) => row.action === 'new-beside');
  if (beside.length > 0) {
    err(`hint: compare with \`diff -u ${beside[0]!.file} ${beside[0]!.beside}\`; copy a .new over its file to take the new`);
    err('  version (mosaic then owns the file again and updates it), or delete the .new to keep yours (it is not offered twice)');
  }
}
