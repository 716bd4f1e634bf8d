import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCommand } from '../system/runner.js';
import { TmuxClient } from '../tmux/client.js';
import type { DashboardFleet } from './dashboard-fleet.js';
import type { FleetSnapshot } from './fleet-feed.js';
import { HttpError } from './http.js';
import { listenError, startServer, type RunningServer } from './server.js';
import { UserError } from '../core/errors.js';

const TOKEN = 'a'.repeat(64);

/** The services behind the server, faked: what was sent, and a fleet whose state the test sets. */
function fakeFleet() {
  const sent: { name: string; message: string; verify: boolean }[] = [];
  const state = { agentState: 'running', broken: false };
  const read = <T>(value: () => T) => {
    if (state.broken) throw new UserError('roster r.yaml is invalid (1 problem)', { hint: 'fix the roster' });
    return value();
  };
  const snapshot = (): FleetSnapshot =>
    ({
      tenant_id: 't',
      host: 'h',
      socket: 's',
      supervisor: 'builtin',
      systemd_error: null,
      holder: 'alive',
      records: [{ agent: 'secret-agent-name', state: state.agentState, idle_seconds: 0, heartbeat: { age_seconds: 0 } }],
      pending: [],
    }) as unknown as FleetSnapshot;
  const fleet = {
    snapshot: async () => snapshot(),
    records: async () => read(() => snapshot().records),
    pending: async () => read(() => []),
    info: async () => read(() => ({ tenant_id: 't', host: 'h', socket: 's', supervisor: 'builtin' })),
    paneOf: async (name: string) => {
      if (name !== 'secret-agent-name') throw new HttpError(404, `no agent "${name}"`);
      return { session: name, agent: name };
    },
    send: async (name: string, message: string, verify: boolean) => {
      if (name !== 'secret-agent-name') throw new HttpError(404, `no agent "${name}"`);
      sent.push({ name, message, verify });
      return { agent: name, status: 'accepted' };
    },
    answer: async () => ({}),
    controlSession: async () => undefined,
  } as unknown as DashboardFleet;
  return { fleet, sent, state };
}

const servers: RunningServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(options: { readOnly?: boolean } = {}) {
  const fake = fakeFleet();
  const server = await startServer({
    bind: '127.0.0.1',
    port: 0,
    token: TOKEN,
    readOnly: Boolean(options.readOnly),
    version: '0.0.0-test',
    assets: new Map([['/', { type: 'text/html; charset=utf-8', body: Buffer.from('<h1>page</h1>') }]]),
    fleet: fake.fleet,
    tmux: new TmuxClient({ socket: 'unused-by-these-tests', runner: runCommand, env: {} }),
    log: () => undefined,
  });
  servers.push(server);
  return { ...fake, server, origin: `http://127.0.0.1:${server.port}`, cookie: { Cookie: `mosaic_token_${server.port}=${TOKEN}` } };
}

const bearer = { Authorization: `Bearer ${TOKEN}` };

async function post(url: string, headers: Record<string, string>, body: string, type = 'application/json') {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': type, ...headers }, body });
  return { status: response.status, body: await response.text() };
}

describe('fleet serve: authentication', () => {
  it('answers 401 with no data to a missing or wrong token, on the page, the API, the feed and the assets', async () => {
    const { origin } = await serve();
    let failures = 0;
    for (const path of ['/', '/api/fleet', '/api/events', '/api/pending', '/api/info', '/nothing']) {
      for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Cookie: 'mosaic_token_1=wrong' }] as Record<string, string>[]) {
        const response = await fetch(origin + path, { headers });
        failures += 1;
        // The 11th failure from one address and after: locked out (429), still without data.
        expect([response.status, await response.text()]).toEqual(
          failures <= 10 ? [401, '{"error":"unauthorized"}'] : [429, '{"error":"too many failed attempts; wait a minute"}'],
        );
      }
    }
  });

  it('trades the URL token for an HttpOnly SameSite=Strict cookie and drops it from the address', async () => {
    const { origin, cookie } = await serve();
    const good = await fetch(`${origin}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/');
    expect(good.headers.get('set-cookie')).toBe(`mosaic_token_${new URL(origin).port}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`);
    expect(good.headers.get('referrer-policy')).toBe('no-referrer');
    const bad = await fetch(`${origin}/?token=${'b'.repeat(64)}`, { redirect: 'manual' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const page = await fetch(`${origin}/`, { headers: cookie });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<h1>page</h1>');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const api = await fetch(`${origin}/api/fleet`, { headers: bearer });
    expect(await api.json()).toEqual([expect.objectContaining({ agent: 'secret-agent-name' })]);
  });

  it('locks an address out after 10 failures in a minute, even for the right token', async () => {
    const { origin } = await serve();
    for (let i = 0; i < 10; i++)
      expect((await fetch(`${origin}/api/fleet`, { headers: { Authorization: `Bearer x${i}` } })).status).toBe(401);
    const locked = await fetch(`${origin}/api/fleet`, { headers: bearer });
    expect(locked.status).toBe(429);
    expect(await locked.text()).not.toContain('secret-agent-name');
  });
});

describe('fleet serve: changes', () => {
  it('takes a POST with the cookie only from its own Origin, and with the Bearer header also without one', async () => {
    const { origin, sent, cookie } = await serve();
    const url = `${origin}/api/agents/secret-agent-name/send`;
    const message = `it's "q" $(x) \`y\` ; | \\ \n second ✓`;
    const body = JSON.stringify({ message });
    expect((await post(url, cookie, body)).status).toBe(403);
    expect((await post(url, { ...cookie, Origin: 'http://evil.example' }, body)).status).toBe(403);
    expect((await post(url, { ...bearer, Origin: 'http://evil.example' }, body)).status).toBe(403);
    expect(sent).toEqual([]);
    const own = await post(url, { ...cookie, Origin: origin }, body);
    expect(own).toEqual({ status: 200, body: '{"agent":"secret-agent-name","status":"accepted"}' });
    expect((await post(url, bearer, JSON.stringify({ message: 'two', verify: false }))).status).toBe(200);
    expect(sent).toEqual([
      { name: 'secret-agent-name', message, verify: true },
      { name: 'secret-agent-name', message: 'two', verify: false },
    ]);
  });

  it('a roster broken while serving: the reads answer 500 with the error and its hint, never 400 (the GET was fine)', async () => {
    const { origin, state } = await serve();
    state.broken = true;
    for (const path of ['/api/info', '/api/fleet', '/api/pending']) {
      const response = await fetch(`${origin}${path}`, { headers: bearer });
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: 'roster r.yaml is invalid (1 problem)', hint: 'fix the roster' });
    }
  });

  it('refuses bad bodies, unknown agents and paths with the documented codes, and every POST when read-only', async () => {
    const { origin, sent } = await serve();
    const url = `${origin}/api/agents/secret-agent-name/send`;
    expect((await post(url, bearer, '{not json')).status).toBe(400);
    expect((await post(url, bearer, '[]')).status).toBe(400);
    expect((await post(url, bearer, JSON.stringify({ message: 7 }))).status).toBe(400);
    expect((await post(url, bearer, JSON.stringify({ message: 'x', verify: 'yes' }))).status).toBe(400);
    expect((await post(url, bearer, 'message=x', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await post(url, bearer, JSON.stringify({ message: 'x'.repeat(1024 * 1024 + 1) }))).status).toBe(413);
    expect(await post(`${origin}/api/agents/nobody/send`, bearer, JSON.stringify({ message: 'x' }))).toEqual({
      status: 404,
      body: '{"error":"no agent \\"nobody\\""}',
    });
    expect((await post(`${origin}/api/other`, bearer, '{}')).status).toBe(404);
    for (const path of ['/api/info', '/api/fleet', '/api/pending', '/api/events']) {
      expect(await post(`${origin}${path}`, bearer, '{}')).toEqual({ status: 405, body: '{"error":"use GET"}' });
    }
    expect((await fetch(url, { headers: bearer })).status).toBe(405);
    expect((await fetch(`${origin}/api/fleet`, { method: 'DELETE', headers: bearer })).status).toBe(405);
    expect(sent).toEqual([]);

    const readOnly = await serve({ readOnly: true });
    const refused = await post(`${readOnly.origin}/api/agents/secret-agent-name/send`, bearer, JSON.stringify({ message: 'x' }));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/read-only/);
    expect(readOnly.sent).toEqual([]);
    expect(await (await fetch(`${readOnly.origin}/api/info`, { headers: bearer })).json()).toMatchObject({ read_only: true });
  });
});

/** Read server-sent events until `enough` says stop; returns them with the headers. */
function readEvents(url: string, headers: Record<string, string>, enough: (events: { id: string; data: FleetSnapshot }[]) => boolean) {
  return new Promise<{ events: { id: string; data: FleetSnapshot }[]; type: string }>((resolve, reject) => {
    const req = httpRequest(url, { headers }, (response) => {
      let buffer = '';
      const events: { id: string; data: FleetSnapshot }[] = [];
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id && data) events.push({ id, data: JSON.parse(data) as FleetSnapshot });
          if (enough(events)) {
            req.destroy();
            resolve({ events, type: String(response.headers['content-type']) });
          }
        }
      });
    });
    req.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
    req.end();
  });
}

describe('fleet serve: the event stream', () => {
  it('sends the fleet at once, then only changes; a page coming back with the newest id gets no repeat', async () => {
    const { origin, state, cookie } = await serve();
    const first = await readEvents(`${origin}/api/events`, cookie, (events) => events.length === 1);
    expect(first.type).toMatch(/^text\/event-stream/);
    expect(first.events[0]!.data.records[0]!.state).toBe('running');
    // Reconnect with the newest id, then change the fleet: the first event that arrives is the change.
    const again = readEvents(`${origin}/api/events`, { ...cookie, 'Last-Event-ID': first.events[0]!.id }, (events) => events.length === 1);
    state.agentState = 'dead';
    const resumed = await again;
    expect(resumed.events[0]!.id).not.toBe(first.events[0]!.id);
    expect(resumed.events[0]!.data.records[0]!.state).toBe('dead');
  });
});

describe('fleet serve: terminal sockets', () => {
  const upgrade = (url: string, headers: Record<string, string>) =>
    new Promise<number | string>((resolve) => {
      const socket = new WebSocket(url, { headers });
      socket.on('unexpected-response', (_req, response) => resolve(response.statusCode ?? 0));
      socket.on('message', (data: Buffer) => {
        resolve(String(data));
        socket.close();
      });
      socket.on('error', () => undefined);
    });

  it('refuses an upgrade without the token or from another origin, and says why an agent cannot be watched', async () => {
    const { origin, cookie } = await serve();
    const ws = `${origin.replace('http', 'ws')}/api/agents/secret-agent-name/terminal`;
    expect(await upgrade(ws, { Origin: origin })).toBe(401);
    expect(await upgrade(ws, { ...cookie, Origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade(ws, cookie)).toBe(403);
    expect(await upgrade(`${origin.replace('http', 'ws')}/api/elsewhere`, { ...cookie, Origin: origin })).toBe(404);
    expect(
      JSON.parse(String(await upgrade(`${origin.replace('http', 'ws')}/api/agents/nobody/terminal`, { ...cookie, Origin: origin }))),
    ).toEqual({
      type: 'gone',
      reason: 'no agent "nobody"',
    });
    // No session to attach the control client to: the page is told, not left waiting.
    expect(JSON.parse(String(await upgrade(ws, { ...cookie, Origin: origin })))).toMatchObject({
      type: 'gone',
      reason: expect.stringMatching(/no tmux session/),
    });
  });
});

describe('fleet serve: cannot listen', () => {
  const failure = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`listen ${code}`), { code });

  it('a --host that does not resolve, an address not here, a port in use or privileged: user errors that say what to give', () => {
    const unresolved = listenError(failure('ENOTFOUND'), 'nonexistent.invalid', 0);
    expect(unresolved).toBeInstanceOf(UserError);
    expect(unresolved.message).toBe('cannot bind nonexistent.invalid: the name does not resolve (ENOTFOUND)');
    expect(listenError(failure('EAI_AGAIN'), 'flaky.example', 0)).toBeInstanceOf(UserError);
    expect(listenError(failure('EADDRNOTAVAIL'), '10.255.255.1', 7420).message).toBe(
      'cannot bind 10.255.255.1: no such address on this machine',
    );
    expect(listenError(failure('EADDRINUSE'), '127.0.0.1', 7420).message).toBe('port 7420 on 127.0.0.1 is in use');
    expect(listenError(failure('EACCES'), '127.0.0.1', 80)).toMatchObject({
      message: 'port 80 on 127.0.0.1 needs privileges this user does not have',
    });
    for (const code of ['ENOTFOUND', 'EADDRNOTAVAIL', 'EADDRINUSE', 'EACCES'])
      expect((listenError(failure(code), 'h', 1) as UserError).hint).toMatch(/--(host|port)/);
    const other = failure('EMFILE');
    expect(listenError(other, '127.0.0.1', 7420)).toBe(other);
  });
});
