// mosaic-events 1: tells Mosaic Fleet what this opencode agent is doing (installed by
// `mosaic fleet start` into the agent's own $XDG_CONFIG_HOME/opencode/plugin; remove to stop it).
import { spawn } from 'node:child_process';

const reporter = process.env.MOSAIC_REPORTER;
let queue = Promise.resolve();

/** Reports run one after another, so a later status never overtakes the prompt's acknowledgement. */
function report(args, payload = '') {
  if (!reporter) return;
  queue = queue.then(
    () =>
      new Promise((resolve) => {
        const child = spawn('sh', [reporter, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
        child.on('error', () => resolve());
        child.on('close', () => resolve());
        child.stdin.on('error', () => undefined);
        child.stdin.end(payload);
      }),
  );
}

const textOf = (parts) =>
  (Array.isArray(parts) ? parts : [])
    .filter((part) => part && part.type === 'text')
    .map((part) => part.text)
    .join('\n');

export const MosaicEvents = async () => ({
  event: async ({ event }) => {
    const type = event?.type ?? '';
    // The session id lets a restart resume this conversation (`--session <id>`).
    if (type === 'session.created') {
      const info = event.properties?.info;
      const id = info && !info.parentID ? info.id : undefined; // a child session (a subagent's) is not the conversation
      report(['idle', 'session.created'], typeof id === 'string' ? JSON.stringify({ session_id: id }) : '');
    } else if (type === 'session.status') {
      const status = event.properties?.status?.type;
      if (status === 'busy' || status === 'idle') report([status, `session.status.${status}`]);
    } else if (type.startsWith('permission.') && !type.endsWith('replied')) report(['waiting', type]);
    else if (type === 'permission.replied') report(['busy', type]);
  },
  'chat.message': async (_input, output) => {
    report(['busy', '--ack', 'chat.message'], textOf(output?.parts));
  },
});
