// mosaic-events 1: tells Mosaic Fleet what this pi agent is doing (installed by `mosaic fleet start`
// into the agent's own PI_CODING_AGENT_DIR; remove the file to stop it).
import { spawn } from 'node:child_process';

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
  pi.on('agent_end', async () => report(['idle', 'agent_end']));
}
