import type { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { runDoctor } from '../../fleet/doctor.js';
import { loadRoster } from '../../roster/load.js';
import type { Roster } from '../../roster/model.js';
import { resolveFleetPaths } from '../../roster/paths.js';
import { BUILTIN_RUNTIMES } from '../../runtimes/registry.js';
import { cliHost } from '../host.js';
import { colour, out, printJson, table } from '../output.js';
import { options } from './shared.js';

export async function doctor(command: Command): Promise<number> {
  const opts = options(command);
  const host = cliHost();
  const paths = resolveFleetPaths(host.env, opts.roster);
  // Without a roster, check every runtime mosaic integrates with.
  let roster: Roster | undefined;
  if (await host.files.exists(paths.roster)) {
    roster = await loadRoster(paths.roster, { env: host.env, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: host.identity.tenantId });
  } else if (opts.roster) {
    throw new UserError(`no roster at ${paths.roster}`);
  }
  const report = await runDoctor({
    roster,
    agentsDir: paths.agentsDir,
    host,
    tenantId: roster?.tenantId,
  });
  if (opts.json) {
    printJson(report);
    return report.ok ? 0 : 1;
  }
  const yes = (ok: boolean, text: string): string => (ok ? colour.green(text) : colour.red(text));
  out(`tmux: ${yes(report.tmux.ok, report.tmux.version ?? 'missing')}`);
  out(
    table(
      ['RUNTIME', 'INSTALLED', 'VERSION', 'EXECUTABLE'],
      report.runtimes.map((r) => [
        r.runtime,
        yes(r.installed, r.installed ? 'yes' : 'no'),
        r.version ?? '-',
        r.executable ?? r.install_hint,
      ]),
    ),
  );
  if (report.agents.length > 0) {
    out('');
    out(
      table(
        ['AGENT', 'RUNTIME', 'HOOK', 'CREDENTIALS'],
        report.agents.map((a) => [
          a.agent,
          a.runtime,
          a.hook ? yes(a.hook.installed, a.hook.installed ? 'installed' : 'missing') : '-',
          a.credentials ? yes(a.credentials.configured, a.credentials.detail) : '-',
        ]),
      ),
    );
  }
  if (!report.ok) {
    out(`\n${report.problems.length} thing(s) to fix:`);
    for (const problem of report.problems) out(`  - ${problem}`);
    return 1;
  }
  out('\nall good');
  return 0;
}
