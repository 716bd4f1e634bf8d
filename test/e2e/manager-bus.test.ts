import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCommand } from '../../src/system/runner.js';
import { Systemctl } from '../../src/systemd/systemctl.js';
import { createFleet, roster } from './harness.js';
import { MANAGER, RUN_SYSTEMD_TESTS, systemdWorld } from './systemd-env.js';

/**
 * The manager's private socket (decision 029) answers as `systemctl --user` does: the same states, the same
 * verdicts for jobs, and the fleet verbs make no systemctl call when it can be used.
 */
describe.skipIf(!RUN_SYSTEMD_TESTS)(`systemd manager over its socket${MANAGER.available ? '' : ` (${MANAGER.reason})`}`, () => {
  it('gives the states, job results and reset-failed that systemctl gives', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    const runtimeDir = MANAGER.env.XDG_RUNTIME_DIR!;
    const unitDir = path.join(runtimeDir, 'systemd', 'user');
    mkdirSync(unitDir, { recursive: true });
    // "mosaic-fingerprint" makes the world's finaliser remove the files too, should the test stop half-way.
    const template = (name: string, command: string): string => {
      const file = path.join(unitDir, `${world.prefix}-${name}@.service`);
      writeFileSync(file, `# mosaic-fingerprint: test\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=${command}\n`);
      onTestFinished(() => rmSync(file, { force: true }));
      return file;
    };
    template('ok', '/bin/true');
    template('bad', '/bin/false');
    expect(world.systemctl(['daemon-reload']).status).toBe(0);
    const ok = [`${world.prefix}-ok@a.service`, `${world.prefix}-ok@b.service`];
    const bad = `${world.prefix}-bad@a.service`;
    const missing = `${world.prefix}-none@a.service`;

    // The socket's client with a runner that fails: not one of its answers may come from systemctl.
    const bus = new Systemctl(() => Promise.reject(new Error('systemctl was run')), world.env, { bus: true });
    const cli = new Systemctl(runCommand, world.env, { bus: false });
    for (const client of [bus, cli]) {
      const started = await client.jobs('start', [...ok, bad, missing]);
      expect(started?.status).toBe(1);
      expect(started?.stderr).toContain(`Job for ${bad} failed because the control process exited with error code.`);
      expect(started?.stderr).toContain(`Failed to start ${missing}: Unit ${missing} not found.`);
      expect(started?.stderr).not.toContain(ok[0]);

      const listed = await client.listUnits(`${world.prefix}-*`);
      expect(listed.map(({ unit, load, active, sub }) => ({ unit, load, active, sub }))).toEqual([
        { unit: bad, load: 'loaded', active: 'failed', sub: 'failed' },
        { unit: ok[0], load: 'loaded', active: 'active', sub: 'exited' },
        { unit: ok[1], load: 'loaded', active: 'active', sub: 'exited' },
      ]);
      const shown = await client.show([ok[0]!, bad, missing]);
      expect(shown.get(ok[0]!)).toMatchObject({
        loadState: 'loaded',
        activeState: 'active',
        fragmentPath: path.join(unitDir, `${world.prefix}-ok@.service`),
      });
      expect(shown.get(bad)).toMatchObject({ activeState: 'failed', subState: 'failed', needDaemonReload: false });
      expect(shown.get(missing)).toMatchObject({ loadState: 'not-found', activeState: 'inactive', fragmentPath: '' });

      expect((await client.jobs('stop', [...ok, bad]))?.status).toBe(0);
      await client.resetFailed([...ok, bad, missing]);
      expect(await client.listUnits(`${world.prefix}-*`)).toEqual([]);
    }
  });

  it('fleet start, ps and stop run no systemctl when the socket answers; MOSAIC_SYSTEMD_BUS=0 runs it', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    // A systemctl on PATH that writes down every call before running the real one.
    const real = execFileSync('sh', ['-c', 'command -v systemctl'], { env: world.env, encoding: 'utf8' }).trim();
    const bin = path.join(fleet.dir, 'bin');
    const log = path.join(fleet.dir, 'systemctl.log');
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`);
    chmodSync(path.join(bin, 'systemctl'), 0o755);
    appendFileSync(log, '');
    const env = { ...world.env, PATH: `${bin}:${world.env.PATH ?? ''}` };
    const mosaic = (args: string[], extra: NodeJS.ProcessEnv = {}) => fleet.mosaic(args, { env: { ...env, ...extra } });
    const calls = (): string[] => {
      const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      writeFileSync(log, '');
      return lines.map((line) => line.replace(/^--user --no-pager /, ''));
    };
    fleet.writeRoster(roster(fleet.socket, 'supervisor: systemd\nagents:\n  - {name: a1, runtime: stub}\n  - {name: a2, runtime: stub}\n'));
    expect((await mosaic(['fleet', 'install-systemd'])).status).toBe(0);
    calls();

    const started = await mosaic(['fleet', 'start', '--json']);
    expect(started.status, started.stderr).toBe(0);
    expect(JSON.parse(started.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ agent: 'a1', result: 'started' })]));
    const ps = await mosaic(['fleet', 'ps', '--json']);
    expect(ps.status, ps.stderr).toBe(0);
    expect(JSON.parse(ps.stdout)[0].unit).toMatchObject({ load_state: 'loaded', active_state: 'active' });
    const stopped = await mosaic(['fleet', 'stop']);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(calls()).toEqual([]);
    expect(world.show(world.holder, 'ActiveState')).toBe('inactive');

    const off = { MOSAIC_SYSTEMD_BUS: '0' };
    expect((await mosaic(['fleet', 'start'], off)).status).toBe(0);
    expect((await mosaic(['fleet', 'stop'], off)).status).toBe(0);
    const made = calls();
    expect(made).toContain(`start -- ${world.holder}`);
    expect(made).toContain(`start -- ${world.agentUnit('a1')} ${world.agentUnit('a2')}`);
    expect(made.some((call) => call.startsWith('list-units --all --output=json'))).toBe(true);
    expect(made.some((call) => call.startsWith('stop -- '))).toBe(true);
  });
});
