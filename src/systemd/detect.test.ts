import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemdUnitsEnabledFor } from './detect.js';
import { unitNames } from './names.js';
import { renderHolderUnit, type UnitContext } from './units.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function world(): { env: NodeJS.ProcessEnv; unitDir: string; install(roster: string): string; enable(file: string): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-detect-'));
  dirs.push(dir);
  const env = {
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_RUNTIME_DIR: path.join(dir, 'rt'),
    MOSAIC_SYSTEMD_UNIT_PREFIX: 'dt',
  };
  const unitDir = path.join(dir, 'config', 'systemd', 'user');
  mkdirSync(unitDir, { recursive: true });
  const names = unitNames(env);
  return {
    env,
    unitDir,
    install(roster) {
      const ctx: UnitContext = {
        names,
        version: '1.0.0',
        rosterFile: roster,
        root: '/cfg',
        agentsDir: '/cfg/agents',
        socket: 's',
        tmuxTmpdir: undefined,
        nodeBinary: '/usr/bin/node',
        mainScript: '/m.js',
        tmuxBinary: '/usr/bin/tmux',
        agentStartScript: '/a.sh',
        holderScript: '/h.sh',
        holderSession: '_holder',
      };
      const file = path.join(unitDir, names.holder);
      writeFileSync(file, renderHolderUnit(ctx));
      return file;
    },
    enable(file) {
      const wants = path.join(unitDir, 'default.target.wants');
      mkdirSync(wants, { recursive: true });
      symlinkSync(file, path.join(wants, names.holder));
    },
  };
}

describe('a roster without supervisor: runs under systemd when its units are installed and enabled', () => {
  it('no holder unit: built-in', () => {
    const w = world();
    expect(systemdUnitsEnabledFor(w.env, 0, '/cfg/roster.yaml')).toBe(false);
  });

  it('installed but not enabled: built-in; enabled: systemd', () => {
    const w = world();
    const file = w.install('/cfg/roster.yaml');
    expect(systemdUnitsEnabledFor(w.env, 0, '/cfg/roster.yaml')).toBe(false);
    w.enable(file);
    expect(systemdUnitsEnabledFor(w.env, 0, '/cfg/roster.yaml')).toBe(true);
  });

  it("enabled through the manager's own ~/.config (install-systemd linked the units there): systemd", () => {
    // This shell's XDG_CONFIG_HOME is not the manager's: `systemctl --user link` and `enable` put
    // their links in ~/.config/systemd/user, not next to the unit file.
    const w = world();
    const file = w.install('/cfg/roster.yaml');
    const wants = path.join(w.env.HOME!, '.config', 'systemd', 'user', 'default.target.wants');
    mkdirSync(wants, { recursive: true });
    symlinkSync(file, path.join(wants, unitNames(w.env).holder));
    expect(systemdUnitsEnabledFor(w.env, 0, '/cfg/roster.yaml')).toBe(true);
  });

  it('units installed and enabled for another roster file do not count', () => {
    const w = world();
    w.enable(w.install('/cfg/roster.yaml'));
    expect(systemdUnitsEnabledFor(w.env, 0, '/elsewhere/roster.yaml')).toBe(false);
    expect(systemdUnitsEnabledFor(w.env, 0, '/cfg/roster.yaml.bak')).toBe(false);
  });

  it('an unusable unit prefix is simply not systemd', () => {
    const w = world();
    expect(systemdUnitsEnabledFor({ ...w.env, MOSAIC_SYSTEMD_UNIT_PREFIX: '../x' }, 0, '/cfg/roster.yaml')).toBe(false);
  });
});
