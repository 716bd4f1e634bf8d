import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import type { CliResult, TestFleet } from './harness.js';

/**
 * The systemd e2e tests run against a real `systemd --user` manager. CI starts one with
 * `eval "$(scripts/user-systemd start)"` before `npm test`; locally, a logind session
 * (or the same script) provides it. Without one the tests are skipped visibly, except under
 * CI=true, where they fail: a CI run never passes without having exercised systemd.
 */
export interface ManagerProbe {
  available: boolean;
  reason: string;
  /** XDG_RUNTIME_DIR / DBUS_SESSION_BUS_ADDRESS that reach it. */
  env: NodeJS.ProcessEnv;
  unitPath: string[];
}

export function probeUserManager(): ManagerProbe {
  const env: NodeJS.ProcessEnv = {};
  const uid = process.getuid?.() ?? 0;
  env.XDG_RUNTIME_DIR = process.env.XDG_RUNTIME_DIR || `/run/user/${uid}`;
  if (process.env.DBUS_SESSION_BUS_ADDRESS) env.DBUS_SESSION_BUS_ADDRESS = process.env.DBUS_SESSION_BUS_ADDRESS;
  else if (existsSync(path.join(env.XDG_RUNTIME_DIR, 'bus'))) env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${env.XDG_RUNTIME_DIR}/bus`;
  const result = spawnSync('systemctl', ['--user', 'show', '--property=UnitPath', '--value'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.error || result.status !== 0) {
    const reason = result.error ? result.error.message : result.stderr.trim() || `exit ${result.status}`;
    return { available: false, reason: `no systemd user manager reachable (${reason})`, env, unitPath: [] };
  }
  return { available: true, reason: '', env, unitPath: result.stdout.trim().split(/\s+/) };
}

export const MANAGER = probeUserManager();
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
/** Run the systemd tests when a manager answers, and always in CI (where they then fail loudly). */
export const RUN_SYSTEMD_TESTS = MANAGER.available || IN_CI;

export interface SystemdWorld {
  prefix: string;
  env: NodeJS.ProcessEnv;
  holder: string;
  template: string;
  agentUnit(agent: string): string;
  mosaic(args: string[]): Promise<CliResult>;
  json<T>(args: string[]): Promise<T>;
  systemctl(args: string[]): CliResult;
  show(unit: string, property: string): string;
}

/**
 * A test's systemd world on top of createFleet(): a unique unit prefix (so parallel test files
 * never share a unit), XDG_CONFIG_HOME under the test's directory (or `configHome`), and a
 * finaliser that stops, disables and unlinks every unit with that prefix, whatever state the
 * test left behind.
 */
export function systemdWorld(fleet: TestFleet, options: { configHome?: string } = {}): SystemdWorld {
  const prefix = `mt${randomBytes(5).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...fleet.env,
    ...MANAGER.env,
    XDG_CONFIG_HOME: options.configHome ?? path.join(fleet.dir, 'config'),
    MOSAIC_SYSTEMD_UNIT_PREFIX: prefix,
  };
  const systemctl = (args: string[]): CliResult => {
    const result = spawnSync('systemctl', ['--user', '--no-pager', ...args], { env, encoding: 'utf8', timeout: 120_000 });
    return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  };
  const world: SystemdWorld = {
    prefix,
    env,
    holder: `${prefix}-tmux-holder.service`,
    template: `${prefix}-agent@.service`,
    agentUnit: (agent) => `${prefix}-agent@${agent}.service`,
    mosaic: (args) => fleet.mosaic(args, { env }),
    async json<T>(args: string[]): Promise<T> {
      const result = await fleet.mosaic([...args, '--json'], { env });
      if (result.stdout.trim() === '') throw new Error(`mosaic ${args.join(' ')} printed no JSON (${result.status}): ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    },
    systemctl,
    show: (unit, property) => systemctl(['show', `--property=${property}`, '--value', '--', unit]).stdout.trim(),
  };
  onTestFinished(() => cleanupUnits(world));
  return world;
}

/** Stop and forget every unit with the world's prefix, and remove every link or file named after it. */
export function cleanupUnits(world: SystemdWorld): void {
  const pattern = `${world.prefix}-*`;
  world.systemctl(['stop', '--', pattern, `app-${world.prefix}*`]);
  const files = JSON.parse(world.systemctl(['list-unit-files', '--output=json', '--', pattern]).stdout || '[]') as { unit_file: string }[];
  const names = files.map((f) => f.unit_file).filter((name) => !name.includes('@') || name.endsWith('@.service'));
  if (names.length > 0) world.systemctl(['disable', '--', ...names]);
  // Whatever disable could not remove (dangling links after the test dir was deleted): by name, in every unit dir.
  for (const dir of MANAGER.unitPath) {
    for (const sub of ['', ...listDir(dir).filter((e) => /\.(wants|requires)$/.test(e))]) {
      for (const entry of listDir(path.join(dir, sub))) {
        if (!entry.startsWith(`${world.prefix}-`)) continue;
        const file = path.join(dir, sub, entry);
        if (lstatSync(file).isSymbolicLink() || readFileSync(file, 'utf8').includes('mosaic-fingerprint')) unlinkSync(file);
      }
    }
  }
  world.systemctl(['daemon-reload']);
  world.systemctl(['reset-failed', '--', pattern]);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Units of this world the manager still knows (loaded or as files), including any slice named after it. */
export function leftoverUnits(world: SystemdWorld): string[] {
  const pattern = `${world.prefix}-*`;
  const loaded = JSON.parse(
    world.systemctl(['list-units', '--all', '--output=json', '--', pattern, `app-${world.prefix}*`]).stdout || '[]',
  ) as { unit: string }[];
  const files = JSON.parse(world.systemctl(['list-unit-files', '--output=json', '--', pattern]).stdout || '[]') as { unit_file: string }[];
  return [...loaded.map((u) => u.unit), ...files.map((f) => f.unit_file)];
}

/** `#{pane_pid}` of every session on the fleet's socket. */
export function panePids(fleet: TestFleet): Record<string, number> {
  const result = fleet.tmux(['list-panes', '-a', '-F', '#{session_name} #{pane_pid}']);
  if (result.status !== 0) return {};
  return Object.fromEntries(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map(([session, pid]) => [session!, Number(pid)]),
  );
}

export function tmuxServerPid(fleet: TestFleet): number | undefined {
  const result = fleet.tmux(['display-message', '-p', '#{pid}']);
  return result.status === 0 ? Number(result.stdout.trim()) : undefined;
}
