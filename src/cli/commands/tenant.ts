import type { Command } from 'commander';
import { addTenant, type TenantReport } from '../../fleet/tenant.js';
import { cliHost } from '../host.js';
import { colour, err, out, printJson } from '../output.js';
import { options } from './shared.js';

/** `mosaic tenant add <name>`: the user, its linger, its starter roster; then how to add it as a host. */
export async function add(command: Command): Promise<number> {
  const opts = options<{ force?: boolean; socket?: string }>(command);
  const report = await addTenant(cliHost(), command.args[0]!, {
    force: Boolean(opts.force),
    ...(opts.socket !== undefined ? { socket: opts.socket } : {}),
  });
  if (opts.json) printJson(report);
  else out(tenantText(report));
  for (const hint of report.hints) err(`hint: ${hint}`);
  return 0;
}

export function tenantText(r: TenantReport): string {
  const lines: [string, string][] = [
    ['tenant', `${r.tenant_id} on ${r.host}`],
    ['user', `${r.user} (uid ${r.uid}), ${r.created ? colour.green('created') : 'existed, reused'}`],
    ['home', r.home],
    ['linger', `${r.linger === 'failed' ? colour.red('failed') : r.linger}: ${r.linger_detail}`],
    ['roster', `${r.roster_file} (${r.roster === 'kept' ? colour.yellow('kept: it exists; --force replaces it') : r.roster})`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  const [host, entry] = Object.entries(r.ssh_hint.hosts)[0]!;
  return [
    ...lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    '',
    "to see it from the operator's roster, add it as a host:",
    'hosts:',
    `  ${host}:`,
    `    ssh: ${entry.ssh}`,
  ].join('\n');
}
