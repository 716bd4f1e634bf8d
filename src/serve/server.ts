import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { UserError } from '../core/errors.js';
import type { TmuxClient } from '../tmux/client.js';
import type { Asset } from './assets.js';
import { credentialOf, FailedAuthLimiter, originAllowed, sessionCookie, tokenCookie, type Credential } from './auth.js';
import { TmuxControlClient } from './control-client.js';
import type { DashboardFleet } from './dashboard-fleet.js';
import { FleetFeed, type FeedEvent } from './fleet-feed.js';
import { HttpError, optionalString, readJsonBody, SECURITY_HEADERS, sendError, sendJson } from './http.js';
import { type AgentPane, PaneScreens, type ScreenEvent } from './pane-screens.js';
import { sameToken } from './token.js';

export interface ServeSettings {
  bind: string;
  port: number;
  token: string;
  readOnly: boolean;
  version: string;
  assets: Map<string, Asset>;
  fleet: DashboardFleet;
  /** The fleet's tmux client (the socket the control client attaches on). */
  tmux: TmuxClient;
  /** The fleet's run dir: one control client per socket across all mosaic processes (decision 019). */
  controlSlotDir?: string;
  /** Where the server reports what it could not do in the background (a failed fleet read). */
  log: (line: string) => void;
}

export interface RunningServer {
  /** The address pages open, without the token. */
  url: string;
  port: number;
  /** How many tmux processes the server itself started for watching panes (the control client). */
  controlClientsStarted: () => number;
  close: () => Promise<void>;
}

export const KEEPALIVE_MS = 15_000;

/**
 * A read of the fleet for a GET, which takes no input: what stops it (a roster made invalid or
 * removed while serving) is the server's problem, 500 with the error and its hint, never a 400.
 */
async function readFleet<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof UserError) throw new HttpError(500, error.message, error.hint);
    throw error;
  }
}

/** Why the server could not listen, in the operator's terms; anything unforeseen stays as it is (a bug). */
export function listenError(error: NodeJS.ErrnoException, bind: string, port: number): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new UserError(`port ${port} on ${bind} is in use`, { hint: 'give another with --port N (--port 0 picks a free one)' });
    case 'EADDRNOTAVAIL':
      return new UserError(`cannot bind ${bind}: no such address on this machine`, {
        hint: "give one of this machine's addresses with --host (`ip -brief address`), or leave the default 127.0.0.1",
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new UserError(`cannot bind ${bind}: the name does not resolve (${error.code})`, {
        hint: 'give an IP address of this machine with --host, or leave the default 127.0.0.1',
      });
    case 'EACCES':
      return new UserError(`port ${port} on ${bind} needs privileges this user does not have`, {
        hint: 'give a port from 1024 up with --port (--port 0 picks a free one)',
      });
    default:
      return error;
  }
}
export const PING_MS = 30_000;

const TERMINAL_PATH = /^\/api\/agents\/([^/]+)\/terminal$/;
const AGENT_ACTION = /^\/api\/agents\/([^/]+)\/(send|approve|deny)$/;
/** The API's read-only paths (`get` below): a POST to one is the wrong method (405), not a missing path. */
const READ_PATHS = new Set(['/api/info', '/api/fleet', '/api/pending', '/api/events']);

const agentName = (encoded: string): string => {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, 'the agent name in the path is not valid URL encoding');
  }
};

/** `fleet serve`'s HTTP server: the page, the JSON API, the fleet's SSE stream and read-only terminals. */
export async function startServer(settings: ServeSettings): Promise<RunningServer> {
  const { fleet, token } = settings;
  const limiter = new FailedAuthLimiter();
  const control = new TmuxControlClient(settings.tmux, () => fleet.controlSession(), {
    ...(settings.controlSlotDir !== undefined ? { slotDir: settings.controlSlotDir } : {}),
  });
  const screens = new PaneScreens((args) => control.run(args));
  const feed = new FleetFeed(
    () => fleet.snapshot(),
    (error) => settings.log(`reading the fleet failed: ${error instanceof Error ? error.message : String(error)}`),
  );
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  let cookieName = tokenCookie(settings.port); // the real port once listening (--port 0)

  /** The request's credential, or undefined after answering it (429 locked out, 401 no or wrong token). */
  const admit = (request: IncomingMessage): { credential?: Credential; status?: number } => {
    const address = request.socket.remoteAddress ?? 'unknown';
    if (limiter.locked(address)) return { status: 429 };
    const credential = credentialOf(request, token, cookieName);
    if (credential) return { credential };
    limiter.fail(address);
    return { status: 401 };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://mosaic.invalid');
    const method = request.method ?? 'GET';
    // The printed URL: trade the token for the cookie, then drop it from the address bar.
    if (url.pathname === '/' && url.searchParams.has('token') && method === 'GET') {
      if (!limiter.locked(request.socket.remoteAddress ?? 'unknown') && sameToken(token, url.searchParams.get('token') ?? '')) {
        response.writeHead(303, { ...SECURITY_HEADERS, Location: '/', 'Set-Cookie': sessionCookie(cookieName, token) });
        response.end();
        return;
      }
    }
    const { credential, status } = admit(request);
    if (!credential) {
      sendJson(response, status ?? 401, { error: status === 429 ? 'too many failed attempts; wait a minute' : 'unauthorized' });
      return;
    }
    if (method === 'POST') {
      if (!originAllowed(request, credential)) throw new HttpError(403, 'the request does not come from this dashboard (Origin)');
      if (settings.readOnly) throw new HttpError(403, 'this dashboard is read-only (mosaic fleet serve --read-only)');
      await post(url.pathname, request, response);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not allowed here`);
    await get(url.pathname, request, response);
  };

  const get = async (pathname: string, request: IncomingMessage, response: ServerResponse): Promise<void> => {
    switch (pathname) {
      case '/api/info':
        return sendJson(response, 200, {
          ...(await readFleet(() => fleet.info())),
          read_only: settings.readOnly,
          version: settings.version,
        });
      case '/api/fleet':
        return sendJson(response, 200, await readFleet(() => fleet.records()));
      case '/api/pending':
        return sendJson(response, 200, await readFleet(() => fleet.pending()));
      case '/api/events':
        return events(request, response);
    }
    if (AGENT_ACTION.test(pathname)) throw new HttpError(405, 'use POST');
    const asset = settings.assets.get(pathname);
    if (!asset) throw new HttpError(404, `nothing at ${pathname}`);
    response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': asset.type, 'Content-Length': asset.body.length });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
  };

  const post = async (pathname: string, request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const match = AGENT_ACTION.exec(pathname);
    if (!match && READ_PATHS.has(pathname)) throw new HttpError(405, 'use GET');
    if (!match) throw new HttpError(pathname.startsWith('/api/') ? 404 : 405, `nothing to POST at ${pathname}`);
    const name = agentName(match[1]!);
    const body = await readJsonBody(request);
    if (match[2] === 'send') {
      const message = body.message;
      if (typeof message !== 'string') throw new HttpError(400, '"message" must be a string');
      const verify = body.verify ?? true;
      if (typeof verify !== 'boolean') throw new HttpError(400, '"verify" must be true or false');
      return sendJson(response, 200, await fleet.send(name, message, verify));
    }
    const decision = match[2] === 'approve' ? 'allow' : 'deny';
    return sendJson(response, 200, await fleet.answer(name, decision, optionalString(body, 'id'), optionalString(body, 'message')));
  };

  const events = (request: IncomingMessage, response: ServerResponse): void => {
    response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    response.write('retry: 1000\n\n');
    const write = (event: FeedEvent): void => {
      response.write(`id: ${event.id}\nevent: fleet\ndata: ${JSON.stringify(event.snapshot)}\n\n`);
    };
    const unsubscribe = feed.subscribe(write);
    // Subscribing to an idle feed starts a fresh read (which will arrive); a running feed has a current event.
    const current = feed.current;
    if (current && current.id !== request.headers['last-event-id']) write(current);
    const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
    request.socket.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
    });
  };

  const terminal = async (socket: WebSocket, name: string): Promise<void> => {
    const send = (event: ScreenEvent): void => socket.send(JSON.stringify(event));
    let pane: AgentPane;
    try {
      pane = await fleet.paneOf(name);
    } catch (error) {
      send({ type: 'gone', reason: error instanceof Error ? error.message : String(error) });
      socket.close(4004, 'unknown agent');
      return;
    }
    if (socket.readyState !== socket.OPEN) return;
    // Read-only: what the page sends is never read, so keystrokes can never reach the pane.
    const stop = screens.watch(pane, (event) => {
      send(event);
      if (event.type === 'gone') socket.close(4001, 'agent not running');
    });
    let alive = true;
    socket.on('pong', () => {
      alive = true;
    });
    const pinger = setInterval(() => {
      if (!alive) socket.terminate(); // no pong for a whole interval: the page is gone
      alive = false;
      socket.ping();
    }, PING_MS);
    socket.on('close', () => {
      clearInterval(pinger);
      stop();
    });
  };

  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const match = TERMINAL_PATH.exec(new URL(request.url ?? '/', 'http://mosaic.invalid').pathname);
    const { credential, status } = admit(request);
    if (!credential) return refuse(status ?? 401, status === 429 ? 'Too Many Requests' : 'Unauthorized');
    if (!originAllowed(request, credential)) return refuse(403, 'Forbidden');
    if (!match) return refuse(404, 'Not Found');
    let name: string;
    try {
      name = agentName(match[1]!);
    } catch {
      return refuse(400, 'Bad Request');
    }
    sockets.handleUpgrade(request, socket, head, (ws) => void terminal(ws, name));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => sendError(response, error));
  });
  server.on('upgrade', upgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, settings.bind, settings.port)));
    server.listen(settings.port, settings.bind, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  cookieName = tokenCookie(port);
  const hostPart = settings.bind.includes(':') ? `[${settings.bind}]` : settings.bind;
  return {
    url: `http://${hostPart}:${port}/`,
    port,
    controlClientsStarted: () => control.spawned,
    close: async () => {
      feed.close();
      screens.close();
      control.close();
      for (const client of sockets.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
