import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError, UserError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import { localHost } from '../host/local.js';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import type { CommandRunner, RunResult } from '../system/runner.js';
import { addTenant, type AsUser, type TenantAccount } from './tenant.js';

/**
 * The tenant service against a scripted getent/useradd/loginctl: which commands it runs, in
 * which order, and what it writes. Homes and the linger directory are temporary directories; the
 * real users, ownership and isolation are exercised in test/e2e/tenant.test.ts.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const result = (argv: readonly string[], status: number, stdout = '', stderr = ''): RunResult => ({
  argv,
  status,
  signal: null,
  stdout,
  stderr,
  durationMs: 1,
});

interface World {
  host: Host;
  calls: string[][];
  home: string;
  lingerDir: string;
  /** Who the file work ran as (the injected AsUser records it). */
  ranAs: TenantAccount[];
  asUser: AsUser;
}

/**
 * A machine with the users in `passwd` (name → uid); useradd adds `name` with uid 1001 and makes
 * its home. `loginctl` answers with `lingerStatus` (127 with no stderr: not installed).
 */
function world(options: { passwd?: Record<string, number>; uid?: number; lingerStatus?: number; name?: string } = {}): World {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-tenant-'));
  dirs.push(dir);
  const users = new Map(Object.entries(options.passwd ?? {}));
  const homeOf = (name: string): string => path.join(dir, 'home', name);
  for (const name of users.keys()) mkdirSync(homeOf(name), { recursive: true, mode: 0o755 });
  const calls: string[][] = [];
  const runner: CommandRunner = async (argv) => {
    calls.push([...argv]);
    const [tool, ...args] = argv;
    switch (tool) {
      case 'getent': {
        const uid = users.get(args[1]!);
        return uid === undefined ? result(argv, 2) : result(argv, 0, `${args[1]}:x:${uid}:${uid}::${homeOf(args[1]!)}:/bin/sh\n`);
      }
      case 'useradd': {
        const name = argv.at(-1)!;
        users.set(name, 1001);
        mkdirSync(homeOf(name), { recursive: true, mode: 0o755 });
        return result(argv, 0);
      }
      case 'loginctl':
        return options.lingerStatus === undefined || options.lingerStatus === 0
          ? result(argv, 0)
          : result(argv, options.lingerStatus, '', "System has not been booted with systemd as init system (PID 1). Can't operate.\n");
      default:
        return result(argv, 127, '', `${tool}: unexpected in this test`);
    }
  };
  const host: Host = { ...localHost({ env: { PATH: '/usr/bin' }, runner }), uid: options.uid ?? 0 };
  const ranAs: TenantAccount[] = [];
  const asUser: AsUser = (account, work) => {
    ranAs.push(account);
    return work();
  };
  return { host, calls, home: homeOf(options.name ?? 'alice'), lingerDir: path.join(dir, 'linger'), ranAs, asUser };
}

const mode = (file: string): number => statSync(file).mode & 0o777;
const rosterOf = (home: string): string => path.join(home, '.config', 'mosaic', 'fleet', 'roster.yaml');

describe('addTenant', () => {
  it('a new user: getent, useradd, getent, loginctl; then the starter roster, private and written as the tenant', async () => {
    const w = world();
    const report = await addTenant(w.host, 'alice', { lingerDir: w.lingerDir, asUser: w.asUser });
    expect(w.calls).toEqual([
      ['getent', 'passwd', 'alice'],
      ['useradd', '--create-home', '--user-group', '--shell', '/bin/sh', 'alice'],
      ['getent', 'passwd', 'alice'],
      ['loginctl', 'enable-linger', 'alice'],
    ]);
    expect(report).toMatchObject({
      tenant_id: 'alice',
      host: os.hostname(),
      user: 'alice',
      uid: 1001,
      home: w.home,
      created: true,
      linger: 'loginctl',
      roster: 'written',
      roster_file: rosterOf(w.home),
      ssh_hint: { hosts: { alice: { ssh: 'alice@localhost' } } },
      hints: [],
    });
    expect(w.ranAs).toEqual([{ user: 'alice', uid: 1001, gid: 1001, home: w.home }]);
    // The new home is private, and so is everything mosaic made in it.
    expect(mode(w.home)).toBe(0o700);
    for (const dir of ['.config', '.config/mosaic', '.config/mosaic/fleet']) expect(mode(path.join(w.home, dir))).toBe(0o700);
    expect(mode(report.roster_file)).toBe(0o600);
    expect(existsSync(w.lingerDir)).toBe(false); // logind answered: no flag file of ours
    // The stub profile, on the tenant's own socket and naming the tenant.
    const roster = parseRoster(readFileSync(report.roster_file, 'utf8'), report.roster_file, {
      env: { HOME: w.home },
      knownRuntimes: BUILTIN_RUNTIMES,
      defaultTenant: 'someone-else',
    });
    expect(roster.tenantId).toBe('alice');
    expect(roster.socketName).toBe('mosaic-alice');
    expect(roster.agents.map((a) => [a.name, a.runtime])).toEqual([
      ['alpha', 'stub'],
      ['beta', 'stub'],
      ['gamma', 'stub'],
    ]);
  });

  it('an existing user (uid >= 1000) is reused: no useradd, its home mode left alone, an existing roster kept', async () => {
    const w = world({ passwd: { alice: 1500 } });
    const file = rosterOf(w.home);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, 'mine\n', { mode: 0o644 });
    const report = await addTenant(w.host, 'alice', { lingerDir: w.lingerDir, asUser: w.asUser });
    expect(w.calls).toEqual([
      ['getent', 'passwd', 'alice'],
      ['loginctl', 'enable-linger', 'alice'],
    ]);
    expect(report).toMatchObject({ created: false, uid: 1500, roster: 'kept', roster_file: file });
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
    expect(mode(w.home)).toBe(0o755);
    expect(report.hints).toEqual([expect.stringContaining(`chmod 700 ${w.home}`)]);
  });

  it("--force replaces an existing roster atomically, 0600, and makes mosaic's own directories 0700", async () => {
    const w = world({ passwd: { alice: 1500 } });
    const file = rosterOf(w.home);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, 'mine\n', { mode: 0o644 });
    const report = await addTenant(w.host, 'alice', { lingerDir: w.lingerDir, asUser: w.asUser, force: true, socket: 'team.a' });
    expect(report.roster).toBe('replaced');
    expect(readFileSync(file, 'utf8')).toContain('socket_name: "team.a"');
    expect(mode(file)).toBe(0o600);
    expect(mode(path.dirname(file))).toBe(0o700);
    expect(mode(path.join(w.home, '.config', 'mosaic'))).toBe(0o700);
  });

  it('refuses a system account, and runs nothing after looking it up', async () => {
    const w = world({ passwd: { daemon: 1 }, name: 'daemon' });
    await expect(addTenant(w.host, 'daemon', { lingerDir: w.lingerDir, asUser: w.asUser })).rejects.toThrow(
      /daemon is a system account \(uid 1\): refusing/,
    );
    expect(w.calls).toEqual([['getent', 'passwd', 'daemon']]);
    expect(w.ranAs).toEqual([]);
    expect(existsSync(path.join(w.home, '.config'))).toBe(false);
    // nobody's overflow uid is above 1000 but is no tenant either.
    const n = world({ passwd: { nobody: 65534 }, name: 'nobody' });
    await expect(addTenant(n.host, 'nobody', { lingerDir: n.lingerDir, asUser: n.asUser })).rejects.toBeInstanceOf(UserError);
  });

  it.each(['Alice', '1alice', 'al ice', 'a'.repeat(32), '', '-x', 'root', 'x;rm', '../etc'])(
    'refuses the name %j as a usage error (exit 2) with nothing run',
    async (name) => {
      const w = world();
      const error = await addTenant(w.host, name, { lingerDir: w.lingerDir, asUser: w.asUser }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect(w.calls).toEqual([]);
    },
  );

  it('refuses a bad --socket as a usage error with nothing run', async () => {
    const w = world();
    await expect(addTenant(w.host, 'alice', { socket: '../x', asUser: w.asUser })).rejects.toBeInstanceOf(UsageError);
    expect(w.calls).toEqual([]);
  });

  it('refuses a bad name as a usage error whose hint matches the rule (a leading "_" is not allowed), with nothing run', async () => {
    const w = world();
    const refused = addTenant(w.host, '_alice', { asUser: w.asUser });
    await expect(refused).rejects.toBeInstanceOf(UsageError);
    await expect(refused).rejects.toMatchObject({
      hint: 'lower-case letters, digits, "_" and "-", starting with a letter, 31 characters at most',
    });
    expect(w.calls).toEqual([]);
  });

  it('not root: a UserError that says to run it with sudo, with nothing run', async () => {
    const w = world({ uid: 1000 });
    const error = (await addTenant(w.host, 'alice', { asUser: w.asUser }).catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.exitCode).toBe(1);
    expect(error.hint).toContain('sudo mosaic tenant add alice');
    expect(w.calls).toEqual([]);
  });

  it('loginctl failing: falls back to the linger flag file, and still writes the roster', async () => {
    const w = world({ lingerStatus: 1 });
    const report = await addTenant(w.host, 'alice', { lingerDir: w.lingerDir, asUser: w.asUser });
    expect(w.calls.at(-1)).toEqual(['loginctl', 'enable-linger', 'alice']);
    expect(report.linger).toBe('file');
    expect(report.linger_detail).toContain('System has not been booted with systemd');
    const flag = path.join(w.lingerDir, 'alice');
    expect(readFileSync(flag, 'utf8')).toBe('');
    expect(mode(flag)).toBe(0o644);
    expect(mode(w.lingerDir)).toBe(0o755);
    expect(report.roster).toBe('written');
    expect(report.hints).toEqual([]);
    // Again: the flag is left as it is, nothing fails.
    await expect(addTenant(w.host, 'alice', { lingerDir: w.lingerDir, asUser: w.asUser })).resolves.toMatchObject({
      linger: 'file',
      roster: 'kept',
      created: false,
    });
  });

  it('linger impossible both ways: reported with a hint, the command still succeeds', async () => {
    const w = world({ lingerStatus: 1 });
    writeFileSync(w.lingerDir, 'a file where the directory should be');
    const report = await addTenant(w.host, 'alice', { lingerDir: w.lingerDir, asUser: w.asUser });
    expect(report.linger).toBe('failed');
    expect(report.hints).toEqual([expect.stringContaining('loginctl enable-linger alice')]);
    expect(report.roster).toBe('written');
  });

  it('useradd failing is the command failing (exit 1), with what useradd said', async () => {
    const w = world();
    const runner = w.host.runner;
    const host: Host = {
      ...w.host,
      runner: async (argv, options) => {
        if (argv[0] === 'useradd') throw new UserError('useradd --create-home … failed (exit 9): useradd: group alice exists');
        return runner(argv, options);
      },
    };
    await expect(addTenant(host, 'alice', { lingerDir: w.lingerDir, asUser: w.asUser })).rejects.toThrow(/group alice exists/);
    expect(existsSync(w.lingerDir)).toBe(false);
  });
});
