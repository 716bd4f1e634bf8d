import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { chromiumMissing, fileFleet, launchChromium, startServe, type FileFleet, type Serve } from './browser.js';
import { eventually, roster, type StatusRow } from './harness.js';

/*
 * `mosaic fleet serve` in a real browser (Debian's headless Chromium via playwright-core) against a
 * real fleet of stub agents on a private tmux socket: one fleet, one server and one browser for
 * the file. Every wait is a condition with a deadline, never a fixed sleep.
 */

// Long enough that "the body names no agent" means something.
const AGENTS = ['alpha', 'bravo', 'sendee', 'victim'] as const;
const [WATCHED, SECOND, SENDEE, VICTIM] = AGENTS;
const HOSTILE = 'it\'s "quoted" $(rm -rf /) `x` ; | & < > \\ \n second line ✓';

const missing = chromiumMissing();
// Under CI the browser must be there (.ci/run installs it): never skip, fail instead.
const skip = missing !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`serve.test.ts: skipped, ${missing}`);

const unique = (what: string): string => `${what}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

/** What the page's xterm holds, line by line (window.mosaicTerm is the Terminal instance). */
async function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    interface Line {
      translateToString(trim: boolean): string;
    }
    const term = (
      globalThis as unknown as { mosaicTerm: { buffer: { active: { length: number; getLine(i: number): Line | undefined } } } | null }
    ).mosaicTerm;
    if (!term) return '';
    const buffer = term.buffer.active;
    return Array.from({ length: buffer.length }, (_, i) => buffer.getLine(i)?.translateToString(true) ?? '').join('\n');
  });
}

/** The page's terminal size as xterm has it. */
const terminalSize = (page: Page): Promise<string> =>
  page.evaluate(() => {
    const term = (globalThis as unknown as { mosaicTerm: { cols: number; rows: number } | null }).mosaicTerm;
    return term ? `${term.cols}x${term.rows}` : '';
  });

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One plain HTTP request from node, headers exactly as given (no cookie jar, no implicit Origin). */
function http(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A WebSocket upgrade from node: the HTTP status it was refused with, or 101 when it was let in. */
function upgrade(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(101);
      socket.terminate();
    });
    socket.on('error', (error) => reject(error));
  });
}

describe.skipIf(skip)('mosaic fleet serve in a real browser (headless Chromium, stub agents, real tmux)', () => {
  let fleet: FileFleet | undefined;
  let serve: Serve | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const extraServers: Serve[] = [];
  const recordDir = (): string => path.join(fleet!.dir, 'record');

  const cli = (): FileFleet => fleet!;
  const stateCell = (p: Page, agent: string) => p.locator(`tr[data-agent="${agent}"] td[data-col="state"]`);
  /** The whole pane, scrollback included, wrapped lines joined: what tmux holds for the agent. */
  const paneText = (agent: string): string => cli().tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', `=${agent}:0.0`]).stdout;
  const acks = (agent: string): number => (paneText(agent).match(/\[stub\] ack seq=/g) ?? []).length;
  const records = async (): Promise<StatusRow[]> => cli().json<StatusRow[]>(['fleet', 'ps']);

  /** Click the agent's row and wait until its terminal shows a frame. */
  async function openAgent(p: Page, agent: string): Promise<void> {
    await p.locator(`tr[data-agent="${agent}"]`).click();
    await p.locator('#panel').waitFor({ state: 'visible', timeout: 5000 });
    await expect.poll(() => p.locator('#panel-title').textContent(), { timeout: 5000 }).toBe(agent);
    await p.locator('#term-status[data-state="live"]').waitFor({ timeout: 5000 });
    await expect.poll(() => terminalText(p), { timeout: 5000 }).toContain('stub>');
  }

  /** `agent send --verify` from the CLI; it must be accepted. */
  async function cliSend(agent: string, message: string): Promise<void> {
    const sent = await cli().mosaic(['agent', 'send', agent, '--verify', '--json', '-m', message]);
    expect(sent.status, sent.stderr).toBe(0);
    expect((JSON.parse(sent.stdout) as { status: string }).status).toBe('accepted');
  }

  beforeAll(async () => {
    fleet = fileFleet();
    mkdirSync(recordDir(), { recursive: true });
    const agents = AGENTS.map((name) =>
      name === SENDEE
        ? `  - {name: ${name}, runtime: stub, args: ["--record-dir", "${recordDir()}"]}\n`
        : `  - {name: ${name}, runtime: stub}\n`,
    ).join('');
    // max_crashes 0: the agent the test kills is given up on (failed) instead of restarted. The
    // restart policy is fleet-wide; no other agent crashes here.
    fleet.writeRoster(roster(fleet.socket, `defaults:\n  working_directory: work\nagents:\n${agents}`, 'restart:\n  max_crashes: 0\n'));
    const started = await fleet.mosaic(['fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);
    const running = AGENTS.map((a) => `${a}:running`).join(' ');
    await eventually(
      async () => (await records()).map((r) => `${r.agent}:${r.state}`).join(' ') === running || undefined,
      15_000,
      'every agent running',
    );
    serve = await startServe(fleet);
    context = await launchChromium(fleet.dir);
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(serve.url);
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
  });

  afterAll(async () => {
    const problems: string[] = [];
    await context?.close().catch((error: unknown) => problems.push(`closing the browser: ${String(error)}`));
    for (const server of [serve, ...extraServers]) {
      if (!server) continue;
      const code = await server.stop();
      if (code !== 0) problems.push(`fleet serve (pid ${server.pid}) exited ${code} on SIGTERM; stderr: ${server.stderr()}`);
      // It reports only where its token is: no failed fleet read, no error.
      const said = server
        .stderr()
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('token kept in '));
      if (said.length > 0) problems.push(`fleet serve (pid ${server.pid}) reported: ${said.join('\n')}`);
    }
    await fleet?.dispose();
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });

  it('shows one row per agent, each running, as fleet ps --json says', async () => {
    await expect
      .poll(() => page.locator('tr[data-agent]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-agent')).sort()), {
        timeout: 5000,
      })
      .toEqual([...AGENTS]);
    for (const agent of AGENTS) await expect.poll(() => stateCell(page, agent).textContent(), { timeout: 5000 }).toBe('running');
    expect((await records()).map((r) => r.state)).toEqual(AGENTS.map(() => 'running'));
  });

  it('an agent killed outside mosaic turns not-running within 2 s, without a reload, and then shows what fleet ps says', async () => {
    const victim = (await records()).find((r) => r.agent === VICTIM)!;
    expect(victim.pane_pid).toBeGreaterThan(0);
    expect(await stateCell(page, VICTIM).textContent()).toBe('running');
    // A mark on the window: a reload would lose it.
    await page.evaluate(() => {
      (globalThis as unknown as { mosaicTestMark?: boolean }).mosaicTestMark = true;
    });

    const killedAt = Date.now();
    process.kill(victim.pane_pid!, 'SIGKILL');
    await page.waitForFunction(
      (agent) => {
        const cell = (
          globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }
        ).document.querySelector(`tr[data-agent="${agent}"] td[data-col="state"]`);
        return cell !== null && cell.textContent !== 'running' && cell.textContent !== '';
      },
      VICTIM,
      { timeout: 2000, polling: 25 },
    );
    const seenAfterMs = Date.now() - killedAt;
    expect(seenAfterMs).toBeLessThanOrEqual(2000);
    console.log(`serve.test: ${VICTIM} shown as ${await stateCell(page, VICTIM).textContent()} ${seenAfterMs} ms after the kill`);

    // The supervisor settles it (restarting → failed: max_crashes 0); the page follows fleet ps.
    await expect
      .poll(
        async () => {
          const shown = await stateCell(page, VICTIM).textContent();
          const said = (await records()).find((r) => r.agent === VICTIM)!.state;
          return shown === said ? said : `page ${shown}, fleet ps ${said}`;
        },
        { timeout: 10_000 },
      )
      .toBe('failed');
    expect(await page.evaluate(() => (globalThis as unknown as { mosaicTestMark?: boolean }).mosaicTestMark)).toBe(true); // no reload
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('live');
  });

  it("shows an agent's pane text in its terminal", async () => {
    await openAgent(page, WATCHED);
    const marker = unique('pane-text');
    await cliSend(WATCHED, marker);
    await expect.poll(() => terminalText(page), { timeout: 5000 }).toContain(marker);
    // Rendered, not only buffered: xterm's DOM renderer has it in .xterm-rows.
    await expect.poll(() => page.locator('#terminal .xterm-rows').textContent(), { timeout: 5000 }).toContain(marker);
  });

  it('typing into the terminal never reaches the pane', async () => {
    await openAgent(page, WATCHED);
    const before = acks(WATCHED);
    const size = cli().tmux(['display-message', '-p', '-t', `=${WATCHED}:0.0`, '#{window_width}x#{window_height}']).stdout;
    const typed = unique('typed');
    await page.locator('#terminal .xterm').click();
    // The keys really go to the terminal: focus is inside it (xterm's input textarea).
    expect(await page.locator('#terminal :focus').count()).toBe(1);
    await page.keyboard.type(typed);
    await page.keyboard.press('Enter');
    // And below the page: whatever a client writes on the terminal socket is never read by the server.
    const viaSocket = unique('socket-typed');
    const socket = new WebSocket(`${serve!.origin.replace(/^http/, 'ws')}/api/agents/${WATCHED}/terminal`, {
      headers: { Origin: serve!.origin, Cookie: `mosaic_token_${new URL(serve!.origin).port}=${serve!.token}` },
    });
    const firstFrame = new Promise<string>((resolve, reject) => {
      socket.once('message', (data: Buffer) => resolve(data.toString('utf8')));
      socket.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    for (const frame of [
      `${viaSocket}\r`,
      JSON.stringify({ type: 'input', data: `${viaSocket}\r` }),
      JSON.stringify({ type: 'resize', cols: 20, rows: 5 }),
    ]) {
      socket.send(frame);
    }
    socket.send(Buffer.from(`${viaSocket}\r`));
    expect(JSON.parse(await firstFrame)).toMatchObject({ type: 'screen' });
    // A later message through the CLI, seen both in the pane and in the page, orders everything typed before it.
    const after = unique('after-typing');
    await cliSend(WATCHED, after);
    await expect.poll(() => paneText(WATCHED), { timeout: 5000 }).toContain(after);
    await expect.poll(() => terminalText(page), { timeout: 5000 }).toContain(after);
    expect(paneText(WATCHED)).not.toContain(typed);
    expect(await terminalText(page)).not.toContain(typed);
    expect(paneText(WATCHED)).not.toContain(viaSocket);
    expect(acks(WATCHED)).toBe(before + 1); // only the CLI's message was submitted
    expect(cli().tmux(['display-message', '-p', '-t', `=${WATCHED}:0.0`, '#{window_width}x#{window_height}']).stdout).toBe(size);
    socket.close();
  });

  it('the send box delivers a hostile multi-line message byte for byte', async () => {
    await openAgent(page, SENDEE);
    await expect(page.locator('#send-form').isVisible()).resolves.toBe(true);
    await page.locator('#send-message').fill(HOSTILE);
    expect(await page.locator('#send-message').inputValue()).toBe(HOSTILE);
    expect(await page.locator('#send-verify').isChecked()).toBe(true);
    const answered = page.waitForResponse((res) => new URL(res.url()).pathname === `/api/agents/${SENDEE}/send`, { timeout: 15_000 });
    await page.locator('#send-form button[type="submit"]').click();
    const response = await answered;
    expect(response.status()).toBe(200);
    const result = (await response.json()) as { status: string; send_id: string; bytes: number };
    expect(result.status).toBe('accepted');
    await expect.poll(() => page.locator('#send-verdict').getAttribute('data-status'), { timeout: 15_000 }).toBe('accepted');
    expect(await page.locator('#send-verdict').isVisible()).toBe(true);

    // What the stub received (--record-dir writes each message as it read it): the preamble and the body, exactly.
    const info = JSON.parse((await http(`${serve!.origin}/api/info`, { headers: { Authorization: `Bearer ${serve!.token}` } })).body) as {
      host: string;
    };
    const expected = Buffer.from(`[${info.host}:web -> ${SENDEE} #${result.send_id}] ${HOSTILE}`, 'utf8');
    expect(readdirSync(recordDir())).toEqual(['1.msg']);
    expect(readFileSync(path.join(recordDir(), '1.msg')).equals(expected)).toBe(true);
    expect(result.bytes).toBe(expected.length);
    // The stub's acknowledgement in the pane carries the same byte count and POSIX cksum.
    const cksum = spawnSync('cksum', { input: expected, encoding: 'utf8' }).stdout.split(' ')[0];
    expect(paneText(SENDEE)).toContain(`[stub] ack seq=1 bytes=${expected.length} cksum=${cksum}`);
    // And the text itself is on the pane's screen, and in the page's terminal.
    const [first, second] = HOSTILE.split('\n');
    expect(paneText(SENDEE)).toContain(first);
    expect(paneText(SENDEE)).toContain(second);
    await expect.poll(() => terminalText(page), { timeout: 5000 }).toContain(second);
  });

  /** A screenshot under the fleet's directory (removed with it), copied to $MOSAIC_TEST_ARTIFACTS when set. */
  async function saveScreenshot(p: Page, name: string): Promise<void> {
    const file = path.join(fleet!.dir, 'artifacts', name);
    mkdirSync(path.dirname(file), { recursive: true });
    await p.screenshot({ path: file, fullPage: true });
    expect(
      readFileSync(file)
        .subarray(0, 8)
        .equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    ).toBe(true);
    const keep = process.env.MOSAIC_TEST_ARTIFACTS;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      copyFileSync(file, path.join(keep, name));
    }
  }

  it('saves a screenshot of the dashboard with a terminal open', async () => {
    await openAgent(page, SENDEE);
    await saveScreenshot(page, 'serve-dashboard.png');
  });

  it("watching never changes an agent's window size; all pages share one control client", async () => {
    const windowSize = (agent: string): string =>
      cli()
        .tmux(['display-message', '-p', '-t', `=${agent}:0.0`, '#{window_width}x#{window_height}'])
        .stdout.trim();
    const sizes = () => ({ [WATCHED]: windowSize(WATCHED), [SECOND]: windowSize(SECOND) });
    const clients = (): string[] =>
      cli().tmux(['list-clients', '-F', '#{client_control_mode} #{client_flags} #{session_name}']).stdout.split('\n').filter(Boolean);
    const before = sizes();
    expect(before[WATCHED]).toMatch(/^\d+x\d+$/);
    const clientsBefore = clients();
    expect(clientsBefore.filter((c) => !c.startsWith('1 '))).toEqual([]); // no terminal client, only (maybe) the server's own

    const phone = await context!.newPage();
    const desktop = await context!.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await desktop.setViewportSize({ width: 1440, height: 900 });
      await phone.goto(`${serve!.origin}/#${WATCHED}`);
      await desktop.goto(`${serve!.origin}/#${SECOND}`);
      const marker = unique('watched');
      await cliSend(WATCHED, marker);
      await cliSend(SECOND, marker);
      await expect.poll(() => terminalText(phone), { timeout: 5000 }).toContain(marker);
      await expect.poll(() => terminalText(desktop), { timeout: 5000 }).toContain(marker);
      // The page shows the pane at the pane's size: a phone does not make tmux resize anything.
      expect(await terminalSize(phone)).toBe(before[WATCHED]);
      expect(await terminalSize(desktop)).toBe(before[SECOND]);
      await saveScreenshot(phone, 'serve-phone.png');
      const watching = clients();
      // Exactly one client for all watching (the server's control client), whatever the pages and panes.
      expect(watching.length, watching.join('\n')).toBe(1);
      expect(
        watching.every((c) => c.startsWith('1 ') && /\bread-only\b/.test(c) && /\bignore-size\b/.test(c)),
        watching.join('\n'),
      ).toBe(true);
      expect(sizes()).toEqual(before);

      // A second `fleet serve` on the same fleet shows the same pane without a control client of its
      // own: control clients that come and go together can crash tmux 3.3a (decision 019).
      const second = await startServe(cli());
      extraServers.push(second);
      const other = await context!.newPage();
      try {
        await other.goto(second.url);
        await openAgent(other, WATCHED);
        const again = unique('second-server');
        await cliSend(WATCHED, again);
        await expect.poll(() => terminalText(other), { timeout: 5000 }).toContain(again);
        await expect.poll(() => terminalText(phone), { timeout: 5000 }).toContain(again);
        const both = clients();
        expect(both.length, both.join('\n')).toBe(1);
      } finally {
        await other.close();
      }
    } finally {
      await phone.close();
      await desktop.close();
    }
    expect(sizes()).toEqual(before);
    expect(clients().length).toBeLessThanOrEqual(1);
  });

  it('refuses a missing or wrong token with 401 and no fleet data, on every path and on the terminal socket', async () => {
    // Its own server: the failures count against 127.0.0.1, which the browser uses too.
    const guard = await startServe(cli());
    extraServers.push(guard);
    const base = guard.origin;
    const refused = async (url: string, headers: Record<string, string> = {}): Promise<void> => {
      const answer = await http(url, { headers });
      expect(answer.status, `${url} ${JSON.stringify(headers)}`).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({ error: 'unauthorized' });
      for (const agent of AGENTS) expect(answer.body).not.toContain(agent);
      expect(answer.headers['set-cookie']).toBeUndefined();
    };
    await refused(`${base}/api/fleet`);
    await refused(`${base}/api/fleet`, { Authorization: `Bearer ${'0'.repeat(64)}` });
    await refused(`${base}/api/fleet`, { Cookie: `mosaic_token_${new URL(base).port}=${'f'.repeat(64)}` });
    await refused(`${base}/api/events`);
    await refused(`${base}/`);
    await refused(`${base}/?token=${'1'.repeat(64)}`);
    const terminal = `${base.replace(/^http/, 'ws')}/api/agents/${WATCHED}/terminal`;
    expect(await upgrade(terminal, { Origin: base })).toBe(401);
    // The right token does get in (7 failures so far, under the limit of 10).
    const fleetAnswer = await http(`${base}/api/fleet`, { headers: { Authorization: `Bearer ${guard.token}` } });
    expect(fleetAnswer.status).toBe(200);
    expect((JSON.parse(fleetAnswer.body) as { agent: string }[]).map((r) => r.agent).sort()).toEqual([...AGENTS]);
    expect(await upgrade(terminal, { Origin: base, Cookie: `mosaic_token_${new URL(base).port}=${guard.token}` })).toBe(101);
    // The 10th failure locks the address out for a minute, the right token included.
    for (let i = 0; i < 3; i += 1) await http(`${base}/api/fleet`);
    expect((await http(`${base}/api/fleet`, { headers: { Authorization: `Bearer ${guard.token}` } })).status).toBe(429);
  });

  it('refuses a POST from a foreign Origin, and a --read-only server refuses every POST and hides the send box', async () => {
    const base = serve!.origin;
    const cookie = `mosaic_token_${new URL(base).port}=${serve!.token}`;
    const post = (origin: string | undefined, url = `${base}/api/agents/${WATCHED}/send`) =>
      http(url, {
        method: 'POST',
        // The cookie is per port (two dashboards on one host must not sign each other out).
        headers: {
          Cookie: url.startsWith(base) ? cookie : `mosaic_token_${new URL(url).port}=${extraServers.at(-1)?.token ?? ''}`,
          'Content-Type': 'application/json',
          ...(origin === undefined ? {} : { Origin: origin }),
        },
        body: JSON.stringify({ message: unique('must-not-arrive') }),
      });
    const before = acks(WATCHED);
    expect((await post('http://evil.example')).status).toBe(403);
    expect((await post(`http://127.0.0.1.evil.example`)).status).toBe(403);
    expect((await post(undefined)).status).toBe(403); // a cookie without an Origin: fail closed
    expect(
      await upgrade(`${base.replace(/^http/, 'ws')}/api/agents/${WATCHED}/terminal`, { Origin: 'http://evil.example', Cookie: cookie }),
    ).toBe(403);

    const readOnly = await startServe(cli(), ['--read-only']);
    extraServers.push(readOnly);
    const bearerPost = await http(`${readOnly.origin}/api/agents/${WATCHED}/send`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${readOnly.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: unique('must-not-arrive') }),
    });
    expect(bearerPost.status).toBe(403);
    expect(bearerPost.body).toMatch(/read-only/);
    expect((await post(readOnly.origin, `${readOnly.origin}/api/agents/${WATCHED}/approve`)).status).toBe(403);

    const viewer = await context!.newPage();
    try {
      await viewer.goto(readOnly.url);
      await viewer.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
      await viewer.locator('#read-only-badge').waitFor({ state: 'visible', timeout: 5000 });
      await openAgent(viewer, WATCHED);
      expect(await viewer.locator('#send-form').isVisible()).toBe(false);
      expect(await viewer.locator('#send-message').isVisible()).toBe(false);
      // The page's own fetch, same origin and cookie: still 403.
      const status = await viewer.evaluate(async (agent) => {
        const res = await fetch(`/api/agents/${agent}/send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'from a read-only page' }),
        });
        return res.status;
      }, WATCHED);
      expect(status).toBe(403);
    } finally {
      await viewer.close();
    }
    expect(acks(WATCHED)).toBe(before); // nothing arrived
    expect(await readOnly.stop()).toBe(0);
  });
});
