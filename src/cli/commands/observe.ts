import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { fleetPs as readFleet, type PsRecord, type PsReport } from '../../fleet/ps.js';
import { attentionRank } from '../../attention/state.js';
import { loadFleetContext, type FleetContext } from '../../context/context.js';
import { runElsewhere } from '../elsewhere.js';
import { parseWholeNumber } from '../whole-number.js';
import { cliHost } from '../host.js';
import type { AgentSpec } from '../../roster/model.js';
import { COLUMNS, headerLine, needsLine, needsYou, recordCells, type Segment } from '../../fleet/ps-cells.js';
import { colour, err, out, printJson, table, write } from '../output.js';
import { sleepUnlessAborted } from '../../system/wait.js';

export { formatSeconds } from '../../fleet/ps-cells.js';

/*
 * `fleet ps` is the hot path here (run in loops, by scripts, at 500 agents): only it is
 * imported up front; watch, attach and logs load their modules when they run.
 */

/** With the supervisor resolved, so `fleet ps` shows systemd for a roster without `supervisor:` whose units are enabled. */
async function openView(command: Command): Promise<FleetContext> {
  const ctx = await loadFleetContext(cliHost(), { roster: options(command).roster });
  // The systemd detection is loaded only for a roster that does not name its supervisor.
  if (ctx.roster.supervisorSource !== 'default') return ctx;
  return (await import('../../fleet/supervisor-choice.js')).resolveSupervisor(ctx);
}

/** Options with the global ones (not from ./shared.js: it pulls in the whole fleet context and the YAML parser). */
const options = <T extends object>(command: Command): T & { roster?: string; json?: boolean } =>
  command.optsWithGlobals<T & { roster?: string; json?: boolean }>();

async function agentOf(view: FleetContext, command: Command): Promise<AgentSpec> {
  const { findAgent } = await import('../../context/context.js');
  return findAgent(view.roster, command.args[0]!);
}

/* ---------- fleet ps ---------- */

/** A cell's segments with their tones as ANSI colours (none when stdout is not a terminal). */
const paintCell = (cell: readonly Segment[]): string =>
  cell.map((segment) => (segment.tone === '' ? segment.text : colour[segment.tone](segment.text))).join('');

export function psTable(report: PsReport): string {
  return table(
    [...COLUMNS],
    report.records.map((record) => recordCells(record).map(paintCell)),
  );
}

export function psText(report: PsReport): string {
  const lines = [headerLine(report)];
  if (report.systemd_error) lines.push(colour.yellow(`systemd: ${report.systemd_error}; unit states unknown`));
  lines.push(report.records.length > 0 ? psTable(report) : 'no agents in the roster and no sessions on the socket');
  if (report.records.some((r) => r.status_source === 'screen')) lines.push('* activity read off the screen (no report from the runtime)');
  const notes = report.records.flatMap((r) => r.flags.map((flag) => `  ${r.agent}: ${flag}: ${r.reasons[flag] ?? ''}`));
  if (notes.length > 0) lines.push('', ...notes);
  const needs = needsYou(report.records);
  if (needs.length > 0) lines.push('', ...needs.map((r) => `  ${needsLine(r)}`));
  return lines.join('\n');
}

/** Seconds between `fleet ps --watch` redraws when --interval is not given. */
const DEFAULT_PS_INTERVAL = '2';

/** `fleet ps --interval`: plain decimal seconds (2, 0.5); Number() alone took 0x10, 1e1 and ' 3'. */
export function parseInterval(value: string): number {
  const seconds = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) {
    throw new UsageError(`--interval must be a number of seconds from 0.2 to 3600, got "${value}"`);
  }
  return seconds;
}

/** Resolves when the user interrupts (Ctrl-C) or the process is asked to stop. */
function untilInterrupted(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** `--attention`: who needs the operator first (permission, question, error, limit, done), then by name. */
function byAttention(report: PsReport): PsReport {
  const rank = (r: PsRecord): number => attentionRank(r.attention.state);
  return { ...report, records: [...report.records].sort((a, b) => rank(a) - rank(b) || a.agent.localeCompare(b.agent)) };
}

/** `fleet ps` when some hosts did not answer: the rows are all there, some of them stale. */
export const PARTIAL_EXIT = 3;

export async function ps(command: Command): Promise<number> {
  const opts = options<{ watch?: boolean; interval?: string; attention?: boolean }>(command);
  // Without --watch there is nothing to repeat: an --interval there was meant for a watch the user did not ask for.
  if (opts.interval !== undefined && !opts.watch) throw new UsageError('--interval goes with --watch (fleet ps --watch --interval 1)');
  const intervalMs = parseInterval(opts.interval ?? DEFAULT_PS_INTERVAL) * 1000;
  const view = await openView(command);
  let unreachable: { host: string; reason: string }[] = [];
  const fleetPs = async (v: FleetContext): Promise<PsReport> => {
    let report: PsReport;
    if (v.roster.remoteAgents?.length) {
      const { psAcrossHosts } = await import('../../fleet/hosts.js');
      ({ report, unreachable } = await psAcrossHosts(v, () => readFleet(v)));
    } else {
      report = await readFleet(v);
    }
    return opts.attention ? byAttention(report) : report;
  };
  if (!opts.watch) {
    const report = await fleetPs(view);
    if (opts.json) printJson(report.records);
    else out(psText(report));
    for (const host of unreachable) err(`host ${host.host}: unreachable: ${host.reason} (its rows are the last known, flagged stale)`);
    return unreachable.length > 0 ? PARTIAL_EXIT : 0;
  }
  const tty = Boolean(process.stdout.isTTY) && !opts.json;
  const { signal, dispose } = untilInterrupted();
  if (tty) write('\u001b[?25l'); // hide the cursor while redrawing
  try {
    while (!signal.aborted) {
      const report = await fleetPs(view);
      if (opts.json) {
        out(JSON.stringify(report.records)); // one array per line
      } else if (tty) {
        const rows = process.stdout.rows ?? 50;
        const stamp = colour.dim(`every ${opts.interval}s, ${new Date(view.host.now()).toLocaleTimeString()}; Ctrl-C to stop`);
        let lines = `${stamp}\n${psText(report)}`.split('\n');
        if (lines.length > rows - 1)
          lines = [...lines.slice(0, rows - 2), colour.dim(`… ${lines.length - rows + 2} more lines (a taller terminal, or --json)`)];
        // Home, each line cleared to its end, then clear below: a redraw in place without flicker.
        write(`\u001b[H${lines.map((line) => `${line}\u001b[K`).join('\n')}\n\u001b[J`);
      } else {
        out(`${psText(report)}\n`);
      }
      await sleepUnlessAborted(intervalMs, signal);
    }
  } finally {
    dispose();
    if (tty) write('\u001b[?25h');
  }
  return 0;
}

/* ---------- agent watch / attach ---------- */

export async function watch(command: Command): Promise<number> {
  const view = await openView(command);
  const there = await runElsewhere(view, command, { tty: true });
  if (there !== undefined) return there;
  const { watchAgent } = await import('../../observe/watch.js');
  return watchAgent(view, await agentOf(view, command), { stdinIsTTY: Boolean(process.stdin.isTTY) });
}

export async function attach(command: Command): Promise<number> {
  const view = await openView(command);
  const there = await runElsewhere(view, command, { tty: true });
  if (there !== undefined) return there;
  const { attachAgent } = await import('../../observe/attach.js');
  return attachAgent(view, await agentOf(view, command), { stdinIsTTY: Boolean(process.stdin.isTTY) });
}

/* ---------- agent logs ---------- */

export async function logs(command: Command): Promise<number> {
  const opts = options<{ lines: string; follow?: boolean; stripAnsi?: boolean }>(command);
  const lines = parseWholeNumber('-n', opts.lines, 0, 1_000_000);
  const view = await openView(command);
  const there = await runElsewhere(view, command);
  if (there !== undefined) return there;
  const agent = await agentOf(view, command);
  const { agentTranscript, followTranscript, readTranscriptTail } = await import('../../observe/logs.js');
  const { AnsiStripper, stripAnsi } = await import('../../observe/ansi.js');
  const deps = { tmux: view.tmux, logsDir: view.paths.logsDir, env: view.host.env };
  const file = await agentTranscript(deps, agent, { mustExist: !opts.follow });
  const tail = readTranscriptTail(file, lines);
  const head = tail?.text.toString('utf8') ?? '';
  const record = { tenant_id: view.roster.tenantId, host: view.host.identity.host, agent: agent.name, file };
  if (!opts.follow) {
    const text = opts.stripAnsi ? stripAnsi(head) : head;
    if (opts.json) printJson({ ...record, lines: text === '' ? [] : text.replace(/\n$/, '').split('\n') });
    else if (text !== '') out(text); // ends with a newline, so a shell prompt never glues onto the last line
    return 0;
  }
  // Follow: raw bytes go straight through (a terminal renders the agent's screen);
  // --strip-ansi gives plain text; --json gives one record per complete line.
  const stripper = opts.stripAnsi ? new AnsiStripper() : undefined;
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (text: string, final = false): void => {
    const plain = stripper ? stripper.push(text) + (final ? stripper.flush() : '') : text;
    if (!opts.json) {
      write(plain);
      return;
    }
    partial += plain;
    const complete = partial.split('\n');
    partial = complete.pop()!;
    if (final && partial !== '') complete.push(partial);
    for (const line of complete) out(JSON.stringify({ ...record, line }));
  };
  emit(head);
  const { signal, dispose } = untilInterrupted();
  try {
    for await (const chunk of followTranscript(file, { offset: tail?.end ?? 0, signal })) emit(decoder.write(chunk));
  } finally {
    dispose();
  }
  emit(decoder.end(), true);
  return 0;
}
