import path from 'node:path';
import type { Command } from 'commander';
import { selectAgents } from '../../context/context.js';
import { disableAgents, enableAgents, type BootOutcome } from '../../systemd/boot.js';
import { installSystemd, uninstallSystemd, type InstallReport } from '../../systemd/install.js';
import type { SupervisedFleet } from '../../fleet/open.js';
import { systemdSetup } from '../../systemd/setup.js';
import { colour, err, out, printJson, stateColour, table } from '../output.js';
import { open, options } from './shared.js';

export async function installUnits(command: Command): Promise<number> {
  const opts = options<{ enable?: boolean; force?: boolean }>(command);
  const ctx = await open(command);
  // Other hosts install their own units (each host's mosaic, its own user manager).
  const elsewhere = ctx.roster.remoteAgents?.length ? await installElsewhere(ctx, opts) : undefined;
  const report = await installSystemd(ctx, systemdSetup(ctx.host), { enable: opts.enable, force: opts.force });
  const kept = report.files.filter((f) => f.action === 'kept' && f.unit);
  if (opts.json) {
    printJson(elsewhere ? { ...report, hosts: elsewhere.rows } : report);
  } else {
    out(
      table(
        ['FILE', 'STATE', 'ACTION'],
        report.files.map((f) => [f.file, f.state, f.action === 'kept' ? colour.red('kept', process.stdout) : f.action]),
      ),
    );
    out(
      `units in ${report.unit_dir}${report.linked ? ' (linked into the user manager)' : ''}: ${report.holder_unit}, ${report.agent_template}`,
    );
    if (report.enabled.length > 0) out(`enabled for boot: ${report.enabled.join(' ')}`);
    for (const warning of report.warnings) err(`warning: ${warning}`);
    for (const e of report.agent_errors) {
      err(`${e.agent}: ${colour.red('error', process.stderr)}: ${e.error}`);
      if (e.hint) err(`  hint: ${e.hint}`);
    }
    if (kept.length > 0) {
      err(`not overwritten (changed by hand or not written by mosaic): ${kept.map((f) => f.file).join(', ')}`);
      err('  hint: `mosaic fleet install-systemd --force` replaces them');
    }
  }
  if (elsewhere && !opts.json) {
    for (const row of elsewhere.rows as (InstallReport & { host: string })[]) {
      out(`${row.host}: units in ${row.unit_dir}${row.enabled.length > 0 ? `; enabled for boot: ${row.enabled.join(' ')}` : ''}`);
      for (const e of row.agent_errors) err(`${row.host}/${e.agent}: ${colour.red('error', process.stderr)}: ${e.error}`);
    }
  }
  const hostsOk = elsewhere ? (await import('../remote.js')).reportHosts(elsewhere) : true;
  return kept.length > 0 || report.agent_errors.length > 0 || !hostsOk ? 1 : 0;
}

async function installElsewhere(ctx: SupervisedFleet, opts: { enable?: boolean; force?: boolean }) {
  const { splitTargets } = await import('../../fleet/hosts.js');
  const { fanOut } = await import('../remote.js');
  const flags = [...(opts.enable ? ['--enable'] : []), ...(opts.force ? ['--force'] : [])];
  return fanOut(ctx, splitTargets(ctx.roster, []).remote, ['fleet', 'install-systemd'], flags);
}

export async function uninstallUnits(command: Command): Promise<number> {
  const opts = options<{ force?: boolean }>(command);
  const ctx = await open(command);
  const report = await uninstallSystemd(ctx, systemdSetup(ctx.host), { force: opts.force });
  const kept = report.files.filter((f) => f.action === 'kept' && f.state === 'modified');
  if (opts.json) {
    printJson(report);
  } else {
    if (report.stopped.length > 0) out(`stopped: ${report.stopped.join(' ')}`);
    const removed = report.files.filter((f) => f.action === 'removed');
    for (const file of removed.filter((f) => f.unit)) out(`removed ${file.file}`);
    const envFiles = removed.filter((f) => !f.unit);
    if (envFiles.length > 0) out(`removed ${envFiles.length} agent environment file(s) from ${path.dirname(envFiles[0]!.file)}`);
    for (const file of kept) err(`kept ${file.file}: changed by hand since install (remove it yourself, or use --force)`);
    if (report.left_behind.length > 0) err(`still known to the user manager: ${report.left_behind.join(' ')}`);
    else out('no unit of this fleet is left in the user manager');
  }
  return kept.length > 0 || report.left_behind.length > 0 ? 1 : 0;
}

function renderBoot(ctx: Awaited<ReturnType<typeof open>>, outcomes: BootOutcome[], json: boolean | undefined): number {
  if (json) {
    printJson(outcomes.map((o) => ({ tenant_id: ctx.roster.tenantId, host: ctx.host.identity.host, ...o })));
  } else {
    for (const o of outcomes) {
      if (o.result === 'error') {
        err(`${o.agent}: ${colour.red('error', process.stderr)}: ${o.error}`);
        if (o.hint) err(`  hint: ${o.hint}`);
      } else {
        out(`${o.agent}: ${stateColour(o.result)} (${o.unit})`);
      }
    }
  }
  return outcomes.some((o) => o.result === 'error') ? 1 : 0;
}

export async function enable(command: Command): Promise<number> {
  const ctx = await open(command);
  const agents = selectAgents(ctx.roster, command.args);
  return renderBoot(ctx, await enableAgents(ctx, systemdSetup(ctx.host), agents), options(command).json);
}

export async function disable(command: Command): Promise<number> {
  const ctx = await open(command);
  const agents = selectAgents(ctx.roster, command.args);
  return renderBoot(ctx, await disableAgents(ctx, systemdSetup(ctx.host), agents, command.args.length === 0), options(command).json);
}
