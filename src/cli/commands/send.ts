import { appendFileSync, closeSync, createReadStream, openSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError, UserError } from '../../core/errors.js';
import { MAX_MESSAGE_BYTES, decodeMessage, validateBody, validateSourceLabel } from '../../messaging/body.js';
import {
  broadcast as broadcastMessage,
  delivered,
  DEFAULT_VERIFY_TIMEOUT_MS,
  sendOrRecord,
  sendToAgent,
  type SendContext,
  type SendOptions,
  type SendResult,
} from '../../messaging/send.js';
import { loadFleetContext, selectAgents } from '../../context/context.js';
import { runElsewhere } from '../elsewhere.js';
import { cliHost } from '../host.js';
import { recordTasksTaken } from '../../messaging/tasks.js';
import type { AgentSpec } from '../../roster/model.js';
import { colour, err, out, printJson, visibleControls } from '../output.js';
import { parseWholeNumber } from '../whole-number.js';

interface MessageFlags {
  roster?: string;
  message?: string;
  file?: string;
  sourceLabel?: string;
  preamble: boolean;
  verify?: boolean;
  verifyTimeout?: string;
  json?: boolean;
  /** --no-reset: skip the reset a reset_between_tasks agent gets before a new task. */
  reset: boolean;
}

interface BroadcastFlags extends MessageFlags {
  all?: boolean;
  class?: string;
}

/**
 * The send path stays lean (it is run per message, often by scripts): no supervisor, and the
 * validated roster comes from a cache unless the roster or its inputs changed.
 */
function openForSend(flags: MessageFlags): Promise<SendContext> {
  return loadFleetContext(cliHost(), { roster: flags.roster });
}

export async function send(command: Command): Promise<number> {
  const flags = command.optsWithGlobals<MessageFlags>();
  const sendOptions = await messageOptions(flags);
  const ctx = await openForSend(flags);
  // An agent on another host: its mosaic sends; the body goes over ssh's stdin, byte for byte.
  const there = await runElsewhere(ctx, command, {
    input: sendOptions.body,
    drop: ['--message', '-m', '--file', '-f', '--source-label', '--source'],
    extra: ['--source-label', sendOptions.source],
  });
  if (there !== undefined) return there;
  const [agent] = selectAgents(ctx.roster, [command.args[0]!]);
  await resetBeforeTask(ctx, [agent!], flags);
  // With --json a send that could not even be pasted is a record on stdout too, as in a broadcast.
  const result = flags.json ? await sendOrRecord(ctx, agent!, sendOptions) : await sendToAgent(ctx, agent!, sendOptions);
  await recordTasksTaken(ctx.paths.runDir, [agent!], [result]);
  if (flags.json) printJson(result);
  else render(result);
  return delivered(result) ? 0 : 1;
}

export async function broadcast(command: Command): Promise<number> {
  const flags = command.optsWithGlobals<BroadcastFlags>();
  const names = command.args;
  const ways = [flags.all, flags.class !== undefined, names.length > 0].filter(Boolean).length;
  if (ways !== 1) throw new UsageError('say who gets the message: --all, --class <class>, or agent names (exactly one of these)');
  const sendOptions = await messageOptions(flags);
  const ctx = await openForSend(flags);
  const remote = await broadcastElsewhere(ctx, names, flags, sendOptions);
  // Named agents of this host (`agent` or `<this host>/agent`); those of other hosts went above.
  const local = remote ? remote.local : names.length > 0 ? selectAgents(ctx.roster, names) : ctx.roster.agents;
  if (remote && names.length > 0 && local.length === 0) {
    // Every named agent runs elsewhere.
    if (flags.json) printJson(remote.rows);
    else (remote.rows as SendResult[]).forEach(render);
    return remote.rows.every((row) => delivered(row as SendResult)) && remote.failed.length === 0 && remote.exitedNonZero.length === 0
      ? 0
      : 1;
  }
  let agents = local;
  if (flags.class !== undefined) {
    agents = agents.filter((agent) => agent.class === flags.class);
    if (agents.length === 0 && !remote?.rows.length) {
      const classes = [...new Set(ctx.roster.agents.map((a) => a.class).filter(Boolean))];
      throw new UserError(`no agent of class "${flags.class}" in roster ${ctx.roster.file}`, {
        hint: classes.length > 0 ? `known classes: ${classes.join(', ')}` : 'set `class:` on agents in the roster',
      });
    }
  }
  if (agents.length === 0 && !remote?.rows.length) throw new UserError(`roster ${ctx.roster.file} has no agents`);
  await resetBeforeTask(ctx, agents, flags);
  const results = [...(await broadcastMessage(ctx, agents, sendOptions)), ...((remote?.rows ?? []) as SendResult[])];
  await recordTasksTaken(ctx.paths.runDir, agents, results);
  if (flags.json) printJson(results);
  else results.forEach(render);
  const hostsOk = remote ? (await import('../remote.js')).reportHosts(remote) : true;
  return results.every(delivered) && hostsOk ? 0 : 1;
}

/** The part of a broadcast for agents on other hosts: each host's mosaic broadcasts to its own (body over stdin). */
async function broadcastElsewhere(ctx: SendContext, names: readonly string[], flags: BroadcastFlags, options: SendOptions) {
  if (!ctx.roster.remoteAgents?.length) return undefined;
  const { splitTargets } = await import('../../fleet/hosts.js');
  const { fanOut } = await import('../remote.js');
  const view = ctx as Parameters<typeof fanOut>[0];
  const targets = splitTargets(ctx.roster, names);
  const local = names.length > 0 ? targets.local : ctx.roster.agents;
  const hosts =
    flags.class === undefined
      ? targets.remote
      : new Map(
          [...targets.remote].filter(([host]) => (ctx.roster.remoteAgents ?? []).some((a) => a.host === host && a.class === flags.class)),
        );
  if (hosts.size === 0) return { rows: [], failed: [], exitedNonZero: [], local };
  const extra = [
    ...(names.length === 0 ? (flags.class === undefined ? ['--all'] : ['--class', flags.class]) : []),
    '--source-label',
    options.source,
    ...(options.verify ? ['--verify', '--verify-timeout', String(options.timeoutMs)] : []),
    ...(options.preamble ? [] : ['--no-preamble']),
    ...(flags.reset ? [] : ['--no-reset']),
  ];
  return { ...(await fanOut(view, hosts, ['agent', 'broadcast'], extra, options.body)), local };
}

/** reset_between_tasks agents get a new conversation first (loaded only when the roster has such agents). */
async function resetBeforeTask(ctx: SendContext, agents: readonly AgentSpec[], flags: MessageFlags): Promise<void> {
  if (!flags.reset || !agents.some((agent) => agent.resetBetweenTasks)) return;
  const { resetBeforeTasks } = await import('../../fleet/task-reset.js');
  const reset = await resetBeforeTasks(ctx, agents, { roster: flags.roster });
  if (!flags.json) for (const { agent, evidence } of reset) err(`${agent}: reset before the next task (${evidence})`);
}

/** `--verify-timeout <ms>`: ASCII digits only (Number() took 0x100, 1e3, ' 500' and '+500'). */
export const parseVerifyTimeout = (value: string | undefined): number =>
  value === undefined ? DEFAULT_VERIFY_TIMEOUT_MS : parseWholeNumber('--verify-timeout', value, 100, 600_000);

async function messageOptions(flags: MessageFlags): Promise<SendOptions> {
  const timeoutMs = parseVerifyTimeout(flags.verifyTimeout);
  return {
    body: validateBody(await readMessage(flags)),
    source: flags.sourceLabel === undefined ? `${cliHost().identity.host}:operator` : validateSourceLabel(flags.sourceLabel),
    preamble: flags.preamble,
    verify: Boolean(flags.verify),
    timeoutMs,
    trace: traceTo(process.env.MOSAIC_SEND_TRACE),
  };
}

/** MOSAIC_SEND_TRACE=<file>: one JSON line per delivery step, with the screen judged (why a verdict was reached). */
function traceTo(file: string | undefined): SendOptions['trace'] {
  if (!file) return undefined;
  // Opened once before anything is typed: a trace file that cannot be appended to failed the first step, after the paste.
  try {
    closeSync(openSync(file, 'a', 0o600));
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const why = code === 'EISDIR' ? 'it is a directory' : code === 'ENOENT' ? 'its directory does not exist' : message;
    throw new UserError(`MOSAIC_SEND_TRACE=${file}: cannot append to it (${why}); nothing was sent`, {
      hint: 'point MOSAIC_SEND_TRACE at a file in an existing directory, or unset it',
    });
  }
  return (agent, step) => appendFileSync(file, `${JSON.stringify({ agent, ...step })}\n`, { mode: 0o600 });
}

async function readMessage(flags: MessageFlags): Promise<string> {
  if (flags.message !== undefined && flags.file !== undefined) throw new UsageError('give the message with --message or --file, not both');
  if (flags.message !== undefined) {
    if (flags.message.includes('\uFFFD') && !argumentIsUtf8(flags.message)) {
      throw new UserError('the message from --message is not valid UTF-8; nothing was sent', {
        hint: 'pass the text in UTF-8 (with --file or on stdin, invalid bytes are refused the same way)',
      });
    }
    return flags.message;
  }
  if (flags.file !== undefined) {
    const file = flags.file;
    const bytes = await readCapped(createReadStream(file, { end: MAX_MESSAGE_BYTES })).catch((error: NodeJS.ErrnoException) => {
      if (error instanceof UserError) throw error;
      throw new UserError(`cannot read message file ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
    });
    return decodeMessage(bytes, file);
  }
  if (process.stdin.isTTY) throw new UsageError('no message: give it with --message <text>, --file <path>, or on stdin');
  return decodeMessage(await readCapped(process.stdin), 'stdin');
}

/**
 * The message's bytes, read only until they pass the cap: a larger file or stream is refused without being held
 * whole (a 300 MB file took 660 MB and 7 s to refuse; /dev/zero or a stream that never ends never finished).
 */
async function readCapped(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length > MAX_MESSAGE_BYTES) {
      throw new UserError(`the message is more than the ${MAX_MESSAGE_BYTES} bytes allowed; nothing was sent`, {
        hint: 'send a path to a file with the details instead of the whole text',
      });
    }
  }
  return Buffer.concat(chunks);
}

/**
 * Node turns bytes of argv that are not UTF-8 into U+FFFD, so the text alone cannot tell an invalid argument
 * from a real U+FFFD. The process's own command line (Linux) still has the bytes: an argument that ends with
 * `text` once decoded with replacements must also decode strictly.
 */
function argumentIsUtf8(text: string): boolean {
  let raw: Buffer;
  try {
    raw = readFileSync('/proc/self/cmdline');
  } catch {
    return true; // no /proc: nothing to tell by
  }
  const strict = new TextDecoder('utf-8', { fatal: true });
  for (const arg of raw.toString('latin1').split('\0')) {
    const bytes = Buffer.from(arg, 'latin1');
    if (!bytes.toString('utf8').endsWith(text)) continue; // `-m <text>`, `-m<text>`, `--message=<text>`
    try {
      strict.decode(bytes);
    } catch {
      return false;
    }
  }
  return true;
}

const EXPLAIN: Record<string, string> = {
  queued: 'the agent is busy; it will read the message after its current turn',
  draft: 'the text sits in the input, not submitted',
  unverifiable: 'no evidence that the agent took it',
};

function render(result: SendResult): void {
  const line = `${result.agent}: ${paint(result.status)} in ${result.duration_ms} ms (${result.detail})`;
  if (result.status === 'error') {
    err(`${result.agent}: ${colour.red('error', process.stderr)}: ${visibleControls(result.detail)}`);
    if (result.hint) err(`  hint: ${visibleControls(result.hint)}`);
    return;
  }
  out(line);
  if (EXPLAIN[result.status]) out(`  ${EXPLAIN[result.status]}`);
  if (result.status === 'draft')
    err(`  hint: look with \`mosaic agent tail ${result.agent}\`; sending again would paste the text a second time`);
  if (result.status === 'unverifiable') err(`  hint: check the agent with \`mosaic agent tail ${result.agent}\` before resending`);
}

function paint(status: string): string {
  if (status === 'accepted' || status === 'queued') return colour.green(status);
  if (status === 'sent') return colour.yellow(status);
  return colour.red(status);
}
