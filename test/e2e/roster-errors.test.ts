import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet } from './harness.js';

const head = (socket: string): string => `version: 1\ntransport: tmux\ntmux:\n  socket_name: ${socket}\n`;

const CASES: { name: string; body: (socket: string) => string; error: RegExp }[] = [
  {
    name: 'YAML syntax',
    body: (s) => `${head(s)}agents:\n  - name: a\n    runtime: stub\n   bad: [\n`,
    error: /roster\.yaml:\d+:\d+: YAML syntax/,
  },
  {
    name: 'name outside the pattern',
    body: (s) => `${head(s)}agents:\n  - name: "a b"\n    runtime: stub\n`,
    error: /roster\.yaml:6:11: agents\[0\]\.name must match \^\[A-Za-z0-9_.-\]\+\$/,
  },
  {
    name: 'duplicate names',
    body: (s) => `${head(s)}agents:\n  - name: a\n    runtime: stub\n  - name: a\n    runtime: stub\n`,
    error: /roster\.yaml:8:11: duplicate agent name "a" \(first defined on line 6\)/,
  },
  {
    name: 'unknown runtime without a command',
    body: (s) => `${head(s)}agents:\n  - name: a\n    runtime: gpt-shell\n`,
    error: /roster\.yaml:7:14: unknown runtime "gpt-shell" .*define runtimes\.gpt-shell\.command/,
  },
  {
    name: 'wrong version',
    body: (s) => head(s).replace('version: 1', 'version: 2') + 'agents:\n  - {name: a, runtime: stub}\n',
    error: /roster\.yaml:1:10: version must be 1/,
  },
  {
    name: 'unknown field',
    body: (s) => `${head(s)}agents:\n  - name: a\n    runtime: stub\n    colour: blue\n`,
    error: /roster\.yaml:8:5: agents\[0\]: unknown field "colour"/,
  },
  {
    name: 'snake and camel disagree',
    body: (s) => `${head(s)}agents:\n  - name: a\n    runtime: stub\n    working_directory: /tmp/x\n    workingDirectory: /tmp/y\n`,
    error: /both working_directory and workingDirectory are set, with different values/,
  },
  {
    name: 'names that collide as tmux sessions',
    body: (s) => `${head(s)}agents:\n  - {name: a.b, runtime: stub}\n  - {name: a_b, runtime: stub}\n`,
    error: /agent "a_b" maps to tmux session "a_b", which agent "a.b" already uses/,
  },
  {
    name: 'a reserved name',
    body: (s) => `${head(s)}agents:\n  - {name: supervisor, runtime: stub}\n`,
    error: /roster\.yaml:6:\d+: agent name "supervisor" is reserved: its transcript would be logs\/supervisor\.log/,
  },
  {
    name: 'a name that is a directory (".", "..")',
    body: (s) => `${head(s)}agents:\n  - {name: ".", runtime: stub}\n  - {name: "..", runtime: stub}\n`,
    error:
      /roster\.yaml:6:\d+: agent name "\." cannot be used: it names a directory[\s\S]*roster\.yaml:7:\d+: agent name "\.\." cannot be used/,
  },
  {
    name: 'a line break in a value that becomes one launch line',
    body: (s) =>
      `${head(s)}agents:\n  - name: a\n    runtime: stub\n    working_directory: "/tmp/x\\nExecStartPre=/bin/true"\n    env: {NOTE: "a\\nb"}\n`,
    error:
      /roster\.yaml:8:24: agents\[0\]\.working_directory may not contain a line break or NUL[\s\S]*roster\.yaml:9:\d+: agents\[0\]\.env\.NOTE may not contain a line break/,
  },
  {
    name: 'unknown mode',
    body: (s) => `${head(s)}agents:\n  - name: a\n    runtime: stub\n    mode: reckless\n`,
    error: /roster\.yaml:8:11: agents\[0\]\.mode must be one of "yolo", "safe"/,
  },
  {
    name: 'reset_between_tasks with persistent_persona: true',
    body: (s) => `${head(s)}agents:\n  - name: a\n    runtime: stub\n    persistent_persona: true\n    reset_between_tasks: true\n`,
    error: /roster\.yaml:9:\d+: agent "a": reset_between_tasks cannot be true when persistent_persona is true/,
  },
  {
    name: 'a persona file that does not exist',
    body: (s) => `${head(s)}agents:\n  - name: a\n    runtime: stub\n    persona_file: personas/nope.md\n`,
    error: /roster\.yaml:8:19: persona file .*personas\/nope\.md does not exist/,
  },
  {
    name: 'a notify sink that is not one thing, or a webhook that is not http',
    body: (s) => `${head(s)}notify:\n  - {desktop: true, webhook: "http://a"}\nagents:\n  - {name: a, runtime: stub}\n`,
    error: /roster\.yaml:6:5: notify\[0\]: give exactly one of exec, webhook, desktop \(found webhook and desktop\)/,
  },
  {
    name: 'a webhook that is not http(s), an unknown notify state',
    body: (s) => `${head(s)}notify:\n  - webhook: ftp://x\n    on: [sometimes]\nagents:\n  - {name: a, runtime: stub}\n`,
    error: /roster\.yaml:7:10: notify\[0\]\.on\[0\] must be one of "permission"[\s\S]*roster\.yaml:6:14: notify\[0\]\.webhook must match/,
  },
  {
    name: 'supervisor value',
    body: (s) => `${head(s)}supervisor: cron\nagents:\n  - {name: a, runtime: stub}\n`,
    error: /roster\.yaml:5:13: supervisor must be one of "builtin", "systemd"/,
  },
];

describe('invalid rosters: a clear error with file:line:column, and nothing changes', () => {
  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const fleet = createFleet();
      fleet.writeRoster(testCase.body(fleet.socket));
      const before = readFileSync(fleet.rosterPath, 'utf8');
      for (const verb of [
        ['fleet', 'start'],
        ['fleet', 'status'],
      ]) {
        const result = await fleet.mosaic(verb);
        expect(result.status, result.stderr).toBe(1);
        expect(result.stderr).toMatch(testCase.error);
        expect(result.stderr).toContain(fleet.rosterPath);
      }
      expect(readFileSync(fleet.rosterPath, 'utf8')).toBe(before);
      expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
      expect(existsSync(path.join(fleet.home, 'run'))).toBe(false);
    });
  }

  it('a missing roster says how to create one', async () => {
    const fleet = createFleet();
    const result = await fleet.mosaic(['fleet', 'status']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no roster at .*roster\.yaml/);
    expect(result.stderr).toMatch(/mosaic fleet init --profile minimal --write/);
  });

  it('missing tmux: a clear error with the install command, and mosaic exits at once', async () => {
    const fleet = createFleet();
    fleet.writeRoster(`${head(fleet.socket)}agents:\n  - {name: a, runtime: stub}\n`);
    const result = await fleet.mosaic(['fleet', 'start'], { env: { ...fleet.env, PATH: '/nonexistent' } });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/tmux is not installed/);
    expect(result.stderr).toMatch(/apt-get install -y tmux/);
  });

  it('no command, or a group without its subcommand: the help on stderr, exit 2; asked for: stdout, exit 0', async () => {
    const fleet = createFleet();
    for (const args of [[], ['fleet'], ['agent'], ['help', 'nosuch']]) {
      const run = await fleet.mosaic(args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr).toMatch(/^Usage: mosaic/);
    }
    for (const args of [['--help'], ['fleet', '--help'], ['help', 'fleet']]) {
      const run = await fleet.mosaic(args);
      expect(run.status, args.join(' ')).toBe(0);
      expect(run.stdout).toMatch(/^Usage: mosaic/);
    }
  });

  it('a roster that is a directory says so, with what to do, and changes nothing', async () => {
    const fleet = createFleet();
    const dir = path.join(fleet.dir, 'roster.yaml');
    mkdirSync(dir);
    for (const verb of [
      ['fleet', 'start'],
      ['fleet', 'status'],
      ['agent', 'roster'],
    ]) {
      const result = await fleet.mosaic(['--roster', dir, ...verb]);
      expect(result.status, verb.join(' ')).toBe(1);
      expect(result.stderr).toContain(`mosaic: roster ${dir} is a directory, not a file`);
      expect(result.stderr).toContain('hint: name the roster file with --roster <path>');
    }
    expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
  });

  it('a roster that is a named pipe or a device is refused before any read (a FIFO would block forever)', async () => {
    const fleet = createFleet();
    const fifo = path.join(fleet.dir, 'roster.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const [file, kind] of [
      [fifo, 'a named pipe (FIFO)'],
      ['/dev/zero', 'a device'],
    ] as const) {
      const result = await fleet.mosaic(['--roster', file, 'fleet', 'start']);
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain(`mosaic: roster ${file} is ${kind}, not a regular file`);
      expect(result.stderr).toContain('hint: pass the roster as a file with --roster <path>');
    }
    expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
  });

  it('an empty --roster is a usage error: the default roster is not used instead', async () => {
    const fleet = createFleet();
    fleet.writeRoster(`${head(fleet.socket)}agents:\n  - {name: a, runtime: stub}\n`);
    for (const args of [
      ['--roster', '', 'fleet', 'start'],
      ['--roster=', 'fleet', 'start'],
      ['fleet', 'start', '--roster', ''],
    ]) {
      const result = await fleet.mosaic(args);
      expect(result.status, JSON.stringify(args)).toBe(2);
      expect(result.stderr).toContain('--roster needs a file path, got an empty one');
    }
    expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
    expect(existsSync(path.join(fleet.home, 'run'))).toBe(false);
  });

  it('an unknown agent name changes nothing', async () => {
    const fleet = createFleet();
    fleet.writeRoster(`${head(fleet.socket)}agents:\n  - {name: a, runtime: stub}\n`);
    const result = await fleet.mosaic(['fleet', 'start', 'nope']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/agent "nope" not in roster .*\(known: a\)/);
    expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
  });
});

describe('fleet init', () => {
  it('prints to stdout, writes atomically with private modes, and never clobbers without --force', async () => {
    const fleet = createFleet();
    // A config root that does not exist yet: init creates it (0700) and the roster (0600).
    const fresh = path.join(fleet.dir, 'fresh-root');
    const env = { ...fleet.env, MOSAIC_FLEET_HOME: fresh };
    const rosterPath = path.join(fresh, 'roster.yaml');
    const init = (args: string[]) => fleet.mosaic(['fleet', 'init', ...args], { env });
    const printed = await init(['--profile', 'local-canary']);
    expect(printed.status).toBe(0);
    expect(printed.stdout).toMatch(/name: coder0\n\s+runtime: codex/);
    expect(existsSync(fresh)).toBe(false);

    const written = await init(['--profile', 'stub', '--write']);
    expect(written.status, written.stderr).toBe(0);
    expect(statSync(rosterPath).mode & 0o777).toBe(0o600);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
    const roster = await fleet.mosaic(['agent', 'roster', '--json'], { env });
    expect((JSON.parse(roster.stdout) as { agent: string; runtime: string }[]).map((r) => `${r.agent}:${r.runtime}`)).toEqual([
      'alpha:stub',
      'beta:stub',
      'gamma:stub',
    ]);

    writeFileSync(rosterPath, '# mine\n' + readFileSync(rosterPath, 'utf8'));
    const mine = readFileSync(rosterPath, 'utf8');
    const refused = await init(['--profile', 'minimal', '--write']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/already exists; not overwriting it/);
    expect(refused.stderr).toMatch(/--force/);
    expect(readFileSync(rosterPath, 'utf8')).toBe(mine);

    // --force alone would print and write nothing: refused, so nobody takes the printout for a replaced roster.
    const forceAlone = await init(['--profile', 'minimal', '--force']);
    expect(forceAlone.status).toBe(2);
    expect(forceAlone.stderr).toMatch(/--force goes with --write/);
    expect(forceAlone.stdout).toBe('');
    expect(readFileSync(rosterPath, 'utf8')).toBe(mine);

    const forced = await init(['--profile', 'minimal', '--write', '--force']);
    expect(forced.status).toBe(0);
    expect(readFileSync(rosterPath, 'utf8')).toMatch(/canary-pi/);
  });

  it('rejects an unknown profile as a usage error', async () => {
    const fleet = createFleet();
    const result = await fleet.mosaic(['fleet', 'init', '--profile', 'huge']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Allowed choices are minimal, local-canary, usc, stub/);
  });
});
