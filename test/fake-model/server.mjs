#!/usr/bin/env node
// A fake model server for end-to-end tests of the real runtimes: OpenAI chat completions, the OpenAI
// Responses API and the Anthropic Messages API, streaming and not, with scripted replies.
// Loopback only and bounded (body size, concurrent replies, log length). Plain node:http, no dependencies.
// Library: `startFakeModel(options)`. CLI: `node test/fake-model/server.mjs [--port N] [--log file.jsonl]`.
import { appendFileSync, realpathSync } from 'node:fs';
import http from 'node:http';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { tokens } from './chunks.mjs';
import { parseRequest } from './parse.mjs';
import { isTitleRequest, planReply } from './script.mjs';
import { chatBody, chatFrames } from './wire-chat.mjs';
import { limitResponse, usageHeaders } from './wire-limit.mjs';
import { messagesBody, messagesFrames } from './wire-messages.mjs';
import { responsesBody, responsesFrames } from './wire-responses.mjs';

export { PERMISSION_COMMAND, SHELL_TOOLS } from './script.mjs';

const HOST = '127.0.0.1';
const LOGGED_TEXT_MAX = 2000;

const DEFAULTS = {
  port: 0,
  maxBodyBytes: 8 * 1024 * 1024,
  maxConcurrent: 32,
  maxLogEntries: 1000,
  logFile: undefined,
  logBodies: false,
  rules: [],
  builtinRules: true,
  slowMs: 8000,
  titleReply: 'Fake title',
  models: ['fake-model'],
};

const WIRES = {
  chat: { frames: chatFrames, body: chatBody },
  responses: { frames: responsesFrames, body: responsesBody },
  messages: { frames: messagesFrames, body: messagesBody },
};

const MODEL_ROUTES = { '/v1/chat/completions': 'chat', '/v1/responses': 'responses', '/v1/messages': 'messages' };

/** One error shape that both SDK families read: Anthropic's `type: "error"` and OpenAI's `error.message`. */
function errorBody(type, message) {
  return { type: 'error', error: { type, message, code: type } };
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Reads the body up to `max` bytes. Past the bound it stops keeping data but goes on draining (up to a hard cap)
 * so the client is still reading when the 413 arrives instead of seeing a reset connection.
 */
function readBody(req, max) {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    let size = 0;
    let chunks = declared > max ? null : [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (chunks && size > max) chunks = null;
      if (chunks) chunks.push(chunk);
      else if (size > max * 8) req.destroy();
    });
    req.on('end', () => resolve(chunks ? { body: Buffer.concat(chunks) } : { tooLarge: true }));
    req.on('error', () => resolve({ aborted: true }));
    req.on('close', () => resolve({ aborted: true }));
  });
}

function drain(req) {
  return new Promise((resolve) => {
    req.on('end', resolve);
    req.on('close', resolve);
    req.resume();
  });
}

/** A cancellable wait: a reply's timers end at once when its client goes away or the server closes. */
function sleep(ms, flow) {
  if (!ms || flow.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      flow.cancels.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    flow.cancels.add(done);
  });
}

function hold(promise, flow) {
  if (!promise || flow.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      flow.cancels.delete(done);
      resolve();
    };
    flow.cancels.add(done);
    Promise.resolve(promise).then(done, done);
  });
}

function abort(flow) {
  flow.aborted = true;
  for (const cancel of [...flow.cancels]) cancel();
}

function writeFrame(res, frame) {
  const data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data);
  res.write(frame.event ? `event: ${frame.event}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
}

/** Writes the frames, spreading the delta frames evenly over `streamMs` (the first delta goes out at once). */
async function streamFrames(res, frames, plan, flow, headers = {}) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  const deltas = frames.filter((f) => f.delta).length;
  const step = plan.streamMs / Math.max(1, deltas);
  if (deltas === 0) await sleep(plan.streamMs, flow);
  let seen = 0;
  for (const frame of frames) {
    if (frame.delta || (deltas > 0 && seen === deltas)) {
      if (seen > 0) await sleep(step, flow);
      seen += 1; // past the last delta this waits once more, then never again
    }
    if (flow.aborted) return;
    writeFrame(res, frame);
  }
  res.end();
}

/**
 * @param {import('./server.d.mts').FakeModelOptions} [options]
 * @returns {Promise<import('./server.d.mts').FakeModel>}
 */
export async function startFakeModel(options = {}) {
  if ('host' in options && options.host !== HOST) throw new Error(`the fake model binds ${HOST} only`);
  const opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (opts.logFile) appendFileSync(opts.logFile, ''); // a bad path fails here, not on the first request
  const requests = [];
  const rules = [...opts.rules];
  const watchers = new Set();
  const flows = new Set();
  let seq = 0;
  let active = 0;
  let closing;

  function record(entry) {
    requests.push(entry);
    if (requests.length > opts.maxLogEntries) requests.splice(0, requests.length - opts.maxLogEntries);
    if (opts.logFile) appendFileSync(opts.logFile, `${JSON.stringify(entry)}\n`);
    for (const watcher of [...watchers]) watcher(entry);
  }

  function entryFor(req, url, status, fields = {}) {
    return {
      ts: new Date().toISOString(),
      method: req.method ?? '',
      path: url.pathname,
      query: url.search,
      status,
      model: '',
      stream: false,
      lastUserText: '',
      isTitle: false,
      toolNames: [],
      ...fields,
    };
  }

  async function handleModel(req, res, url, api, flow) {
    // Counted from the first byte, so bodies being uploaded are bounded too.
    if (active >= opts.maxConcurrent) {
      await drain(req);
      record(entryFor(req, url, 429));
      return sendJson(res, 429, errorBody('rate_limit_error', `more than ${opts.maxConcurrent} concurrent replies`), {
        'retry-after': '1',
      });
    }
    active += 1;
    res.on('close', () => (active -= 1));
    const read = await readBody(req, opts.maxBodyBytes);
    if (read.aborted) return;
    if (read.tooLarge) {
      record(entryFor(req, url, 413));
      return sendJson(res, 413, errorBody('request_too_large', `request body exceeds ${opts.maxBodyBytes} bytes`), { connection: 'close' });
    }
    let body;
    try {
      body = JSON.parse(read.body.toString('utf8'));
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      record(entryFor(req, url, 400));
      return sendJson(res, 400, errorBody('invalid_request_error', 'body must be a JSON object'));
    }
    const request = parseRequest(api, body);
    seq += 1;
    const plan = planReply(request, opts, rules, new Date());
    record(
      entryFor(req, url, plan.kind === 'limit' ? 429 : 200, {
        api,
        model: request.model,
        stream: request.stream,
        lastUserText: request.lastUserText.slice(0, LOGGED_TEXT_MAX),
        isTitle: plan.kind === 'title',
        toolNames: request.tools.map((t) => t.name),
        rule: plan.rule,
        reply: plan.kind,
        ...(plan.tool ? { toolCall: { name: plan.tool.name, arguments: plan.tool.arguments } } : {}),
        ...(plan.limit ? { limit: { kind: plan.limit.kind, resetsAt: plan.limit.resetsAt.toISOString() } } : {}),
        ...(opts.logBodies ? { body } : {}),
      }),
    );

    const ctx = {
      seq,
      model: request.model || opts.models[0],
      created: Math.floor(Date.now() / 1000),
      inputTokens: tokens(read.body.toString('utf8')),
      includeUsage: body.stream_options?.include_usage === true,
    };
    await sleep(plan.delayMs, flow);
    await hold(plan.holdUntil, flow);
    if (flow.aborted) return;
    if (plan.kind === 'limit') {
      const limited = limitResponse(api, plan.limit, new Date());
      return sendJson(res, limited.status, limited.body, limited.headers);
    }
    const wire = WIRES[api];
    const headers = plan.usage ? usageHeaders(api, plan.usage) : {};
    if (request.stream) return streamFrames(res, wire.frames(plan, ctx), plan, flow, headers);
    await sleep(plan.streamMs, flow);
    if (!flow.aborted) sendJson(res, 200, wire.body(plan, ctx), headers);
  }

  async function handleCountTokens(req, res, url) {
    const read = await readBody(req, opts.maxBodyBytes);
    if (read.aborted) return;
    if (read.tooLarge) {
      record(entryFor(req, url, 413));
      return sendJson(res, 413, errorBody('request_too_large', `request body exceeds ${opts.maxBodyBytes} bytes`), { connection: 'close' });
    }
    let body = {};
    try {
      body = JSON.parse(read.body.toString('utf8') || '{}');
    } catch {
      record(entryFor(req, url, 400));
      return sendJson(res, 400, errorBody('invalid_request_error', 'body must be JSON'));
    }
    const request = parseRequest('messages', body ?? {});
    record(
      entryFor(req, url, 200, {
        api: 'count_tokens',
        model: request.model,
        lastUserText: request.lastUserText.slice(0, LOGGED_TEXT_MAX),
        isTitle: isTitleRequest(request),
        toolNames: request.tools.map((t) => t.name),
      }),
    );
    sendJson(res, 200, { input_tokens: tokens(read.body.toString('utf8')) });
  }

  function handleModels(req, res, url) {
    record(entryFor(req, url, 200, { api: 'models' }));
    // One list readable as OpenAI's (object/data/id/owned_by) and Anthropic's (type/display_name/has_more).
    const data = opts.models.map((id) => ({
      id,
      object: 'model',
      created: 0,
      owned_by: 'mosaic-fake',
      type: 'model',
      display_name: id,
      created_at: '1970-01-01T00:00:00Z',
    }));
    sendJson(res, 200, { object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  }

  async function route(req, res) {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const flow = { aborted: false, cancels: new Set() };
    flows.add(flow);
    res.on('close', () => {
      flows.delete(flow);
      if (!res.writableFinished) abort(flow);
    });
    if (closing) return sendJson(res, 503, errorBody('overloaded_error', 'the fake model is shutting down'), { connection: 'close' });

    const method = req.method ?? 'GET';
    const api = MODEL_ROUTES[url.pathname];
    if (api && method === 'POST') return handleModel(req, res, url, api, flow);
    if (url.pathname === '/v1/messages/count_tokens' && method === 'POST') return handleCountTokens(req, res, url);
    if (url.pathname === '/v1/models' && method === 'GET') return handleModels(req, res, url);
    if (url.pathname === '/' && (method === 'GET' || method === 'HEAD')) {
      record(entryFor(req, url, 200, { api: 'root' }));
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
      return res.end(method === 'HEAD' ? undefined : 'ok\n');
    }
    req.resume();
    const known = Boolean(api) || ['/v1/messages/count_tokens', '/v1/models', '/'].includes(url.pathname);
    const status = known ? 405 : 404;
    record(entryFor(req, url, status));
    sendJson(res, status, errorBody(known ? 'method_not_allowed' : 'not_found_error', `${method} ${url.pathname} is not served here`));
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, errorBody('api_error', String(error?.message ?? error)));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 2000;

  function waitForRequest(predicate, timeoutMs = 15_000) {
    const found = requests.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const watcher = (entry) => {
        if (!predicate(entry)) return;
        clearTimeout(timer);
        watchers.delete(watcher);
        resolve(entry);
      };
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        const seen = requests.slice(-5).map((e) => `${e.method} ${e.path} ${e.status} ${JSON.stringify(e.lastUserText)}`);
        reject(new Error(`fake model: no matching request within ${timeoutMs} ms; last seen: ${seen.join(' | ') || 'none'}`));
      }, timeoutMs);
      watchers.add(watcher);
    });
  }

  function close() {
    if (!closing) {
      closing = new Promise((resolve) => {
        server.close(() => resolve());
        for (const flow of flows) abort(flow);
        server.closeAllConnections();
      });
    }
    return closing;
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, HOST, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      resolve({ url: `http://${HOST}:${port}`, port, host: HOST, requests, rules, waitForRequest, close });
    });
  });
}

function parseArgs(argv) {
  const out = { port: 0, logFile: undefined, logBodies: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--port') out.port = Number(argv[++i]);
    else if (arg === '--log') out.logFile = argv[++i];
    else if (arg === '--log-bodies') out.logBodies = true;
    else throw new Error(`unknown argument ${arg}; usage: server.mjs [--port N] [--log file.jsonl] [--log-bodies]`);
    if (Number.isNaN(out.port) || (arg === '--log' && !out.logFile)) throw new Error(`bad value for ${arg}`);
  }
  return out;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exitCode = 2;
    return;
  }
  const model = await startFakeModel(args);
  console.log(model.url);
  const stop = () => model.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function invokedDirectly() {
  try {
    return Boolean(process.argv[1]) && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) await main();
