import path from 'node:path';
import type { Command } from 'commander';
import { openFleet, type SupervisedFleet } from '../../fleet/open.js';
import { localHost } from '../../host/local.js';
import { initRoster } from '../../fleet/init.js';
import { fleetStatus } from '../../fleet/status.js';
import { resolveFleetPaths } from '../../roster/paths.js';
import { fileExists } from '../../system/fs.js';
import { waitFor } from '../../system/wait.js';
import { colour, err, out } from '../output.js';
import { statusTable } from './status-table.js';

/**
 * The main job on the embedded default: a 3-agent stub fleet under the built-in supervisor,
 * on its own socket and in its own config root (<config root>/demo), so it never touches a
 * real fleet.
 */
export async function demo(command: Command): Promise<number> {
  const opts = command.opts<{ stop?: boolean }>();
  const home = path.join(resolveFleetPaths(process.env).root, 'demo');
  const env: NodeJS.ProcessEnv = { ...process.env, MOSAIC_FLEET_HOME: home };
  delete env.MOSAIC_TMUX_SOCKET;
  const rosterPath = path.join(home, 'roster.yaml');
  const cli = invocation();

  if (!(await fileExists(rosterPath))) {
    await initRoster({ profile: 'stub', rosterPath, write: true, force: false, env });
    err(`wrote demo roster ${rosterPath}`);
  }
  const ctx = await openFleet(localHost({ env }), { roster: rosterPath });
  const again = `MOSAIC_FLEET_HOME=${home} ${cli}`;

  if (opts.stop) {
    for (const o of await ctx.supervisor.stop(ctx.roster.agents)) out(`${o.agent}: ${o.result.replace('-', ' ')}`);
    return 0;
  }

  await ctx.tmux.assertSupportedVersion();
  out(colour.bold(`1. start ${ctx.roster.agents.length} stub agents on private socket "${ctx.tmux.socket}" (built-in supervisor)`));
  for (const o of await ctx.supervisor.start(ctx.roster.agents))
    out(`   ${o.agent}: ${o.result === 'error' ? `error: ${o.error}` : o.result.replace('-', ' ')}`);
  await waitUntilHealthy(ctx);
  out(statusTable(await fleetStatus(ctx, ctx.roster.agents)));

  const target = ctx.roster.agents[1] ?? ctx.roster.agents[0]!;
  const before = await fleetStatus(ctx, ctx.roster.agents);
  out(colour.bold(`\n2. restart only "${target.name}"; the others keep their pane PIDs`));
  await ctx.supervisor.restart([target]);
  const oldPid = before.find((r) => r.agent === target.name)?.pane_pid;
  await waitFor(
    async () => {
      const row = (await fleetStatus(ctx, [target]))[0]!;
      return row.state === 'running' && row.pane_pid !== oldPid ? row : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  await waitUntilHealthy(ctx);
  const after = await fleetStatus(ctx, ctx.roster.agents);
  out(statusTable(after));
  for (const row of after) {
    const was = before.find((r) => r.agent === row.agent)?.pane_pid;
    out(`   ${row.agent}: pane pid ${was ?? '-'} -> ${row.pane_pid ?? '-'}${was === row.pane_pid ? ' (untouched)' : ' (restarted)'}`);
  }

  out(colour.bold('\n3. the demo fleet keeps running under the built-in supervisor'));
  out(`   status:   ${again} fleet status`);
  out(`   look:     tmux -L ${ctx.tmux.socket} attach -r -t =${ctx.roster.agents[0]!.session}    (read-only; detach with C-b d)`);
  out(`   stop it:  ${cli} demo --stop`);
  return 0;
}

async function waitUntilHealthy(ctx: SupervisedFleet): Promise<void> {
  await waitFor(
    async () => {
      const rows = await fleetStatus(ctx, ctx.roster.agents);
      return rows.every((r) => r.state === 'running' && r.heartbeat.health === 'healthy') ? rows : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

function invocation(): string {
  const script = process.argv[1] ?? 'mosaic';
  return path.basename(script) === 'mosaic' ? 'mosaic' : `node ${path.relative(process.cwd(), script) || script}`;
}
