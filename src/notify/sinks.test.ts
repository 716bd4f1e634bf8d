import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../system/runner.js';
import { notificationEvent } from './event.js';
import { NotificationGate } from './gate.js';
import { deliver, desktopText } from './sinks.js';
import type { NotificationEvent, NotifySink } from './types.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-notify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Quotes, command substitutions, backticks, a `;`, newlines, a backslash, $VARS and non-ASCII. */
const hostile = `he said "hi" 'there' $(touch ${dir}/pwned1) \`touch ${dir}/pwned2\`; touch ${dir}/pwned3\nline 2\r\n\\ $HOME %s ä 🎉`;
const pwned = (): string[] => ['pwned1', 'pwned2', 'pwned3'].filter((name) => existsSync(path.join(dir, name)));

const event = (over: Partial<NotificationEvent> = {}): NotificationEvent => ({
  version: 1,
  fleet: 'mosaic-test',
  host: 'box',
  agent: 'coder0',
  runtime: 'claude',
  state: 'permission',
  detail: hostile,
  since: '2026-01-01T00:00:00.000Z',
  tool: 'Bash',
  summary: 'rm -rf build',
  id: 'f4c1d1f0-0000-4000-8000-000000000001',
  ts: '2026-01-01T00:00:05.000Z',
  ...over,
});

const deps = (timeoutMs = 5000, env: NodeJS.ProcessEnv = process.env) => ({ runner: runCommand, env, timeoutMs });

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A loopback server on 127.0.0.1:0 that records every request and answers `status` (or never, with 0). */
async function loopback(status: number): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      if (status === 0) return; // hang
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status >= 400 ? 'upstream exploded\n' : '');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

describe('webhook sink', () => {
  it('POSTs the event as JSON, once, and never shows the URL’s secret', async () => {
    const { url, received } = await loopback(204);
    const result = await deliver({ webhook: `${url}/hooks/T0/SECRET?token=abc` }, event(), deps());
    expect(result).toMatchObject({ ok: true, detail: 'HTTP 204' });
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe('POST');
    expect(received[0]!.url).toBe('/hooks/T0/SECRET?token=abc');
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(Number(received[0]!.headers['content-length'])).toBe(received[0]!.body.length);
    expect(received[0]!.body.toString('utf8')).toBe(JSON.stringify(event()));
    expect(JSON.parse(received[0]!.body.toString('utf8'))).toEqual(event());
  });

  it('a 500 is a failure with the status; an unreachable port and a silent server fail within the timeout', async () => {
    const failing = await loopback(500);
    const five = await deliver({ webhook: `${failing.url}/SECRET` }, event(), deps());
    expect(five.ok).toBe(false);
    expect(five.detail).toContain('HTTP 500');
    expect(five.detail).toContain('upstream exploded');
    expect(five.detail).not.toContain('SECRET');

    const closed = await loopback(200);
    const port = new URL(closed.url).port;
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const refused = await deliver({ webhook: `http://127.0.0.1:${port}/x` }, event(), deps(1000));
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/ECONNREFUSED/);
    expect(refused.ms).toBeLessThan(1000);

    const silent = await loopback(0);
    const hung = await deliver({ webhook: `${silent.url}/x` }, event(), deps(300));
    expect(hung).toMatchObject({ ok: false, detail: expect.stringContaining('timed out after 300 ms') });
    expect(hung.ms).toBeGreaterThanOrEqual(290);
    expect(hung.ms).toBeLessThan(2000);
    expect(silent.received).toHaveLength(1);
  });

  it('takes only http and https URLs', async () => {
    for (const webhook of ['file:///etc/passwd', 'ftp://example.com/x', 'not a url', 'javascript:alert(1)']) {
      const result = await deliver({ webhook }, event(), deps());
      expect(result.ok, webhook).toBe(false);
      expect(result.detail, webhook).toMatch(/^webhook: /);
    }
  });

  it('with the gate: exactly one POST per edge, none inside the cooldown', async () => {
    const { url, received } = await loopback(200);
    const sinks: NotifySink[] = [{ webhook: `${url}/hook` }];
    const gate = new NotificationGate(sinks);
    const T0 = Date.parse('2026-01-01T00:00:00Z');
    const timeline: Array<[number, string, string]> = [
      [0, 'busy', ''],
      [10, 'permission', 'Bash: make'], // POST at 15
      [30, 'busy', ''],
      [40, 'question', 'which db?'], // confirmed at 45, 30 s after the last POST: none
      [100, 'busy', ''],
      [110, 'permission', 'Bash: make test'], // POST at 115
    ];
    for (let t = 0; t <= 200; t++) {
      const [, state, key] = timeline.filter(([from]) => from <= t).pop()!;
      for (const fire of gate.observe('coder0', state, key, new Date(T0 + t * 1000))) {
        const sent = notificationEvent(
          fire,
          { fleet: 'mosaic-test', host: 'box', runtime: 'claude', detail: key },
          new Date(T0 + t * 1000),
        );
        expect(await deliver(sinks[fire.sinkIndex]!, sent, deps())).toMatchObject({ ok: true });
      }
    }
    const bodies = received.map((r) => JSON.parse(r.body.toString('utf8')) as NotificationEvent);
    expect(bodies.map((b) => [b.state, b.detail, b.since, b.ts])).toEqual([
      ['permission', 'Bash: make', '2026-01-01T00:00:10.000Z', '2026-01-01T00:00:15.000Z'],
      ['permission', 'Bash: make test', '2026-01-01T00:01:50.000Z', '2026-01-01T00:01:55.000Z'],
    ]);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(2);
  });
});

describe('exec sink', () => {
  it('gets the JSON on stdin byte for byte and the env vars; nothing goes through a shell', async () => {
    const script = path.join(dir, 'sink.mjs');
    writeFileSync(
      script,
      [
        "import { writeFileSync } from 'node:fs';",
        'const chunks = [];',
        'for await (const chunk of process.stdin) chunks.push(chunk);',
        'const [out, ...args] = process.argv.slice(2);',
        'writeFileSync(out, Buffer.concat(chunks));',
        "writeFileSync(out + '.env', JSON.stringify({ state: process.env.MOSAIC_NOTIFY_STATE, agent: process.env.MOSAIC_NOTIFY_AGENT, args }));",
      ].join('\n'),
    );
    const out = path.join(dir, 'exec-out');
    const sent = event();
    const result = await deliver({ exec: [process.execPath, script, out, hostile] }, sent, deps());
    expect(result).toMatchObject({ ok: true, detail: 'exit 0' });
    expect(readFileSync(out)).toEqual(Buffer.from(`${JSON.stringify(sent)}\n`, 'utf8'));
    expect((JSON.parse(readFileSync(out, 'utf8')) as NotificationEvent).detail).toBe(hostile);
    expect(JSON.parse(readFileSync(`${out}.env`, 'utf8'))).toEqual({ state: 'permission', agent: 'coder0', args: [hostile] });
    expect(pwned()).toEqual([]);
  });

  it('a sh script sink reads the same bytes (the data is on stdin, never in its command line)', async () => {
    const script = path.join(dir, 'sink.sh');
    writeFileSync(script, '#!/bin/sh\ncat > "$1"\nprintf "%s %s" "$MOSAIC_NOTIFY_STATE" "$MOSAIC_NOTIFY_AGENT" > "$1.env"\n');
    chmodSync(script, 0o700);
    const out = path.join(dir, 'sh-out');
    const sent = event({ state: 'failed', agent: 'reviewer0' });
    expect(await deliver({ exec: [script, out] }, sent, deps())).toMatchObject({ ok: true });
    expect(readFileSync(out, 'utf8')).toBe(`${JSON.stringify(sent)}\n`);
    expect(readFileSync(`${out}.env`, 'utf8')).toBe('failed reviewer0');
    expect(pwned()).toEqual([]);
  });

  it('fails with the exit status and stderr, a missing program without quoting the argv, and a hung one by the timeout', async () => {
    const failing = await deliver({ exec: [process.execPath, '-e', 'process.stderr.write("boom\\n"); process.exit(3)'] }, event(), deps());
    expect(failing).toMatchObject({ ok: false, detail: 'exit 3: boom' });

    // The detail is printed by `fleet notify test` and logged: a sink's escape sequences do not reach the terminal.
    const escaping = await deliver(
      { exec: [process.execPath, '-e', 'process.stderr.write("\\u001b]0;title\\u0007red \\u001b[31mtext\\u009b\\n"); process.exit(1)'] },
      event(),
      deps(),
    );
    expect(escaping).toMatchObject({ ok: false, detail: 'exit 1: ]0;title red [31mtext' });

    const missing = await deliver({ exec: [path.join(dir, 'no-such-hook'), '--token=SECRET'] }, event(), deps());
    expect(missing.ok).toBe(false);
    expect(missing.detail).toContain('command not found');
    expect(missing.detail).not.toContain('SECRET');

    const hung = await deliver({ exec: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] }, event(), deps(300));
    expect(hung.ok).toBe(false);
    expect(hung.detail).toMatch(/timed out after 300 ms/);
    expect(hung.ms).toBeLessThan(2000);

    expect(await deliver({ exec: [] }, event(), deps())).toMatchObject({ ok: false, detail: expect.stringMatching(/^exec: /) });
  });

  it('a hung sink is killed with what it started: nothing of it runs on after the timeout', async () => {
    const pidFile = path.join(dir, 'sink-child.pid');
    const hung = await deliver({ exec: ['sh', '-c', `sleep 30 & echo "$!" > '${pidFile}'; wait`] }, event(), deps(300));
    expect(hung).toMatchObject({ ok: false, detail: expect.stringMatching(/timed out after 300 ms/) });
    const child = Number(readFileSync(pidFile, 'utf8').trim());
    const alive = (): boolean => {
      try {
        process.kill(child, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 2000;
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    try {
      expect(alive(), `the sink's sleep ${child} still runs`).toBe(false);
    } finally {
      if (alive()) process.kill(child, 'SIGKILL');
    }
  });
});

describe('desktop sink', () => {
  it('runs notify-send from PATH with the title and the escaped body as single arguments', async () => {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const out = path.join(dir, 'notify-send-argv');
    writeFileSync(path.join(bin, 'notify-send'), `#!/bin/sh\nprintf '%s\\0' "$@" > '${out}'\n`);
    chmodSync(path.join(bin, 'notify-send'), 0o700);
    const sent = event({ detail: `${hostile} <b>&</b>` });
    const result = await deliver({ desktop: true }, sent, deps(5000, { ...process.env, PATH: `relative/dir:${bin}:/usr/bin:/bin` }));
    expect(result).toMatchObject({ ok: true, detail: 'shown' });
    const argv = readFileSync(out, 'utf8').split('\0').slice(0, -1);
    expect(argv).toEqual(['--app-name=mosaic', '--', 'coder0 waits for permission', desktopText(sent).body]);
    expect(argv[3]).toContain(`${hostile} &lt;b&gt;&amp;&lt;/b&gt;`);
    expect(argv[3]).toContain('Bash: rm -rf build');
    expect(pwned()).toEqual([]);
  });

  it('says so when notify-send is not on PATH', async () => {
    const empty = path.join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    expect(await deliver({ desktop: true }, event(), deps(5000, { PATH: empty }))).toMatchObject({
      ok: false,
      detail: 'notify-send not found',
    });
  });
});
