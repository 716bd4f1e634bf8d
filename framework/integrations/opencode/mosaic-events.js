// mosaic-events 1: tells Mosaic Fleet what this opencode agent is doing (installed by
// `mosaic fleet start` into the agent's own $XDG_CONFIG_HOME/opencode/plugin; remove to stop it),
// and lets `mosaic agent approve|deny` answer its permission requests without typing into the pane.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';

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

// ---- Usage and rate limits: framework/bin/mosaic-limit writes <heartbeat>.limit ----
// A limited request makes opencode wait for the provider's retry-after and try again
// (session.status "retry", with the message and the time of the next attempt): that time is
// the reset. A turn that ends (idle) without a session.error went through: the file goes.
const limitScript = reporter ? path.join(path.dirname(reporter), 'mosaic-limit') : undefined;
const limitFile = process.env.MOSAIC_HEARTBEAT_FILE ? `${process.env.MOSAIC_HEARTBEAT_FILE}.limit` : undefined;
const LIMIT_WORDS = /rate.?limit|usage limit|too many requests|\b429\b|quota|limit (?:has been |was )?reached/i;
let turnFailed = false;

function limitEvent(type, props) {
  if (!limitScript) return;
  if (type === 'session.error') turnFailed = true;
  if (type !== 'session.status') return;
  const status = props?.status ?? {};
  let args;
  if (status.type === 'busy') turnFailed = false;
  else if (status.type === 'retry' && LIMIT_WORDS.test(String(status.message ?? ''))) {
    const next = Number(status.next);
    const reset = Number.isFinite(next) && next > 0 ? new Date(next).toISOString() : String(status.message);
    args = ['set', 'hook', /usage limit/i.test(String(status.message)) ? 'usage_limit' : 'rate_limit', reset];
  } else if (status.type === 'idle' && !turnFailed && limitFile) {
    try {
      readFileSync(limitFile);
      args = ['clear'];
    } catch {
      // no limit recorded
    }
  }
  if (!args) return;
  queue = queue.then(
    () =>
      new Promise((resolve) => {
        const child = spawn('sh', [limitScript, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
        child.on('error', () => resolve());
        child.on('close', () => resolve());
      }),
  );
}

// ---- Permission requests: the pending-request files of src/attention/pending.ts ----
// permission.asked → <pendingDir>/<id>.json; `mosaic agent approve|deny` writes <id>.decision;
// the decision is sent through the plugin's in-process client (the prompt in the TUI closes),
// then both files go. A reply given in the TUI (permission.replied) or the timeout removes the
// request; the TUI's own prompt stays up all along.

const ID = /^[A-Za-z0-9_.-]{1,80}$/;
const pendingDir =
  process.env.MOSAIC_PENDING_DIR ||
  (process.env.MOSAIC_HEARTBEAT_FILE && process.env.MOSAIC_AGENT_NAME
    ? path.join(path.dirname(process.env.MOSAIC_HEARTBEAT_FILE), 'pending', process.env.MOSAIC_AGENT_NAME)
    : undefined);
const timeoutSeconds = Number(process.env.MOSAIC_APPROVAL_TIMEOUT || 120);
const timeoutMs = (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : 120) * 1000;

/** Shared by every load of this module in the process: one request file and one answer per permission. */
const open = new Map(); // id → { sessionID, timer, client }
let dirWatcher;
let poller;

const quietly = (fn) => {
  try {
    return fn();
  } catch {
    return undefined;
  }
};
const fileOf = (id, ext) => path.join(pendingDir, `${id}.${ext}`);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return Boolean(error && error.code === 'EPERM');
  }
}

/** Requests left by an earlier opencode process of this agent (or a killed hook) are nobody's. */
function sweep() {
  const names = quietly(() => readdirSync(pendingDir)) ?? [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const request = quietly(() => JSON.parse(readFileSync(path.join(pendingDir, name), 'utf8')));
    if (!request || typeof request.pid !== 'number' || alive(request.pid)) continue;
    const id = name.slice(0, -'.json'.length);
    quietly(() => rmSync(fileOf(id, 'json'), { force: true }));
    quietly(() => rmSync(fileOf(id, 'decision'), { force: true }));
  }
}

function summaryOf(props) {
  const meta = props.metadata && typeof props.metadata === 'object' ? props.metadata : {};
  let text = meta.command ?? meta.filepath ?? meta.filePath ?? meta.path ?? meta.url ?? meta.description;
  if (typeof text !== 'string') {
    const patterns = Array.isArray(props.patterns) ? props.patterns : props.pattern !== undefined ? [].concat(props.pattern) : [];
    text = patterns.length ? patterns.join(' ') : (props.title ?? props.permission ?? props.type ?? '');
  }
  text = String(text).replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function forget(id) {
  const entry = open.get(id);
  if (entry) clearTimeout(entry.timer);
  open.delete(id);
  quietly(() => rmSync(fileOf(id, 'json'), { force: true }));
  quietly(() => rmSync(fileOf(id, 'decision'), { force: true }));
  if (open.size === 0) stopWatching();
}

function stopWatching() {
  if (dirWatcher) quietly(() => dirWatcher.close());
  dirWatcher = undefined;
  if (poller) clearInterval(poller);
  poller = undefined;
}

function startWatching() {
  if (!dirWatcher) {
    dirWatcher = quietly(() => watch(pendingDir, () => checkDecisions()));
    if (dirWatcher) dirWatcher.on('error', () => undefined);
  }
  if (!poller) {
    poller = setInterval(checkDecisions, 1000); // fs.watch can miss events; this cannot
    poller.unref?.();
  }
}

function asked(props, client) {
  const id = props.id;
  if (!pendingDir || typeof id !== 'string' || !ID.test(id) || open.has(id)) return;
  const now = Date.now();
  const request = {
    id,
    agent: process.env.MOSAIC_AGENT_NAME || 'unknown',
    runtime: 'opencode',
    tool: String(props.permission ?? props.type ?? 'unknown'),
    summary: summaryOf(props),
    created: new Date(now).toISOString(),
    expires: new Date(now + timeoutMs).toISOString(),
    pid: process.pid,
  };
  try {
    mkdirSync(pendingDir, { recursive: true, mode: 0o700 });
    chmodSync(pendingDir, 0o700);
    if (open.size === 0) sweep();
    const tmp = path.join(pendingDir, `.${id}.json.tmp`);
    writeFileSync(tmp, `${JSON.stringify(request)}\n`, { mode: 0o600 });
    renameSync(tmp, fileOf(id, 'json'));
  } catch {
    return; // no request file: the prompt is answered in the pane, as without mosaic
  }
  // After the timeout only the TUI's prompt is left: nobody waits for mosaic's answer any more.
  const timer = setTimeout(() => forget(id), timeoutMs);
  timer.unref?.();
  open.set(id, { sessionID: props.sessionID, timer, client });
  startWatching();
  checkDecisions();
}

/** Send the decision through opencode's own server API (in process: no port, no typing). */
async function reply(client, sessionID, id, decision) {
  const allow = decision.behavior === 'allow';
  // A rejection with a message lets the model go on with it; without one opencode stops the turn.
  const message =
    typeof decision.message === 'string' && decision.message.trim()
      ? decision.message.trim()
      : `The operator denied this through mosaic${typeof decision.by === 'string' && decision.by ? ` (${decision.by})` : ''}.`;
  try {
    const result = await client._client.post({
      url: '/permission/{requestID}/reply',
      path: { requestID: id },
      body: allow ? { reply: 'once' } : { reply: 'reject', message },
      headers: { 'Content-Type': 'application/json' },
    });
    if (result && result.response && result.response.ok) return true;
  } catch {
    // an opencode without this route: the older one below
  }
  try {
    const result = await client.postSessionIdPermissionsPermissionId({
      path: { id: sessionID, permissionID: id },
      body: { response: allow ? 'once' : 'reject' },
    });
    return Boolean(result && result.response && result.response.ok);
  } catch {
    return false;
  }
}

function checkDecisions() {
  for (const [id, entry] of open) {
    if (entry.answering) continue;
    let decision;
    try {
      decision = JSON.parse(readFileSync(fileOf(id, 'decision'), 'utf8'));
    } catch {
      continue; // none yet (or half-written: the rename makes it whole)
    }
    if (!decision || (decision.behavior !== 'allow' && decision.behavior !== 'deny')) {
      quietly(() => rmSync(fileOf(id, 'decision'), { force: true }));
      continue;
    }
    entry.answering = true;
    // Taken: the request goes now (`mosaic agent approve|deny` waits for that), the answer follows.
    forget(id);
    reply(entry.client, entry.sessionID, id, decision).catch(() => undefined);
  }
}

export const MosaicEvents = async (input) => {
  const client = input?.client;
  return {
    event: async ({ event }) => {
      const type = event?.type ?? '';
      limitEvent(type, event?.properties);
      // The session id lets a restart resume this conversation (`--session <id>`).
      if (type === 'session.created') {
        const info = event.properties?.info;
        const id = info && !info.parentID ? info.id : undefined; // a child session (a subagent's) is not the conversation
        report(['idle', 'session.created'], typeof id === 'string' ? JSON.stringify({ session_id: id }) : '');
      } else if (type === 'session.status') {
        const status = event.properties?.status?.type;
        if (status === 'busy' || status === 'idle') report([status, `session.status.${status}`]);
      } else if (type.startsWith('permission.') && !type.endsWith('replied')) {
        report(['waiting', type]);
        if ((type === 'permission.asked' || type === 'permission.updated') && client && event.properties) {
          quietly(() => asked(event.properties, client));
        }
      } else if (type === 'permission.replied') {
        report(['busy', type]);
        const id = event.properties?.requestID ?? event.properties?.permissionID;
        if (typeof id === 'string' && open.has(id)) quietly(() => forget(id));
      }
    },
    'chat.message': async (_input, output) => {
      report(['busy', '--ack', 'chat.message'], textOf(output?.parts));
    },
  };
};
