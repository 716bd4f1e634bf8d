import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { TenantReport } from '../../src/fleet/tenant.js';
import { CLI, ROOT, eventually } from './harness.js';

/*
 * `mosaic tenant add` with real Linux users: it needs root, as this machine and CI run the tests.
 * Outside CI a non-root run skips these (and says so); under CI=true they run and fail instead.
 * Every user, home, linger flag, tmux directory and process the test makes is removed by the
 * finaliser, which then checks that nothing is left.
 */
const IS_ROOT = process.getuid?.() === 0;
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const SKIP = !IS_ROOT && !IN_CI;
if (SKIP) {
  console.warn('test/e2e/tenant.test.ts: skipped: `mosaic tenant add` creates real Linux users and needs root (CI runs it as root)');
}

const LINGER_DIR = '/var/lib/systemd/linger';
/** The tenants' commands start from a clean environment: nothing of this test's (TMUX_TMPDIR, MOSAIC_*) leaks in. */
const TENANT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** useradd, userdel and runuser live in sbin, which a root PATH may lack. */
const ROOT_ENV: NodeJS.ProcessEnv = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, NO_COLOR: '1' };

function run(argv: string[], env: NodeJS.ProcessEnv = ROOT_ENV): Run {
  const result = spawnSync(argv[0]!, argv.slice(1), { env, cwd: '/', encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `mosaic …` as root (the operator running tenant add). */
const mosaic = (args: string[]): Run => run([process.execPath, CLI, ...args]);

/** argv run as `user` (runuser, no login shell) with only HOME, USER, LOGNAME and PATH set. */
const asUser = (user: string, home: string, argv: string[]): Run =>
  run([
    'runuser',
    '-u',
    user,
    '--',
    'env',
    '-i',
    `HOME=${home}`,
    `USER=${user}`,
    `LOGNAME=${user}`,
    `PATH=${TENANT_PATH}`,
    'NO_COLOR=1',
    ...argv,
  ]);

const randomName = (): string => `mt${Array.from({ length: 6 }, () => String.fromCharCode(97 + randomInt(26))).join('')}`;

interface Passwd {
  uid: number;
  gid: number;
  home: string;
}
function passwd(name: string): Passwd | undefined {
  const result = run(['getent', 'passwd', name]);
  if (result.status !== 0) return undefined;
  const fields = result.stdout.trim().split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! };
}

/** Live (non-zombie) processes whose real uid is `uid`, from /proc. */
function processesOf(uid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      if (Number(real) === uid && state !== 'Z') found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Entries of /tmp owned by `uid` (tmux's socket directory, anything else a tenant left). */
const tmpEntriesOf = (uid: number): string[] =>
  readdirSync('/tmp')
    .map((entry) => path.join('/tmp', entry))
    .filter((entry) => {
      try {
        return lstatSync(entry).uid === uid;
      } catch {
        return false;
      }
    });

/** What `tenant add --json` prints (the service's report). */
type TenantJson = TenantReport;

interface PsRow {
  tenant_id: string;
  host: string;
  agent: string;
  state: string;
  pane: string;
  pane_pid: number | null;
}

const addJson = (name: string, extra: string[] = []): TenantJson => {
  const result = mosaic(['tenant', 'add', name, '--json', ...extra]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as TenantJson;
};

/**
 * Registers the finaliser for users this test creates: their tmux servers (as them), their
 * processes (by PID), the users with their homes, their linger flags and /tmp directories.
 */
function tenantsRemovedAfterTest(): { claim(name: string): void } {
  const names: string[] = [];
  const lingerDirExisted = existsSync(LINGER_DIR);
  onTestFinished(async () => {
    const problems: string[] = [];
    for (const name of names) {
      const account = passwd(name);
      if (account) {
        asUser(name, account.home, ['tmux', '-L', `mosaic-${name}`, 'kill-server']);
        const pids = processesOf(account.uid);
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await eventually(() => processesOf(account.uid).length === 0, 15_000, `the processes of ${name} to end`);
        const removed = run(['userdel', '-r', name]);
        // userdel -r warns (and may exit non-zero) when there is no mail spool: only its result counts.
        if (passwd(name)) problems.push(`userdel -r ${name} failed: ${removed.stderr.trim()}`);
        if (account.home.startsWith('/home/') && existsSync(account.home)) rmSync(account.home, { recursive: true, force: true });
        for (const entry of tmpEntriesOf(account.uid)) rmSync(entry, { recursive: true, force: true });
        if (tmpEntriesOf(account.uid).length > 0) problems.push(`${name} left ${tmpEntriesOf(account.uid).join(', ')}`);
        if (existsSync(account.home)) problems.push(`${account.home} is still there`);
      }
      if (run(['getent', 'group', name]).status === 0) run(['groupdel', name]);
      rmSync(path.join(LINGER_DIR, name), { force: true });
    }
    if (!lingerDirExisted && existsSync(LINGER_DIR) && readdirSync(LINGER_DIR).length === 0) rmdirSync(LINGER_DIR);
    for (const name of names) {
      if (passwd(name)) problems.push(`user ${name} still exists`);
      if (run(['getent', 'group', name]).status === 0) problems.push(`group ${name} still exists`);
      if (existsSync(path.join(LINGER_DIR, name))) problems.push(`${LINGER_DIR}/${name} still exists`);
    }
    if (problems.length > 0) throw new Error(`tenant cleanup left things behind:\n${problems.join('\n')}`);
  });
  return {
    claim(name) {
      // Only a user this test is about to create is ever removed.
      if (passwd(name)) throw new Error(`user ${name} exists already; not touching it`);
      names.push(name);
    },
  };
}

describe.skipIf(SKIP)(`mosaic tenant add with real Linux users${SKIP ? ' (skipped: needs root)' : ''}`, () => {
  it('runs as root (CI never passes without having run these)', () => {
    expect(process.getuid?.(), 'tenant add creates Linux users: run the tests as root').toBe(0);
  });

  it('refuses bad names (exit 2) and system accounts (exit 1), changing nothing', () => {
    for (const name of ['Bad', '1x', 'root', 'a-very-long-name-that-is-not-a-login-name']) {
      const result = mosaic(['tenant', 'add', name]);
      expect(result.status, `${name}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/mosaic: .*(not a valid tenant name|root cannot be a tenant)/);
    }
    const system = run(['getent', 'passwd'])
      .stdout.split('\n')
      .map((line) => line.split(':'))
      .find((fields) => Number(fields[2]) > 0 && Number(fields[2]) < 1000 && /^[a-z_][a-z0-9_-]*$/.test(fields[0]!));
    expect(system, 'a system account to try').toBeDefined();
    const [name, , uid, , , home] = system!;
    const rosterOfSystem = path.join(home!, '.config', 'mosaic');
    const hadRoster = existsSync(rosterOfSystem);
    const result = mosaic(['tenant', 'add', name!]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${name} is a system account (uid ${uid}): refusing`);
    expect(existsSync(path.join(LINGER_DIR, name!))).toBe(false);
    expect(existsSync(rosterOfSystem)).toBe(hadRoster);
  });

  it('adds two tenants, each with a private roster and socket; neither can see or touch the other', async () => {
    const cleanup = tenantsRemovedAfterTest();
    // The tenants run the built CLI from this checkout: it must be readable by other users.
    const probe = run(['runuser', '-u', 'nobody', '--', process.execPath, CLI, '--version']);
    expect(
      probe.status,
      `${CLI} cannot be run by other users (${probe.stderr.trim()}): make ${ROOT} (dist, node_modules, framework) readable and searchable by others`,
    ).toBe(0);

    const a = randomName();
    let b = randomName();
    while (b === a) b = randomName();
    cleanup.claim(a);
    cleanup.claim(b);

    // A, as JSON.
    const addedA = addJson(a);
    expect(addedA).toMatchObject({
      tenant_id: a,
      user: a,
      home: `/home/${a}`,
      created: true,
      roster: 'written',
      roster_file: `/home/${a}/.config/mosaic/fleet/roster.yaml`,
      ssh_hint: { hosts: { [a]: { ssh: `${a}@localhost` } } },
      hints: [],
    });
    expect(addedA.uid).toBeGreaterThanOrEqual(1000);
    expect(['loginctl', 'file']).toContain(addedA.linger);
    if (addedA.linger === 'file') expect(readFileSync(path.join(LINGER_DIR, a), 'utf8')).toBe('');

    // B, in the human form: what it prints, including the roster lines for the operator.
    const human = mosaic(['tenant', 'add', b]);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^tenant +${b} on `, 'm'));
    expect(human.stdout).toMatch(/^user +\S+ \(uid \d+\), created$/m);
    expect(human.stdout).toContain(`hosts:\n  ${b}:\n    ssh: ${b}@localhost\n`);

    // Again without --force: the user is reused and the roster kept, byte for byte and in place.
    const before = { text: readFileSync(addedA.roster_file, 'utf8'), ino: statSync(addedA.roster_file).ino };
    expect(addJson(a)).toMatchObject({ created: false, roster: 'kept', uid: addedA.uid });
    expect({ text: readFileSync(addedA.roster_file, 'utf8'), ino: statSync(addedA.roster_file).ino }).toEqual(before);
    const addedB = addJson(b);
    expect(addedB).toMatchObject({ created: false, roster: 'kept' });
    // --force writes it anew (a new file renamed into place), still the tenant's and private.
    expect(addJson(a, ['--force'])).toMatchObject({ roster: 'replaced' });
    expect(statSync(addedA.roster_file).ino).not.toBe(before.ino);

    for (const t of [addedA, addedB]) {
      const account = passwd(t.user)!;
      expect(account.uid).toBe(t.uid);
      const roster = statSync(t.roster_file);
      expect([roster.uid, roster.gid, roster.mode & 0o777]).toEqual([account.uid, account.gid, 0o600]);
      for (const dir of [t.home, `${t.home}/.config`, `${t.home}/.config/mosaic`, `${t.home}/.config/mosaic/fleet`]) {
        const info = statSync(dir);
        expect([dir, info.uid, info.gid, info.mode & 0o777]).toEqual([dir, account.uid, account.gid, 0o700]);
      }
      expect(readFileSync(t.roster_file, 'utf8')).toMatch(
        new RegExp(`^tenant_id: "${t.user}"$[\\s\\S]*socket_name: "mosaic-${t.user}"$`, 'm'),
      );
    }

    // A starts its stub fleet, as A.
    const mosaicAs = (t: TenantJson, args: string[]): Run => asUser(t.user, t.home, [process.execPath, CLI, ...args]);
    const started = mosaicAs(addedA, ['fleet', 'start', '--json']);
    expect(started.status, started.stderr).toBe(0);
    const rowsA = await eventually(
      () => {
        const ps = mosaicAs(addedA, ['fleet', 'ps', '--json']);
        if (ps.status !== 0) return undefined;
        const rows = JSON.parse(ps.stdout) as PsRow[];
        return rows.length === 3 && rows.every((r) => r.state === 'running' && r.pane === 'alive' && r.pane_pid) ? rows : undefined;
      },
      20_000,
      `${a}'s three stub agents to run`,
    );
    expect(rowsA.map((r) => [r.tenant_id, r.agent])).toEqual([
      [a, 'alpha'],
      [a, 'beta'],
      [a, 'gamma'],
    ]);
    const socketA = asUser(a, addedA.home, ['tmux', '-L', `mosaic-${a}`, 'list-sessions', '-F', '#{socket_path}']).stdout.split('\n')[0]!;
    expect(socketA).toMatch(new RegExp(`/mosaic-${a}$`));
    expect(lstatSync(socketA).uid).toBe(addedA.uid);

    // B cannot reach A's tmux server: not by its path, not by its name.
    const bySocket = asUser(b, addedB.home, ['tmux', '-S', socketA, 'list-sessions']);
    expect(bySocket.status).not.toBe(0);
    expect(bySocket.stderr).toMatch(/Permission denied/);
    expect(asUser(b, addedB.home, ['tmux', '-S', socketA, 'kill-server']).status).not.toBe(0);
    expect(asUser(b, addedB.home, ['tmux', '-L', `mosaic-${a}`, 'list-sessions']).status).not.toBe(0);
    // B cannot read A's roster, nor list or write A's fleet directory.
    const fsProbe = (op: string, target: string): string =>
      asUser(b, addedB.home, [
        process.execPath,
        '-e',
        `const fs = require('node:fs'); try { fs.${op}; console.log('ok') } catch (e) { console.log(e.code) }`,
        target,
      ]).stdout.trim();
    expect(fsProbe('readFileSync(process.argv[1])', addedA.roster_file)).toBe('EACCES');
    expect(fsProbe('readdirSync(process.argv[1])', path.dirname(addedA.roster_file))).toBe('EACCES');
    expect(fsProbe("writeFileSync(process.argv[1] + '/x', 'x')", path.dirname(addedA.roster_file))).toBe('EACCES');
    expect(fsProbe('readdirSync(process.argv[1])', addedA.home)).toBe('EACCES');
    // B's mosaic: its own fleet (nothing running), none of A's agents; A's roster refused.
    const psB = mosaicAs(addedB, ['fleet', 'ps', '--json']);
    expect(psB.status, psB.stderr).toBe(0);
    const rowsB = JSON.parse(psB.stdout) as PsRow[];
    expect(rowsB.every((r) => r.tenant_id === b)).toBe(true);
    expect(rowsB.filter((r) => r.state === 'running' || r.pane !== 'missing')).toEqual([]);
    const pidsA = new Set(rowsA.map((r) => r.pane_pid));
    expect(rowsB.filter((r) => pidsA.has(r.pane_pid))).toEqual([]);
    const psBonA = mosaicAs(addedB, ['--roster', addedA.roster_file, 'fleet', 'ps', '--json']);
    expect(psBonA.status).toBe(1);
    expect(psBonA.stderr).toMatch(/permission denied|EACCES/i);
    // A's fleet is untouched by all of that.
    const after = JSON.parse(mosaicAs(addedA, ['fleet', 'ps', '--json']).stdout) as PsRow[];
    expect(after.map((r) => [r.tenant_id, r.agent, r.state, r.pane_pid])).toEqual(rowsA.map((r) => [a, r.agent, 'running', r.pane_pid]));
  });
});
