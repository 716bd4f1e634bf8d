import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandRunner, RunResult } from '../system/runner.js';
import { unitNames } from './names.js';
import { classifyUnitPath, parseListUnits, querySystemdUnits, scanEnablement } from './unit-states.js';

/** As systemd 252 prints `systemctl --user list-units --all --output=json 'psman-agent@*.service'` (a test fleet). */
const LIST_UNITS = `[{"unit":"psman-agent@on.service","load":"loaded","active":"active","sub":"exited","description":"Mosaic fleet agent on"},{"unit":"psman-agent@off.service","load":"loaded","active":"active","sub":"exited","description":"Mosaic fleet agent off"},{"unit":"psman-agent@idle.service","load":"loaded","active":"inactive","sub":"dead","description":"Mosaic fleet agent idle"}]
`;
/** Captured from systemd 252 (`systemctl --user show --property=UnitPath --value`), uid 0. */
const UNIT_PATH =
  '/root/.config/systemd/user.control /run/user/0/systemd/user.control /run/user/0/systemd/transient /run/user/0/systemd/generator.early /root/.config/systemd/user /etc/xdg/systemd/user /etc/systemd/user /run/user/0/systemd/user /run/systemd/user /run/user/0/systemd/generator /root/.local/share/systemd/user /usr/local/share/systemd/user /usr/share/systemd/user /usr/local/lib/systemd/user /usr/lib/systemd/user /run/user/0/systemd/generator.late\n';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const result = (argv: readonly string[], stdout: string, status = 0, stderr = ''): RunResult => ({
  argv,
  status,
  signal: null,
  stdout,
  stderr,
  durationMs: 1,
});

describe('parseListUnits', () => {
  it('maps the JSON listing by unit name', () => {
    const units = parseListUnits(LIST_UNITS);
    expect([...units.keys()]).toEqual(['psman-agent@on.service', 'psman-agent@off.service', 'psman-agent@idle.service']);
    expect(units.get('psman-agent@idle.service')).toEqual({
      unit: 'psman-agent@idle.service',
      load: 'loaded',
      active: 'inactive',
      sub: 'dead',
    });
    expect(parseListUnits('[]\n').size).toBe(0);
    expect(() => parseListUnits('{"unit":1}')).toThrow(/array/);
  });
});

describe('enablement', () => {
  it('splits the manager unit path into what survives a reboot and what does not', () => {
    const dirs = classifyUnitPath(UNIT_PATH.trim().split(' '));
    expect(dirs.runtime).toEqual([
      '/run/user/0/systemd/user.control',
      '/run/user/0/systemd/transient',
      '/run/user/0/systemd/user',
      '/run/systemd/user',
    ]);
    expect(dirs.persistent).toContain('/root/.config/systemd/user');
    expect(dirs.persistent).toContain('/run/user/0/systemd/generator'); // regenerated at every boot
  });

  it('finds instance links in .wants/.requires directories, persistent beating runtime', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'mosaic-units-'));
    dirs.push(root);
    const config = path.join(root, 'config');
    const run = path.join(root, 'run');
    mkdirSync(path.join(config, 'default.target.wants'), { recursive: true });
    mkdirSync(path.join(run, 'default.target.wants'), { recursive: true });
    mkdirSync(path.join(run, 'other.target.requires'), { recursive: true });
    writeFileSync(path.join(config, 'psman-agent@.service'), '[Unit]\n');
    symlinkSync(path.join(config, 'psman-agent@.service'), path.join(config, 'default.target.wants', 'psman-agent@on.service'));
    symlinkSync(path.join(config, 'psman-agent@.service'), path.join(run, 'default.target.wants', 'psman-agent@rt.service'));
    symlinkSync(path.join(config, 'psman-agent@.service'), path.join(run, 'other.target.requires', 'psman-agent@on.service'));
    symlinkSync(path.join(config, 'psman-agent@.service'), path.join(config, 'default.target.wants', 'other-agent@x.service'));
    const found = scanEnablement({ persistent: [config, path.join(root, 'missing')], runtime: [run] }, 'psman-agent@');
    expect(Object.fromEntries(found)).toEqual({ 'psman-agent@on.service': 'enabled', 'psman-agent@rt.service': 'enabled-runtime' });
  });
});

describe('querySystemdUnits', () => {
  it('asks systemctl twice whatever the fleet size, with the fleet unit pattern', async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = async (argv) => {
      calls.push([...argv]);
      return result(argv, argv.includes('list-units') ? LIST_UNITS : '/nonexistent/a /run/user/0/nonexistent\n');
    };
    const view = await querySystemdUnits(runner, { XDG_RUNTIME_DIR: '/run/user/0' }, 0, unitNames({ MOSAIC_SYSTEMD_UNIT_PREFIX: 'psman' }));
    expect(calls).toEqual([
      ['systemctl', '--user', '--no-pager', 'list-units', '--all', '--output=json', '--', 'psman-agent@*.service'],
      ['systemctl', '--user', '--no-pager', 'show', '--property=UnitPath', '--value'],
    ]);
    expect(view.available).toBe(true);
    expect(view.units.get('psman-agent@off.service')?.active).toBe('active');
  });

  it('reports an unreachable manager instead of failing', async () => {
    const runner: CommandRunner = async (argv) => result(argv, '', 1, 'Failed to connect to bus: No medium found\n');
    const view = await querySystemdUnits(runner, {}, 0, unitNames({}));
    expect(view.available).toBe(false);
    expect(view.error).toBe('systemctl --user list-units failed: Failed to connect to bus: No medium found');
    const missing: CommandRunner = () => Promise.reject(new Error('systemctl: command not found'));
    expect((await querySystemdUnits(missing, {}, 0, unitNames({}))).error).toMatch(/command not found/);
  });
});
