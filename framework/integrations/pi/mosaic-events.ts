// mosaic-events 1: tells Mosaic Fleet what this pi agent is doing (installed by `mosaic fleet start`
// into the agent's own PI_CODING_AGENT_DIR; remove the file to stop it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const reporter = process.env.MOSAIC_REPORTER;
let queue: Promise<void> = Promise.resolve();

/** Reports run one after another, so a later status never overtakes the prompt's acknowledgement. */
function report(args: string[], payload = ''): void {
  if (!reporter) return;
  queue = queue.then(
    () =>
      new Promise<void>((resolve) => {
        const child = spawn('sh', [reporter, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
        child.on('error', () => resolve());
        child.on('close', () => resolve());
        child.stdin.on('error', () => undefined);
        child.stdin.end(payload);
      }),
  );
}

// Usage and rate limits: framework/bin/mosaic-limit writes <heartbeat>.limit when a turn ends on a
// 429 (pi shows "Error: 429 …" once its retries are spent), and removes it when a turn ends well.
const limitScript = reporter ? path.join(path.dirname(reporter), 'mosaic-limit') : undefined;
const limitFile = process.env.MOSAIC_HEARTBEAT_FILE ? `${process.env.MOSAIC_HEARTBEAT_FILE}.limit` : undefined;
const LIMIT_ERROR = /\b429\b|rate.?limit|usage limit|too many requests|quota/i;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function limitAfterTurn(messages: any): void {
  if (!limitScript) return;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const last = (Array.isArray(messages) ? messages : []).filter((m: any) => m && m.role === 'assistant').pop();
  const error = last?.stopReason === 'error' ? String(last.errorMessage ?? '') : undefined;
  let args: string[] | undefined;
  if (error !== undefined && LIMIT_ERROR.test(error)) {
    args = ['set', 'hook', /usage limit/i.test(error) ? 'usage_limit' : 'rate_limit_429', error.replace(/\s+/g, ' ').slice(0, 500)];
  } else if (error === undefined && last && limitFile && existsSync(limitFile)) args = ['clear'];
  if (!args) return;
  const argv = args;
  queue = queue.then(
    () =>
      new Promise<void>((resolve) => {
        const child = spawn('sh', [limitScript, ...argv], { stdio: 'ignore' });
        child.on('error', () => resolve());
        child.on('close', () => resolve());
      }),
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export default function mosaicEvents(pi: any): void {
  // The session id lets a restart resume this conversation (`--session <id>`), and a /new start a new one.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  pi.on('session_start', async (_event: any, ctx: any) => {
    let id = '';
    try {
      id = String(ctx?.sessionManager?.getSessionId?.() ?? '');
    } catch {
      id = '';
    }
    report(['idle', 'session_start'], id ? JSON.stringify({ session_id: id }) : '');
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  pi.on('input', async (event: any) => {
    // Only agent_start says a turn began: input alone may be queued, or refused (no model).
    report(['same', '--ack', 'input'], String(event?.text ?? ''));
    return { action: 'continue' };
  });
  pi.on('agent_start', async () => report(['busy', 'agent_start']));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  pi.on('agent_end', async (event: any) => {
    report(['idle', 'agent_end']);
    limitAfterTurn(event?.messages);
  });
}
