import type { Command } from 'commander';
import { loadFleetContext } from '../../context/context.js';
import { checkHosts } from '../../fleet/host-check.js';
import { storeHostRoster } from '../../fleet/host-roster-store.js';
import { cliHost } from '../host.js';
import { colour, out, printJson, table } from '../output.js';
import { options } from './shared.js';

/** `mosaic host check [name…]`: reachability, mosaic and protocol, tmux, runtimes, linger, per host. */
export async function check(command: Command): Promise<number> {
  const view = await loadFleetContext(cliHost(), { roster: options(command).roster });
  const checks = await checkHosts(view, command.args);
  if (options(command).json) {
    printJson(checks);
  } else if (checks.length === 0) {
    out(`no hosts in roster ${view.roster.file}: every agent runs on this machine`);
  } else {
    out(
      table(
        ['HOST', 'SSH', 'STATUS', 'MOSAIC', 'RTT', 'TMUX', 'RUNTIMES', 'LINGER', 'SYSTEMD'],
        checks.map((c) => [
          c.host,
          c.ssh,
          c.ok ? colour.green('ok') : colour.red(c.reachable ? 'problem' : 'unreachable'),
          c.mosaic_version ?? '-',
          c.round_trip_ms === null ? '-' : `${c.round_trip_ms}ms`,
          c.tmux ?? '-',
          Object.entries(c.runtimes)
            .filter(([, where]) => where)
            .map(([name]) => name)
            .join(',') || '-',
          c.linger === null ? '-' : c.linger ? 'yes' : 'no',
          c.systemd_user ?? '-',
        ]),
      ),
    );
    for (const c of checks) for (const problem of c.problems) out(`  ${c.host}: ${problem}`);
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** Hidden `_host-roster --origin <who>`: the receiving end of the operator's roster (stdin), over ssh. */
export async function hostRoster(command: Command): Promise<number> {
  const { origin } = command.opts<{ origin: string }>();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  printJson(await storeHostRoster(cliHost(), origin, Buffer.concat(chunks).toString('utf8')));
  return 0;
}
