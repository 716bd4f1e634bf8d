import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { CommandError } from '../core/errors.js';
import { oneLine as oneLineOf } from '../core/text.js';
import { monotonicMs } from '../system/clock.js';
import { isExecutable } from '../system/fs.js';
import type { CommandRunner } from '../system/runner.js';
import type { NotificationEvent, NotifyOn, NotifySink } from './types.js';

/*
 * Delivering one notification to one sink. Sinks run in mosaic's own process with the
 * environment the daemon passes (never an agent's pane or environment, so their secrets never
 * reach an agent), and never through a shell:
 *
 * - exec: the argv as given; the event as one line of JSON (plus a newline) on stdin, and
 *   MOSAIC_NOTIFY_STATE / MOSAIC_NOTIFY_AGENT in its environment; exit 0 is success.
 * - webhook: one POST of the JSON (content-type application/json) with node:http(s); only http
 *   and https URLs; a 2xx answer is success, anything else (redirects included: they are not
 *   followed) fails with the status. Details name the host only: a webhook's path is often its secret.
 * - desktop: `notify-send --app-name=mosaic -- <title> <body>` when notify-send is on PATH.
 */

export interface DeliverDeps {
  runner: CommandRunner;
  /** The environment sinks run with (exec and desktop) and where PATH is read from. */
  env: NodeJS.ProcessEnv;
  /** Per delivery; default 5000. */
  timeoutMs?: number;
}

export interface DeliveryResult {
  ok: boolean;
  /** `exit 0`, `HTTP 204`, `shown`; or what went wrong. Never contains a webhook's path or query. */
  detail: string;
  ms: number;
}

export const DEFAULT_DELIVERY_TIMEOUT_MS = 5000;

type Outcome = Omit<DeliveryResult, 'ms'>;

/** Deliver `event` to `sink`. Never throws; resolves by the timeout (plus a short grace) at the latest. */
export async function deliver(sink: NotifySink, event: NotificationEvent, deps: DeliverDeps): Promise<DeliveryResult> {
  const started = monotonicMs();
  const timeoutMs = deps.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  let outcome: Outcome;
  try {
    // The backstop: a sink whose children keep its pipes open after the runner's kill must not
    // hold the daemon past the timeout.
    outcome = await withDeadline(deliverTo(sink, event, deps, timeoutMs), timeoutMs + 250, timeoutMs);
  } catch (error) {
    outcome = { ok: false, detail: oneLine(error instanceof Error ? error.message : String(error)) };
  }
  return { ...outcome, ms: Math.round(monotonicMs() - started) };
}

function deliverTo(sink: NotifySink, event: NotificationEvent, deps: DeliverDeps, timeoutMs: number): Promise<Outcome> {
  if ('exec' in sink) return deliverExec(sink.exec, event, deps, timeoutMs);
  if ('webhook' in sink) return deliverWebhook(sink.webhook, event, timeoutMs);
  if ('desktop' in sink && sink.desktop === true) return deliverDesktop(event, deps, timeoutMs);
  return Promise.resolve({ ok: false, detail: 'unknown sink: expected exec, webhook or desktop' });
}

async function withDeadline(work: Promise<Outcome>, deadlineMs: number, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `timed out after ${timeoutMs} ms` }), deadlineMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function deliverExec(argv: readonly string[], event: NotificationEvent, deps: DeliverDeps, timeoutMs: number): Promise<Outcome> {
  if (!Array.isArray(argv) || argv.length === 0 || !argv[0] || argv.some((arg) => typeof arg !== 'string')) {
    return { ok: false, detail: 'exec: needs a non-empty argv of strings' };
  }
  let result;
  try {
    result = await deps.runner(argv, {
      input: `${JSON.stringify(event)}\n`,
      env: { ...deps.env, MOSAIC_NOTIFY_STATE: event.state, MOSAIC_NOTIFY_AGENT: event.agent },
      timeoutMs,
      allowFailure: true,
      killGroup: true,
    });
  } catch (error) {
    // Not the error's message: it quotes the argv, and an argv may carry a token.
    if (error instanceof CommandError) return { ok: false, detail: oneLine(error.stderr || `${path.basename(argv[0])}: could not start`) };
    throw error;
  }
  if (result.status === 0) return { ok: true, detail: 'exit 0' };
  const stderr = lastLine(result.stderr);
  const how = result.signal
    ? result.durationMs >= timeoutMs
      ? `timed out after ${timeoutMs} ms (killed by ${result.signal})`
      : `killed by ${result.signal}`
    : `exit ${String(result.status)}`;
  return { ok: false, detail: stderr ? `${how}: ${stderr}` : how };
}

function deliverWebhook(target: string, event: NotificationEvent, timeoutMs: number): Promise<Outcome> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return Promise.resolve({ ok: false, detail: 'webhook: not a URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.resolve({ ok: false, detail: `webhook: only http and https URLs (not ${url.protocol.replace(/:$/, '')})` });
  }
  const where = url.host;
  const body = Buffer.from(JSON.stringify(event), 'utf8');
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<Outcome>((resolve) => {
    let status: number | undefined;
    const answer: Buffer[] = [];
    let answered = 0;
    let settled = false;
    const statusOutcome = (code: number): Outcome => {
      if (code >= 200 && code < 300) return { ok: true, detail: `HTTP ${code}` };
      const text = lastLine(Buffer.concat(answer).toString('utf8'));
      const redirect = code >= 300 && code < 400 ? ' (redirects are not followed)' : '';
      return { ok: false, detail: `${where}: HTTP ${code}${redirect}${text ? `: ${text}` : ''}` };
    };
    const finish = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length, 'user-agent': 'mosaic-fleet' },
        agent: false, // one connection, closed after the answer: nothing keeps the daemon's event loop busy
      },
      (res) => {
        status = res.statusCode ?? 0;
        res.on('data', (chunk: Buffer) => {
          if (answered < 1024) answer.push(chunk);
          answered += chunk.length;
        });
        res.on('end', () => finish(statusOutcome(status!)));
        res.on('error', (error) =>
          finish(status !== undefined ? statusOutcome(status) : { ok: false, detail: `${where}: ${error.message}` }),
        );
      },
    );
    const timer = setTimeout(() => {
      // The status is what counts: a server that answered 2xx but dribbles its body still took the event.
      finish(status !== undefined ? statusOutcome(status) : { ok: false, detail: `${where}: timed out after ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: `${where}: ${oneLine(error.message || error.code || 'error')}` }),
    );
    req.end(body);
  });
}

const DESKTOP_LABEL: Record<NotifyOn, string> = {
  permission: 'waits for permission',
  question: 'has a question',
  done: 'is done',
  error: 'hit an error',
  limit: 'hit a usage limit',
  crash: 'crashed',
  failed: 'failed (restarts stopped)',
};

/** The notification's body is markup for most notification servers: show the text, never interpret it. */
const escapeMarkup = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Title and body notify-send shows for an event. */
export function desktopText(event: NotificationEvent): { title: string; body: string } {
  const lines = [event.detail];
  if (event.tool || event.summary) lines.push([event.tool, event.summary].filter(Boolean).join(': '));
  if (event.resets_at) lines.push(`resets at ${event.resets_at}`);
  lines.push(`${event.fleet} on ${event.host}`);
  return {
    title: `${event.agent} ${DESKTOP_LABEL[event.state] ?? event.state}`,
    body: escapeMarkup(lines.filter(Boolean).join('\n')),
  };
}

async function deliverDesktop(event: NotificationEvent, deps: DeliverDeps, timeoutMs: number): Promise<Outcome> {
  const notifySend = await findOnPath('notify-send', deps.env);
  if (!notifySend) return { ok: false, detail: 'notify-send not found' };
  const { title, body } = desktopText(event);
  // `--` ends notify-send's options: a title or body that starts with '-' stays text.
  const result = await deps.runner([notifySend, '--app-name=mosaic', '--', title, body], { env: deps.env, timeoutMs, allowFailure: true });
  if (result.status === 0) return { ok: true, detail: 'shown' };
  const stderr = lastLine(result.stderr);
  const how = result.signal ? `notify-send killed by ${result.signal}` : `notify-send exit ${String(result.status)}`;
  return { ok: false, detail: stderr ? `${how}: ${stderr}` : how };
}

/** An executable on the environment's PATH, found without a shell (absolute directories only). */
async function findOnPath(program: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, program);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** A sink's detail is one line of the events log and of `fleet notify test`: at most this long. */
const MAX_DETAIL_CHARS = 200;
const oneLine = (text: string): string => oneLineOf(text, MAX_DETAIL_CHARS);

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return oneLine(lines[lines.length - 1] ?? '');
}
