import path from 'node:path';
import { listDirectory } from '../system/fs.js';
import { runCommand, type CommandRunner } from '../system/runner.js';
import { managerSocketPath, withManagerBus } from './manager-bus.js';
import type { UnitNames } from './names.js';

export interface UnitState {
  unit: string;
  load: string;
  active: string;
  sub: string;
}

/**
 * Whether a unit comes back after a reboot. `enabled`: a .wants/.requires link in a
 * persistent unit directory. `enabled-runtime`: only under /run, gone at reboot.
 */
export type Enablement = 'enabled' | 'enabled-runtime' | 'disabled';

export interface SystemdView {
  /** The listing ran; when false, `error` says why and states are unknown. */
  available: boolean;
  error: string | null;
  units: Map<string, UnitState>;
  enablement: Map<string, Enablement>;
}

/** `systemctl --user list-units --output=json` → unit name → state. Throws on malformed output. */
export function parseListUnits(json: string): Map<string, UnitState> {
  const data: unknown = JSON.parse(json.trim() || '[]');
  if (!Array.isArray(data)) throw new Error('systemctl list-units --output=json did not return an array');
  const units = new Map<string, UnitState>();
  for (const item of data as Record<string, unknown>[]) {
    if (typeof item?.unit !== 'string') continue;
    units.set(item.unit, {
      unit: item.unit,
      load: String(item.load ?? ''),
      active: String(item.active ?? ''),
      sub: String(item.sub ?? ''),
    });
  }
  return units;
}

export interface UnitDirectories {
  /** Survive a reboot: the user config dir (where `systemctl --user enable` links), /etc, vendor dirs. */
  persistent: string[];
  /** Under /run: `enable --runtime` links live here and vanish at reboot. */
  runtime: string[];
}

/**
 * Fallback when the manager cannot be asked: the usual user unit directories. With an
 * XDG_CONFIG_HOME of its own, this shell's config directory is not the one a user manager started
 * by logind reads (`~/.config`): install-systemd then links the units into the manager's and
 * `enable` puts its links there, so that directory is searched too.
 */
export function userUnitDirectories(env: NodeJS.ProcessEnv, uid: number): UnitDirectories {
  const home = env.HOME ?? '/';
  const managerConfig = path.join(home, '.config');
  const config = env.XDG_CONFIG_HOME || managerConfig;
  const data = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  const runtimeDir = env.XDG_RUNTIME_DIR || `/run/user/${uid}`;
  return {
    persistent: [
      path.join(config, 'systemd', 'user'),
      ...(path.resolve(config) === path.resolve(managerConfig) ? [] : [path.join(managerConfig, 'systemd', 'user')]),
      '/etc/xdg/systemd/user',
      '/etc/systemd/user',
      path.join(data, 'systemd', 'user'),
      '/usr/local/lib/systemd/user',
      '/usr/lib/systemd/user',
    ],
    runtime: [path.join(runtimeDir, 'systemd', 'user'), '/run/systemd/user'],
  };
}

/**
 * The manager's own unit search path (`systemctl --user show -p UnitPath`), split into
 * directories that survive a reboot and those under /run that do not. Generator output
 * lives under /run but is generated again at every boot, so it counts as persistent.
 */
export function classifyUnitPath(unitPath: readonly string[]): UnitDirectories {
  const dirs: UnitDirectories = { persistent: [], runtime: [] };
  for (const dir of unitPath) {
    const volatile = dir.startsWith('/run/') && !/\/generator(\.early|\.late)?$/.test(dir);
    (volatile ? dirs.runtime : dirs.persistent).push(dir);
  }
  return dirs;
}

/**
 * Enablement of every unit whose name starts with `prefix`, found the way systemd finds
 * it at boot: a link named after the unit inside some `<target>.wants/` or `.requires/`
 * directory. A handful of directory reads, whatever the fleet size. (Per-instance state
 * of a template is not in `list-unit-files`, which only reports the template as
 * "indirect", and asking the manager per unit costs ~1 ms each.)
 */
export function scanEnablement(dirs: UnitDirectories, prefix: string): Map<string, Enablement> {
  const result = new Map<string, Enablement>();
  const visit = (dir: string, state: Enablement): void => {
    for (const entry of listDirectory(dir)) {
      if (!/\.(wants|requires|upholds)$/.test(entry)) continue;
      for (const link of listDirectory(path.join(dir, entry))) {
        if (!link.startsWith(prefix)) continue;
        if (state === 'enabled' || !result.has(link)) result.set(link, state);
      }
    }
  };
  for (const dir of dirs.runtime) visit(dir, 'enabled-runtime');
  for (const dir of dirs.persistent) visit(dir, 'enabled');
  return result;
}

/** What the manager said: its agent units' states (or why it could not say) and its unit search path. */
type ManagerAnswer = { units: Map<string, UnitState>; unitPath: string[] } | { error: string; unitPath: string[] };

/**
 * Two questions to the manager whatever the fleet size: the agent units' states and the manager's unit path, then
 * the enablement scan. Asked over the manager's socket with the real runner (decision 029), else with two
 * `systemctl --user` calls. A missing user manager is reported, not thrown: `fleet ps` still shows the other planes.
 */
export async function querySystemdUnits(
  runner: CommandRunner,
  env: NodeJS.ProcessEnv,
  uid: number,
  names: UnitNames,
): Promise<SystemdView> {
  const socket = runner === runCommand ? managerSocketPath(env) : undefined;
  const answer = (socket ? await askOverSocket(socket, names) : undefined) ?? (await askSystemctl(runner, env, names));
  const dirs = answer.unitPath.length > 0 ? classifyUnitPath(answer.unitPath) : userUnitDirectories(env, uid);
  const enablement = scanEnablement(dirs, `${names.prefix}-agent@`);
  if ('error' in answer) return { available: false, error: answer.error, units: new Map(), enablement };
  return { available: true, error: null, units: answer.units, enablement };
}

/**
 * Over the manager's socket; undefined when that socket cannot be used. A unit path the manager does not give is
 * empty (the usual directories are searched then), as with systemctl. A manager that took the call and then failed
 * it or went silent is not asked again through systemctl, which would wait on it too.
 */
async function askOverSocket(socket: string, names: UnitNames): Promise<ManagerAnswer | undefined> {
  try {
    const asked = await withManagerBus(socket, 10_000, 'listing units', (bus) =>
      Promise.all([bus.listUnits([names.agentPattern]), bus.managerProperty('UnitPath').catch(() => [])]),
    );
    if (!asked) return undefined;
    const [listed, unitPath] = asked;
    return { units: new Map(listed.map((u) => [u.unit, u])), unitPath: Array.isArray(unitPath) ? unitPath.map(String) : [] };
  } catch (error) {
    return { error: (error as Error).message, unitPath: [] };
  }
}

async function askSystemctl(runner: CommandRunner, env: NodeJS.ProcessEnv, names: UnitNames): Promise<ManagerAnswer> {
  const systemctl = (args: string[]) =>
    runner(['systemctl', '--user', '--no-pager', ...args], { env, allowFailure: true, timeoutMs: 10_000 }).catch((error: Error) => ({
      status: null,
      stdout: '',
      stderr: error.message,
    }));
  const [units, manager] = await Promise.all([
    systemctl(['list-units', '--all', '--output=json', '--', names.agentPattern]),
    systemctl(['show', '--property=UnitPath', '--value']),
  ]);
  const unitPath = manager.status === 0 ? manager.stdout.trim().split(/\s+/).filter(Boolean) : [];
  if (units.status !== 0) {
    const reason = units.stderr.trim().split('\n')[0] || `exit ${String(units.status)}`;
    return { error: `systemctl --user list-units failed: ${reason}`, unitPath };
  }
  try {
    return { units: parseListUnits(units.stdout), unitPath };
  } catch (error) {
    return { error: (error as Error).message, unitPath };
  }
}
