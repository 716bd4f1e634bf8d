import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError, UserError } from '../../core/errors.js';
import { minPollIntervalMs, pullHead, readSnapshot, waitForCi, type CiItem, type CiProgress, type CiWaitReport } from '../../forge/ci.js';
import { ForgeClient } from '../../forge/client.js';
import { formatDuration, parseDuration } from '../../forge/duration.js';
import { commentOnIssue, createIssue, decodeBody } from '../../forge/issues.js';
import { resolveTarget } from '../../forge/target.js';
import { resolveToken } from '../../forge/token.js';
import { cliHost } from '../host.js';
import { colour, out, printJson } from '../output.js';
import { options } from './shared.js';

interface ForgeFlags {
  forge?: string;
  api?: string;
  repo?: string;
  json?: boolean;
}

async function connect(flags: ForgeFlags, requestTimeoutMs?: number): Promise<ForgeClient> {
  const host = cliHost();
  const target = await resolveTarget(flags, { runner: host.runner, env: host.env, cwd: process.cwd() });
  const token = await resolveToken(target.kind, target.api, host.env);
  return new ForgeClient(target, token, requestTimeoutMs !== undefined ? { timeoutMs: requestTimeoutMs } : {});
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The body exactly as given: from --body-file (a path, or "-" for stdin), else piped stdin. */
async function readBody(bodyFile: string | undefined): Promise<string> {
  if (bodyFile === undefined && process.stdin.isTTY) {
    throw new UsageError('give the body with --body-file <file>, or pipe it on stdin');
  }
  if (bodyFile === undefined || bodyFile === '-') return decodeBody(await readStdin(), 'the body on stdin');
  let bytes: Buffer;
  try {
    bytes = await readFile(bodyFile);
  } catch (error) {
    throw new UserError(`cannot read --body-file ${bodyFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return decodeBody(bytes, bodyFile);
}

function positiveInt(value: string, what: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${what} takes a positive number, got "${value}"`);
  }
  return Number(value);
}

/** `mosaic forge issue create --title <t> [--body-file F]`. */
export async function issueCreate(command: Command): Promise<number> {
  const flags = options<ForgeFlags & { title: string; bodyFile?: string }>(command);
  const body = await readBody(flags.bodyFile);
  const client = await connect(flags);
  const made = await createIssue(client, flags.title, body);
  if (flags.json) printJson(made);
  else out(`created issue #${made.number} in ${made.repo}${made.url ? `: ${made.url}` : ''}`);
  return 0;
}

/** `mosaic forge issue comment <number> [--body-file F]`. */
export async function issueComment(command: Command): Promise<number> {
  const flags = options<ForgeFlags & { bodyFile?: string }>(command);
  const issue = positiveInt(command.args[0] ?? '', 'the issue number');
  const body = await readBody(flags.bodyFile);
  const client = await connect(flags);
  const made = await commentOnIssue(client, issue, body);
  if (flags.json) printJson(made);
  else out(`commented on issue #${made.issue} in ${made.repo}${made.url ? `: ${made.url}` : ''}`);
  return 0;
}

interface CiFlags extends ForgeFlags {
  pr?: string;
  sha?: string;
  timeout: string;
  interval: string;
  ciGrace: string;
}

const short = (sha: string | undefined): string => (sha ? sha.slice(0, 10) : '?');

function progressLine(p: CiProgress, graceMs: number): string {
  const time = formatDuration(p.elapsedMs);
  if (p.verdict === 'error') return `ci ${short(p.sha)}: retrying (${p.error ?? 'error'}) · ${time}`;
  if (p.verdict === 'none') return `ci ${short(p.sha)}: nothing reported yet · ${time} (no CI after ${formatDuration(graceMs)})`;
  const count = (state: CiItem['state']): CiItem[] => p.items.filter((i) => i.state === state);
  const pending = count('pending');
  const names = pending
    .slice(0, 3)
    .map((i) => i.name)
    .join(', ');
  return `ci ${short(p.sha)}: ${count('success').length} passed, ${pending.length} pending${names ? ` (${names}${pending.length > 3 ? ', …' : ''})` : ''}, ${count('failure').length} failed · ${time}`;
}

function itemLine(item: CiItem): string {
  const mark = item.state === 'success' ? colour.green('pass') : item.state === 'failure' ? colour.red('FAIL') : colour.yellow('wait');
  return `  ${mark}  ${item.name} (${item.kind}: ${item.raw})${item.url ? `  ${item.url}` : ''}`;
}

const HEADLINE: Record<CiWaitReport['result'], string> = {
  success: 'ci green',
  failure: 'ci failed',
  'no-ci': 'no ci',
  timeout: 'ci timeout',
};

/** `mosaic forge ci wait (--pr N | --sha S)`: 0 green, 1 failed, 3 no CI, 124 timeout. */
export async function ciWait(command: Command): Promise<number> {
  const flags = options<CiFlags>(command);
  if ((flags.pr === undefined) === (flags.sha === undefined)) throw new UsageError('give exactly one of --pr <number> or --sha <commit>');
  const pr = flags.pr !== undefined ? positiveInt(flags.pr, '--pr') : undefined;
  if (flags.sha !== undefined && !/^[0-9a-f]{7,64}$/i.test(flags.sha)) {
    throw new UsageError(`--sha takes a commit id (7 to 64 hex digits), got "${flags.sha}"`);
  }
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  const intervalMs = parseDuration(flags.interval, '--interval');
  const minIntervalMs = minPollIntervalMs(cliHost().env);
  if (intervalMs < minIntervalMs) {
    throw new UsageError(
      `--interval must be at least ${minIntervalMs % 1000 === 0 ? `${minIntervalMs / 1000}s` : `${minIntervalMs}ms`} (every poll asks the forge's API), got "${flags.interval}"`,
    );
  }
  const graceMs = parseDuration(flags.ciGrace, '--ci-grace');
  // One request that hangs must not hold the wait long past its --timeout.
  const client = await connect(flags, Math.min(30_000, Math.max(1000, timeoutMs)));
  const tty = Boolean(process.stderr.isTTY);
  const observe = async () => readSnapshot(client, pr !== undefined ? await pullHead(client, pr) : flags.sha!.toLowerCase());
  let report: CiWaitReport;
  try {
    report = await waitForCi(observe, {
      intervalMs,
      timeoutMs,
      graceMs,
      ...(tty ? { onPoll: (p: CiProgress) => process.stderr.write(`\r\u001b[K${progressLine(p, graceMs)}`) } : {}),
    });
  } finally {
    if (tty) process.stderr.write('\r\u001b[K');
  }
  const repo = `${client.target.repo.owner}/${client.target.repo.name}`;
  if (flags.json) {
    printJson({ forge: client.target.kind, api_host: client.host, repo, ...(pr !== undefined ? { pr } : {}), ...report });
  } else {
    // The commit: the one read last, else the one asked for; none when no --pr head was ever read (not "at ?").
    const sha = report.sha ?? flags.sha?.toLowerCase();
    const where = `${repo}${pr !== undefined ? ` #${pr}` : ''}${sha ? ` at ${short(sha)}` : ''}`;
    const headline = `${HEADLINE[report.result]}: ${where}: ${report.reason}`;
    out(report.result === 'success' ? colour.green(headline) : report.result === 'failure' ? colour.red(headline) : headline);
    for (const item of report.checks) out(itemLine(item));
  }
  return report.exit_code;
}
