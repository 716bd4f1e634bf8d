import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeForge, type CiStep, type FakeForge } from './fake-forge.js';
import { CLI } from './harness.js';

/*
 * `mosaic forge …` end to end: the built CLI against a fake GitHub/Gitea on loopback, with real
 * git repositories for the origin remote. Every assertion about a body is about the bytes the
 * server received.
 */

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let dir: string;
let forge: FakeForge;
let baseEnv: NodeJS.ProcessEnv;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-forge-'));
  for (const sub of ['home', 'xdg', 'fleet', 'tmp']) mkdirSync(path.join(dir, sub));
  // Built from nothing: a GITHUB_TOKEN in the caller's environment must not leak into a test.
  baseEnv = {
    PATH: process.env.PATH,
    HOME: path.join(dir, 'home'),
    XDG_CONFIG_HOME: path.join(dir, 'xdg'),
    MOSAIC_FLEET_HOME: path.join(dir, 'fleet'),
    TMPDIR: path.join(dir, 'tmp'),
    NO_COLOR: '1',
    // For tests only: the fake forge answers on loopback, so `ci wait` may poll faster than its 1 s minimum.
    MOSAIC_FORGE_MIN_INTERVAL_MS: '10',
  };
  forge = await startFakeForge();
});

afterEach(async () => {
  await forge.close();
  rmSync(dir, { recursive: true, force: true });
});

function mosaic(args: string[], options: { env?: NodeJS.ProcessEnv; input?: Buffer | string; cwd?: string } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: options.env ?? baseEnv, cwd: options.cwd ?? dir, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
    child.stdin.end(options.input ?? '');
  });
}

const withToken = (name = 'MOSAIC_FORGE_TOKEN'): NodeJS.ProcessEnv => ({ ...baseEnv, [name]: forge.token });
const github = (): string[] => ['--forge', 'github', '--api', forge.githubApi, '--repo', 'acme/widgets'];
const gitea = (): string[] => ['--forge', 'gitea', '--api', forge.giteaApi, '--repo', 'acme/widgets'];

/** What the server received as the JSON "body" field, as bytes. */
function receivedBody(index = forge.requests.length - 1): Buffer {
  const request = forge.requests[index]!;
  return Buffer.from((JSON.parse(request.body.toString('utf8')) as { body: string }).body, 'utf8');
}

function gitRepo(origin: string): string {
  const repo = path.join(dir, 'repo');
  mkdirSync(repo);
  for (const args of [
    ['init', '-q'],
    ['remote', 'add', 'origin', origin],
  ]) {
    const result = spawnSync('git', ['-C', repo, ...args], { env: baseEnv, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
  }
  return repo;
}

/** Markdown an agent might write: everything a shell would expand, plus a trailing newline. */
function hostileBody(sentinel: string): string {
  return [
    '# Release notes',
    'Inline code: `rm -rf /` must stay literal.',
    `Command substitution: $(touch ${sentinel})`,
    `Backticks: \`touch ${sentinel}\``,
    'Dollars: $HOME ${PATH} $5.00 and 100% done',
    `Quotes: "double" and 'single' and \`mixed\``,
    'Pipes: foo | bar && baz ; qux > /dev/null',
    '-leading dash, tab\there, CRLF next\r',
    'émoji 🚀 and a NUL-free unicode line ✓',
    '',
  ].join('\n');
}

describe('forge issue create / comment: bodies reach the API byte for byte', () => {
  it('GitHub: a hostile body from --body-file, with its trailing newline; nothing is executed', async () => {
    const sentinel = path.join(dir, 'sentinel');
    const body = hostileBody(sentinel);
    const file = path.join(dir, 'body.md');
    writeFileSync(file, body);
    const title = 'Body `safety` $(touch ' + sentinel + ') "quoted"';
    const run = await mosaic(['forge', 'issue', 'create', ...github(), '--title', title, '--body-file', file], { env: withToken() });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`created issue #1 in acme/widgets: ${forge.url}/acme/widgets/issues/1\n`);
    expect(forge.requests).toHaveLength(1);
    const request = forge.requests[0]!;
    expect(request).toMatchObject({ flavor: 'github', method: 'POST', path: '/repos/acme/widgets/issues' });
    expect(request.headers.authorization).toBe(`Bearer ${forge.token}`);
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(receivedBody().equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect((JSON.parse(request.body.toString('utf8')) as { title: string }).title).toBe(title);
    expect(existsSync(sentinel)).toBe(false);
  });

  it('Gitea: 100 KB from stdin, byte-exact, with "token" auth; --json prints the number and URL', async () => {
    const line = 'a `b` $(c) "d" \'e\' \\f ${g} % | ; & < > ü 漢\n';
    const body = Buffer.from(line.repeat(Math.ceil(100_000 / Buffer.byteLength(line))), 'utf8');
    expect(body.length).toBeGreaterThanOrEqual(100_000);
    const run = await mosaic(['forge', 'issue', 'create', ...gitea(), '--title', 'big', '--json'], {
      env: withToken('GITEA_TOKEN'),
      input: body,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ forge: 'gitea', repo: 'acme/widgets', number: 1, url: `${forge.url}/acme/widgets/issues/1` });
    const request = forge.requests[0]!;
    expect(request).toMatchObject({ flavor: 'gitea', method: 'POST', path: '/repos/acme/widgets/issues' });
    expect(request.headers.authorization).toBe(`token ${forge.token}`);
    expect(receivedBody().equals(body)).toBe(true);
  });

  it('comments: --body-file - reads stdin; a byte-order mark and a lone trailing newline survive', async () => {
    const body = Buffer.from('\uFEFFlooks good `lgtm` $(id)\n', 'utf8');
    for (const [flags, env] of [
      [github(), withToken('GITHUB_TOKEN')],
      [gitea(), withToken('GITEA_TOKEN')],
    ] as const) {
      const run = await mosaic(['forge', 'issue', 'comment', '7', ...flags, '--body-file', '-'], { env, input: body });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^commented on issue #7 in acme\/widgets: http/);
      expect(forge.requests.at(-1)).toMatchObject({ method: 'POST', path: '/repos/acme/widgets/issues/7/comments' });
      expect(receivedBody().equals(body)).toBe(true);
    }
  });

  it('a body that is not UTF-8 is refused before anything is sent', async () => {
    const run = await mosaic(['forge', 'issue', 'create', ...github(), '--title', 't'], {
      env: withToken(),
      input: Buffer.from([0x66, 0xff, 0x0a]),
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/not valid UTF-8/);
    expect(forge.requests).toHaveLength(0);
  });
});

describe('forge targets from the origin remote (real git)', () => {
  it('a Gitea host in origin: forge and owner/repo come from it, --api points at the server', async () => {
    const repo = gitRepo('https://git.example.test/acme/widgets.git');
    const run = await mosaic(['forge', 'issue', 'create', '--api', forge.giteaApi, '--title', 't', '--body-file', '-'], {
      env: withToken('GITEA_TOKEN'),
      cwd: repo,
      input: 'hi\n',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(forge.requests[0]).toMatchObject({ flavor: 'gitea', path: '/repos/acme/widgets/issues' });
    expect(forge.requests[0]!.headers.authorization).toBe(`token ${forge.token}`);
  });

  it.each([
    ['git@git.example.test:acme/widgets.git', 'gitea', 'git.example.test', 'GITEA_TOKEN'],
    ['ssh://git@git.example.test:2222/acme/widgets.git', 'gitea', 'git.example.test', 'GITEA_TOKEN'],
    ['https://github.com/acme/widgets.git', 'github', 'api.github.com', 'GITHUB_TOKEN'],
  ])('no token, origin %s: one line naming %s host %s, nothing sent', async (origin, kind, host, variable) => {
    const repo = gitRepo(origin);
    const run = await mosaic(['forge', 'ci', 'wait', '--sha', 'abc1234'], { cwd: repo });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`no ${kind} token for ${host}: set MOSAIC_FORGE_TOKEN or ${variable}`);
  });
});

describe('forge tokens: missing, rejected, from the credentials file', () => {
  it('missing: exit 1, one line naming the host it tried, no request', async () => {
    const run = await mosaic(['forge', 'issue', 'create', ...gitea(), '--title', 't'], { input: 'x' });
    expect(run.status).toBe(1);
    const host = new URL(forge.url).host;
    expect(run.stderr).toBe(
      `mosaic: no gitea token for ${host}: set MOSAIC_FORGE_TOKEN or GITEA_TOKEN, or add "127.0.0.1" under "hosts" in ${path.join(dir, 'fleet', 'forge-credentials.json')} (mode 0600)\n`,
    );
    expect(forge.requests).toHaveLength(0);
  });

  it('rejected: exit 1, one line naming the host and where the token came from, never the token', async () => {
    const wrong = 'wrong-token-' + 'x9'.repeat(12);
    for (const [flags, variable] of [
      [github(), 'GITHUB_TOKEN'],
      [gitea(), 'GITEA_TOKEN'],
    ] as const) {
      const run = await mosaic(['forge', 'ci', 'wait', ...flags, '--sha', 'abc1234'], { env: { ...baseEnv, [variable]: wrong } });
      expect(run.status).toBe(1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`${new URL(forge.url).host} rejected the`);
      expect(run.stderr).toContain(`token from ${variable} (HTTP 401`);
      expect(run.stdout + run.stderr).not.toContain(wrong);
    }
  });

  it('the credentials file: exact host key, mode 0600 required', async () => {
    const file = path.join(dir, 'fleet', 'forge-credentials.json');
    const write = (hosts: Record<string, unknown>, mode: number): void => {
      writeFileSync(file, JSON.stringify({ hosts }));
      chmodSync(file, mode);
    };
    const args = ['forge', 'issue', 'create', ...gitea(), '--title', 't'];
    // A key that merely starts or ends like the host is not the host.
    write({ '127.0.0.1.evil.net': { token: forge.token }, 'evil127.0.0.1': { token: forge.token } }, 0o600);
    let run = await mosaic(args, { input: 'x' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/no gitea token for 127\.0\.0\.1:\d+/);
    expect(forge.requests).toHaveLength(0);

    write({ '127.0.0.1': { token: forge.token } }, 0o644);
    run = await mosaic(args, { input: 'x' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`refusing ${file}: mode 644`);
    expect(forge.requests).toHaveLength(0);

    chmodSync(file, 0o600);
    run = await mosaic(args, { input: 'from the file' });
    expect(run.status, run.stderr).toBe(0);
    expect(forge.requests[0]!.headers.authorization).toBe(`token ${forge.token}`);

    // host:port is more specific than host; a wrong token there is rejected, naming the file.
    const otherToken = 'not-the-token-' + '123';
    write({ [new URL(forge.url).host]: { token: otherToken }, '127.0.0.1': { token: forge.token } }, 0o600);
    run = await mosaic(args, { input: 'x' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`rejected the gitea token from ${file} (${new URL(forge.url).host})`);
    expect(run.stderr).not.toContain(otherToken);
  });
});

describe('forge ci wait', () => {
  const SHA = 'c0ffee1234567890c0ffee1234567890c0ffee12';
  const fast = ['--interval', '20ms', '--ci-grace', '400ms', '--timeout', '30s'];
  const ok = (name: string) => ({ name, status: 'completed' as const, conclusion: 'success' as const });

  interface Report {
    result: string;
    exit_code: number;
    sha: string;
    reason: string;
    polls: number;
    checks: { kind: string; name: string; state: string; raw: string }[];
    failing: string[];
    pending: string[];
  }
  const wait = async (flags: string[], extra: string[] = fast): Promise<{ run: Run; report: Report }> => {
    const run = await mosaic(['forge', 'ci', 'wait', ...flags, ...extra, '--json'], { env: withToken() });
    return { run, report: JSON.parse(run.stdout) as Report };
  };

  it('an --interval under 1 s is a usage error (exit 2) before any request', async () => {
    const env = withToken();
    delete env.MOSAIC_FORGE_MIN_INTERVAL_MS; // as a user runs it
    for (const interval of ['0s', '999ms']) {
      const run = await mosaic(['forge', 'ci', 'wait', ...github(), '--sha', SHA, '--interval', interval], { env });
      expect([interval, run.status, run.stderr]).toEqual([
        interval,
        2,
        `mosaic: --interval must be at least 1s (every poll asks the forge's API), got "${interval}"\n`,
      ]);
    }
    expect(forge.requests).toHaveLength(0);
  });

  it('green: statuses and check runs, pending first, then all passed → 0', async () => {
    const steps: CiStep[] = [
      { statuses: [{ context: 'ci/lint', state: 'pending' }], checkRuns: [{ name: 'build', status: 'in_progress' }] },
      { statuses: [{ context: 'ci/lint', state: 'success' }], checkRuns: [{ name: 'build', status: 'in_progress' }] },
      { statuses: [{ context: 'ci/lint', state: 'success' }], checkRuns: [ok('build')] },
    ];
    forge.setCi(SHA, steps);
    const { run, report } = await wait([...github(), '--sha', SHA]);
    expect(run.status, run.stderr).toBe(0);
    expect(report).toMatchObject({ result: 'success', exit_code: 0, sha: SHA, failing: [], pending: [] });
    expect(report.polls).toBeGreaterThanOrEqual(3);
    expect(report.checks.map((c) => `${c.kind}:${c.name}:${c.raw}`)).toEqual(['status:ci/lint:success', 'check:build:success']);
    expect(run.stderr).toBe(''); // not a terminal: no progress line
  });

  it('red: a failing check run on the second page of 150 is found and named → 1', async () => {
    const runs = Array.from({ length: 150 }, (_, i) => ok(`job-${i}`));
    runs[120] = { name: 'job-120', status: 'completed', conclusion: 'failure' } as never;
    forge.setCi(SHA, [{ statuses: [{ context: 'ci/lint', state: 'success' }], checkRuns: runs }]);
    const { run, report } = await wait([...github(), '--sha', SHA]);
    expect(run.status).toBe(1);
    expect(report).toMatchObject({ result: 'failure', failing: ['job-120'], reason: 'failed: job-120 (failure)' });
    expect(report.checks).toHaveLength(151);
    const pages = forge.requests
      .filter((r) => r.path.endsWith('/check-runs'))
      .map((r) => `${r.query.get('page')}/${r.query.get('per_page')}`);
    expect(pages).toEqual(['1/100', '2/100']);
    // Without --json, the failure is named on stdout.
    const text = await mosaic(['forge', 'ci', 'wait', ...github(), '--sha', SHA, ...fast], { env: withToken() });
    expect(text.status).toBe(1);
    expect(text.stdout).toContain(`ci failed: acme/widgets at ${SHA.slice(0, 10)}: failed: job-120 (failure)`);
    expect(text.stdout).toContain('FAIL  job-120 (check: failure)');
  });

  it('red on Gitea: a status in error → 1', async () => {
    forge.setCi(SHA, [
      { statuses: [{ context: 'woodpecker/ci', state: 'pending' }] },
      { statuses: [{ context: 'woodpecker/ci', state: 'error' }] },
    ]);
    const { run, report } = await wait([...gitea(), '--sha', SHA]);
    expect(run.status).toBe(1);
    expect(report).toMatchObject({ result: 'failure', failing: ['woodpecker/ci'] });
  });

  it.each([
    ['GitHub (state "pending", total_count 0, no check runs)', 'github', ''],
    ['Gitea before 2025 (state "", check-runs 404)', 'gitea', ''],
    ['Gitea since 2025 (state "pending", check-runs 404)', 'gitea', 'pending'],
  ] as const)('no CI: %s → 3 after the grace, long before the timeout', async (_what, kind, emptyState) => {
    forge.giteaEmptyState = emptyState;
    const flags = kind === 'github' ? github() : gitea();
    const { run, report } = await wait([...flags, '--sha', SHA], ['--interval', '50ms', '--ci-grace', '500ms', '--timeout', '60s']);
    expect(run.status, run.stderr).toBe(3);
    expect(report).toMatchObject({ result: 'no-ci', exit_code: 3, checks: [] });
    expect(report.reason).toContain('no CI configured');
    expect(run.ms).toBeLessThan(20_000);
  });

  it('webhook lag: nothing, nothing, then pending and green within the grace → 0, not "no CI"', async () => {
    forge.setCi(SHA, [{}, {}, { statuses: [{ context: 'ci', state: 'pending' }] }, { statuses: [{ context: 'ci', state: 'success' }] }]);
    const { run, report } = await wait([...gitea(), '--sha', SHA], ['--interval', '20ms', '--ci-grace', '5s', '--timeout', '30s']);
    expect(run.status, run.stderr).toBe(0);
    expect(report.result).toBe('success');
  });

  it('once something was reported, an empty answer is pending, never "no CI": timeout → 124', async () => {
    forge.setCi(SHA, [{ statuses: [{ context: 'ci', state: 'pending' }] }, {}]);
    const { run, report } = await wait([...gitea(), '--sha', SHA], ['--interval', '20ms', '--ci-grace', '100ms', '--timeout', '800ms']);
    expect(run.status).toBe(124);
    expect(report.result).toBe('timeout');
  });

  it('timeout: pending forever → 124, naming what is still pending', async () => {
    forge.setCi(SHA, [{ statuses: [{ context: 'ci/slow', state: 'pending' }], checkRuns: [{ name: 'e2e', status: 'queued' }] }]);
    const { run, report } = await wait([...github(), '--sha', SHA], ['--interval', '50ms', '--timeout', '700ms']);
    expect(run.status).toBe(124);
    expect(report).toMatchObject({ result: 'timeout', exit_code: 124, pending: ['ci/slow', 'e2e'] });
    expect(report.reason).toBe('timed out after 700ms; pending: ci/slow (pending), e2e (queued)');
  });

  it('a forge that never answers: the headline names the commit asked for (was "at ?"), or none for a --pr never read', async () => {
    const down = ['--forge', 'github', '--api', 'http://127.0.0.1:9', '--repo', 'acme/widgets', '--interval', '50ms', '--timeout', '300ms'];
    const bySha = await mosaic(['forge', 'ci', 'wait', ...down, '--sha', SHA], { env: withToken() });
    expect(bySha.status).toBe(124);
    expect(bySha.stdout).toMatch(
      /^ci timeout: acme\/widgets at c0ffee1234: timed out after 300ms; last error: could not reach 127\.0\.0\.1:9/,
    );
    const byPr = await mosaic(['forge', 'ci', 'wait', ...down, '--pr', '7'], { env: withToken() });
    expect(byPr.status).toBe(124);
    expect(byPr.stdout).toMatch(/^ci timeout: acme\/widgets #7: timed out/);
  });

  it('check runs only (GitHub Actions, zero statuses) → 0', async () => {
    forge.setCi(SHA, [
      { checkRuns: [{ name: 'test', status: 'queued' }] },
      { checkRuns: [ok('test'), { name: 'docs', status: 'completed', conclusion: 'skipped' }] },
    ]);
    const { run, report } = await wait([...github(), '--sha', SHA]);
    expect(run.status, run.stderr).toBe(0);
    expect(report.checks.map((c) => c.kind)).toEqual(['check', 'check']);
  });

  it('statuses only (Gitea without a check-runs endpoint) → 0', async () => {
    forge.setCi(SHA, [
      {
        statuses: [
          { context: 'a', state: 'success' },
          { context: 'b', state: 'warning' },
        ],
      },
    ]);
    const { run, report } = await wait([...gitea(), '--sha', SHA]);
    expect(run.status, run.stderr).toBe(0);
    expect(report.checks.map((c) => `${c.kind}:${c.name}:${c.state}`)).toEqual(['status:a:success', 'status:b:success']);
    expect(forge.requests.some((r) => r.path.endsWith('/check-runs'))).toBe(true);
  });

  it('--pr follows the head: a push while waiting moves the wait to the new commit', async () => {
    const OLD = 'aaaaaaa1111111111111111111111111111111111'.slice(0, 40);
    const NEW = 'bbbbbbb2222222222222222222222222222222222'.slice(0, 40);
    forge.setPull(17, [OLD, OLD, NEW]);
    forge.setCi(OLD, [{ statuses: [{ context: 'ci', state: 'pending' }] }]);
    forge.setCi(NEW, [{ statuses: [{ context: 'ci', state: 'pending' }] }, { statuses: [{ context: 'ci', state: 'success' }] }]);
    const { run, report } = await wait([...github(), '--pr', '17']);
    expect(run.status, run.stderr).toBe(0);
    expect(report).toMatchObject({ result: 'success', sha: NEW });
    expect(JSON.parse(run.stdout)).toMatchObject({ pr: 17, repo: 'acme/widgets', forge: 'github' });
  });

  it('on a terminal: a progress line on stderr, redrawn in place and cleared at the end', async () => {
    forge.setCi(SHA, [
      { statuses: [{ context: 'ci/build', state: 'pending' }] },
      { statuses: [{ context: 'ci/build', state: 'success' }] },
    ]);
    // script(1) gives the command a pseudo-terminal (and runs it with sh -c: the arguments are plain words here).
    const command = [process.execPath, CLI, 'forge', 'ci', 'wait', ...github(), '--sha', SHA, ...fast].join(' ');
    const result = await new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { env: withToken(), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, output }));
    });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain(`\r\u001b[Kci ${SHA.slice(0, 10)}: 0 passed, 1 pending (ci/build), 0 failed · `);
    expect(result.output).toContain('\r\u001b[Kci green: acme/widgets at c0ffee1234: all 1 passed');
  });

  it('a repository the forge does not know: one line, exit 1', async () => {
    const run = await mosaic(['forge', 'ci', 'wait', '--forge', 'github', '--api', forge.githubApi, '--repo', 'acme/nope', '--sha', SHA], {
      env: withToken(),
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('not found (HTTP 404: Not Found): check --repo acme/nope');
  });

  it('usage errors exit 2', async () => {
    for (const args of [['--sha', SHA, '--pr', '3'], [], ['--sha', 'not-a-sha'], ['--sha', SHA, '--timeout', 'soon']]) {
      const run = await mosaic(['forge', 'ci', 'wait', ...github(), ...args], { env: withToken() });
      expect(run.status, args.join(' ')).toBe(2);
    }
    expect(forge.requests).toHaveLength(0);
  });
});
