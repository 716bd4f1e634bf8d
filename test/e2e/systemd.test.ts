import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, paneComesBack, roster, type TestFleet } from './harness.js';
import {
  IN_CI,
  leftoverUnits,
  MANAGER,
  panePids,
  RUN_SYSTEMD_TESTS,
  systemdWorld,
  tmuxServerPid,
  type SystemdWorld,
} from './systemd-env.js';

interface VerifyJson {
  ok: boolean;
  problems: string[];
  warnings: string[];
  systemd?: { holder_main_pid: number; tmux_server_pid: number; units: { agent: string; active_state: string; session: boolean }[] };
  restart_check?: {
    ok: boolean;
    agent_pid_before: number;
    agent_pid_after: number;
    holder_pid_before: number;
    holder_pid_after: number;
    holder_pane_pid_before: number | null;
    holder_pane_pid_after: number | null;
    siblings_checked: number;
  };
}

interface InstallJson {
  linked: boolean;
  files: { file: string; unit?: string; agent?: string; state: string; action: string }[];
  enabled: string[];
}

/** A working directory no shell or unit file could carry unescaped. */
const ODD_DIR = `work/it's "odd" $HOME 100% back\\slash`;

function threeAgents(fleet: TestFleet, extra = ''): void {
  fleet.writeRoster(
    roster(
      fleet.socket,
      `defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n  - {name: b-1, runtime: stub}\n  - name: w.x\n    runtime: stub\n    working_directory: '${ODD_DIR.replace(/'/g, "''")}'\n`,
      `supervisor: systemd\n${extra}`,
    ),
  );
}

const sessions = (fleet: TestFleet): string[] => Object.keys(panePids(fleet)).sort();

async function mustSucceed(world: SystemdWorld, args: string[]): Promise<string> {
  const result = await world.mosaic(args);
  expect(result.status, `mosaic ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('systemd user manager for the systemd tests', () => {
  it.runIf(IN_CI)('is reachable in CI (the systemd tests must not pass without one)', () => {
    expect(MANAGER.available, MANAGER.reason).toBe(true);
  });
  // Outside CI the systemd tests are skipped without a manager: the test list says why.
  if (!RUN_SYSTEMD_TESTS) it.skip(`systemd tests skipped: ${MANAGER.reason} (start one: eval "$(scripts/user-systemd start)")`, () => {});
});

describe.runIf(RUN_SYSTEMD_TESTS)('systemd supervision on a real user manager', () => {
  it('install → start 3 → restart one in isolation → holder stop stops all → uninstall leaves nothing', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    threeAgents(fleet);
    const defaultSocket = `/tmp/tmux-${process.getuid?.() ?? 0}/default`;
    const defaultBefore = existsSync(defaultSocket) ? statSync(defaultSocket).ino : null;

    // install: units in the test's XDG_CONFIG_HOME, which the manager does not search, so linked in.
    const install = await world.json<InstallJson>(['fleet', 'install-systemd']);
    expect(install.linked).toBe(true);
    expect(install.files.map((f) => [path.basename(f.file), f.action])).toEqual([
      [world.holder, 'written'],
      [world.template, 'written'],
      ['a.env', 'written'],
      ['b-1.env', 'written'],
      ['w.x.env', 'written'],
    ]);
    const unitDir = path.join(world.env.XDG_CONFIG_HOME!, 'systemd', 'user');
    const holderFile = path.join(unitDir, world.holder);
    const templateFile = path.join(unitDir, world.template);
    const template = readFileSync(templateFile, 'utf8');
    expect(template).toMatch(new RegExp(`^Requires=${world.holder}$`, 'm'));
    expect(template).toMatch(new RegExp(`^After=${world.holder}$`, 'm'));
    expect(template).toMatch(new RegExp(`^PartOf=${world.holder}$`, 'm'));
    // Absolute paths only: the user manager's PATH is minimal. Agents start and stop without Node.
    const agentScript = path.resolve('framework/bin/mosaic-systemd-agent').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(template).toMatch(new RegExp(`^ExecStart="/bin/sh" "${agentScript}" "[^"]+/tmux" "start"$`, 'm'));
    expect(template).toMatch(new RegExp(`^ExecStop=-"/bin/sh" "${agentScript}" "[^"]+/tmux" "stop"$`, 'm'));
    expect(readFileSync(path.join(unitDir, world.holder), 'utf8')).toContain(`"${process.execPath}" "${path.resolve('dist/cli/main.js')}"`);
    const envFile = path.join(fleet.home, 'agents', 'w.x.env');
    expect(lstatSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toContain(`MOSAIC_AGENT_SESSION="w_x"`);

    // Re-running changes nothing.
    const again = await world.json<InstallJson>(['fleet', 'install-systemd']);
    expect(again.files.map((f) => f.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);

    // The manager loads exactly our files.
    expect(
      readlinkSync(
        path.join(
          MANAGER.unitPath.find((d) => existsSync(path.join(d, world.holder)))!,
          world.holder,
        ),
      ),
    ).toBe(holderFile);
    expect(world.show(world.agentUnit('a'), 'LoadState')).toBe('loaded');

    // start: one systemctl call; sessions on the roster's socket.
    expect(await mustSucceed(world, ['fleet', 'start'])).toMatch(/a: started\nb-1: started\nw\.x: started/);
    expect(sessions(fleet)).toEqual(['_holder', 'a', 'b-1', 'w_x']);
    for (const agent of ['a', 'b-1', 'w.x']) expect(world.show(world.agentUnit(agent), 'ActiveState')).toBe('active');

    // The tmux server is the holder unit's main process, inside its cgroup.
    const server = tmuxServerPid(fleet)!;
    expect(Number(world.show(world.holder, 'MainPID'))).toBe(server);
    const cgroup = world.show(world.holder, 'ControlGroup');
    expect(cgroup).toMatch(new RegExp(`/${world.holder}$`));
    expect(readFileSync(`/proc/${server}/cgroup`, 'utf8')).toContain(cgroup);

    // The odd working directory reached the pane intact through the EnvironmentFile.
    const pids = await eventually(() => {
      const p = panePids(fleet);
      return p.a && p['b-1'] && p.w_x ? p : undefined;
    });
    expect(readlinkSync(`/proc/${pids.w_x}/cwd`)).toBe(path.join(fleet.home, ODD_DIR));
    // The agent's variables reach the pane itself (not just the unit), and it runs the stub.
    const paneEnv = readFileSync(`/proc/${pids.w_x}/environ`, 'utf8').split('\0');
    expect(paneEnv).toContain('MOSAIC_AGENT_NAME=w.x');
    expect(paneEnv).toContain(`MOSAIC_TMUX_SOCKET=${fleet.socket}`);
    expect(paneEnv).toContain(`MOSAIC_AGENT_WORKDIR=${path.join(fleet.home, ODD_DIR)}`);
    expect(readFileSync(`/proc/${pids.w_x}/cmdline`, 'utf8')).toContain('mosaic-stub-agent');

    const verify = await world.json<VerifyJson>(['fleet', 'verify']);
    expect(verify.problems).toEqual([]);
    expect(verify.ok).toBe(true);
    expect(verify.systemd!.units.every((u) => u.active_state === 'active' && u.session)).toBe(true);
    expect(verify.warnings.join('\n')).toMatch(/agents a, b-1, w\.x run but are not enabled.*mosaic fleet enable a b-1 w\.x/);

    // restart one agent: only its pane PID changes; the holder (server) and siblings keep theirs.
    const check = await world.json<VerifyJson>(['fleet', 'verify', '--restart-check', 'b-1']);
    expect(check.problems).toEqual([]);
    expect(check.restart_check).toMatchObject({
      ok: true,
      agent_pid_before: pids['b-1'],
      holder_pid_before: server,
      holder_pid_after: server,
    });
    expect(check.restart_check).toMatchObject({ holder_pane_pid_before: pids._holder, holder_pane_pid_after: pids._holder });
    expect(check.restart_check!.siblings_checked).toBe(2); // a and w.x: the holder's pane is counted apart
    const afterCheck = panePids(fleet);
    expect(afterCheck['b-1']).not.toBe(pids['b-1']);
    expect(afterCheck['b-1']).toBe(check.restart_check!.agent_pid_after);
    expect([afterCheck.a, afterCheck.w_x, afterCheck._holder]).toEqual([pids.a, pids.w_x, pids._holder]);

    // The same isolation through systemctl itself, bypassing mosaic.
    expect(world.systemctl(['restart', world.agentUnit('a')]).status).toBe(0);
    const afterUnit = await eventually(() => {
      const p = panePids(fleet);
      return p.a && p.a !== pids.a ? p : undefined;
    });
    expect([afterUnit['b-1'], afterUnit.w_x, afterUnit._holder]).toEqual([afterCheck['b-1'], pids.w_x, pids._holder]);
    expect(tmuxServerPid(fleet)).toBe(server);

    // fleet restart of all: the CLI gives every pane a new process (the handoff), so each pane keeps its id (a
    // unit that restarted by itself would have killed the session and made a new one); the units stay active.
    const paneIds = (): Record<string, string> =>
      Object.fromEntries(
        fleet
          .tmux(['list-panes', '-a', '-F', '#{session_name} #{pane_id}'])
          .stdout.trim()
          .split('\n')
          .map((line) => line.split(' ')),
      );
    const idsBefore = paneIds();
    expect(await mustSucceed(world, ['fleet', 'restart'])).toMatch(/a: restarted\nb-1: restarted\nw\.x: restarted/);
    const afterRestart = panePids(fleet);
    for (const session of ['a', 'b-1', 'w_x']) expect(afterRestart[session]).not.toBe(afterUnit[session]);
    expect(afterRestart._holder).toBe(pids._holder);
    expect(paneIds()).toEqual(idsBefore);
    for (const agent of ['a', 'b-1', 'w.x']) expect(world.show(world.agentUnit(agent), 'ActiveState')).toBe('active');
    expect(readdirSync(path.join(fleet.home, 'run')).filter((name) => name.endsWith('.handoff'))).toEqual([]);
    expect(tmuxServerPid(fleet)).toBe(server);

    // disable (all: the holder too) keeps the linked units loaded: systemctl disable also removes `link`'s links.
    expect(await mustSucceed(world, ['fleet', 'disable'])).toMatch(/^a: disabled .*\nb-1: disabled .*\nw\.x: disabled /);
    expect(world.show(world.holder, 'LoadState')).toBe('loaded');
    expect(world.show(world.holder, 'UnitFileState')).toBe('linked');

    // Another roster with the same unit prefix does not stop, disable or uninstall this fleet's units.
    const rosterFile = path.join(fleet.home, 'roster.yaml');
    const other = path.join(fleet.dir, 'other.yaml');
    writeFileSync(other, readFileSync(rosterFile, 'utf8'));
    for (const verb of ['stop', 'disable', 'uninstall-systemd']) {
      const refused = await world.mosaic(['--roster', other, 'fleet', verb]);
      expect(refused.status, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`were installed for roster ${rosterFile}, not ${other}`);
    }
    // Also from a shell whose unit directory holds none of them (the manager loads them from its own).
    const elsewhere = { ...world.env, XDG_CONFIG_HOME: path.join(fleet.dir, 'config2') };
    const refused = await fleet.mosaic(['--roster', other, 'fleet', 'uninstall-systemd'], { env: elsewhere });
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.stderr).toContain(`and ${world.template} were installed for roster ${rosterFile}, not ${other}`);
    expect(existsSync(holderFile) && existsSync(templateFile)).toBe(true);
    expect(world.show(world.holder, 'LoadState')).toBe('loaded');
    expect(sessions(fleet)).toEqual(['_holder', 'a', 'b-1', 'w_x']);

    // Stopping the holder stops every agent unit and the server.
    expect(world.systemctl(['stop', world.holder]).status).toBe(0);
    for (const agent of ['a', 'b-1', 'w.x']) expect(world.show(world.agentUnit(agent), 'ActiveState')).toBe('inactive');
    expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
    expect(existsSync(`/proc/${server}`)).toBe(false);

    // uninstall: no unit, link or file of ours is left.
    const uninstall = await world.mosaic(['fleet', 'uninstall-systemd']);
    expect(uninstall.status, uninstall.stderr).toBe(0);
    expect(leftoverUnits(world)).toEqual([]);
    expect(existsSync(holderFile) || existsSync(templateFile) || existsSync(envFile)).toBe(false);
    for (const dir of MANAGER.unitPath) expect(existsSync(path.join(dir, world.holder))).toBe(false);
    // The user's default tmux server was never created or replaced (the harness also checks its private TMUX_TMPDIR).
    expect(existsSync(defaultSocket) ? statSync(defaultSocket).ino : null).toBe(defaultBefore);
  });

  it('generated units pass systemd-analyze --user verify without a single warning', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    threeAgents(fleet);
    await mustSucceed(world, ['fleet', 'install-systemd']);
    const dir = path.join(world.env.XDG_CONFIG_HOME!, 'systemd', 'user');
    const analyze = spawnSync(
      'systemd-analyze',
      ['--user', 'verify', path.join(dir, world.holder), path.join(dir, world.template), path.join(dir, world.agentUnit('w.x'))],
      { env: world.env, encoding: 'utf8' },
    );
    expect(`${analyze.stdout}${analyze.stderr}`).toBe('');
    expect(analyze.status).toBe(0);
    // The check is real: the same units with an executable that does not exist do not pass.
    const broken = path.join(fleet.dir, 'broken');
    spawnSync('mkdir', ['-p', broken]);
    for (const unit of [world.holder, world.template]) {
      writeFileSync(path.join(broken, unit), readFileSync(path.join(dir, unit), 'utf8').replaceAll('"/bin/sh"', '"/nonexistent/sh"'));
    }
    const bad = spawnSync(
      'systemd-analyze',
      ['--user', 'verify', path.join(broken, world.holder), path.join(broken, world.template), path.join(broken, world.agentUnit('w.x'))],
      { env: world.env, encoding: 'utf8' },
    );
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/\/nonexistent\/sh is not executable/);
  });

  it('keeps hand-changed units until --force, and start refuses stale units', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    threeAgents(fleet);
    await mustSucceed(world, ['fleet', 'install-systemd']);
    const holderFile = path.join(world.env.XDG_CONFIG_HOME!, 'systemd', 'user', world.holder);
    const original = readFileSync(holderFile, 'utf8');
    writeFileSync(holderFile, original.replace('TimeoutStopSec=20', 'TimeoutStopSec=99'));

    const refused = await world.mosaic(['fleet', 'start', 'a']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`${holderFile} was changed by hand`);
    expect(refused.stderr).toContain('install-systemd --force');

    const kept = await world.mosaic(['fleet', 'install-systemd', '--json']);
    expect(kept.status).toBe(1);
    expect((JSON.parse(kept.stdout) as InstallJson).files.find((f) => f.unit === world.holder)).toMatchObject({
      state: 'modified',
      action: 'kept',
    });
    expect(readFileSync(holderFile, 'utf8')).toContain('TimeoutStopSec=99');

    const forced = await world.json<InstallJson>(['fleet', 'install-systemd', '--force']);
    expect(forced.files.find((f) => f.unit === world.holder)).toMatchObject({ state: 'modified', action: 'written' });
    expect(readFileSync(holderFile, 'utf8')).toBe(original);

    // A roster change makes the units outdated (not hand-changed): install rewrites them without --force.
    fleet.writeRoster(readFileSync(fleet.rosterPath, 'utf8').replace(`socket_name: ${fleet.socket}`, `socket_name: ${fleet.socket}x`));
    const stale = await world.mosaic(['fleet', 'start', 'a']);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/out of date/);
    const updated = await world.json<InstallJson>(['fleet', 'install-systemd']);
    expect(updated.files.slice(0, 2).map((f) => [f.state, f.action])).toEqual([
      ['outdated', 'written'],
      ['outdated', 'written'],
    ]);
  });

  it('crash recovery under systemd: backoff restarts, a crash loop is marked failed, restart clears it', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: steady, runtime: stub}\n  - {name: crashy, runtime: stub, args: ["--crash-after", "0"]}\n',
        'supervisor: systemd\nrestart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 200\n  max_crashes: 3\n  window_seconds: 60\n',
      ),
    );
    await mustSucceed(world, ['fleet', 'install-systemd']);
    await mustSucceed(world, ['fleet', 'start']);
    const first = await eventually(() => panePids(fleet).steady);
    process.kill(first, 'SIGKILL');
    await paneComesBack(fleet, 'steady', first);
    const status = async (): Promise<Record<string, { state: string; restarts: number }>> =>
      Object.fromEntries(
        (await world.json<{ agent: string; state: string; restarts: number }[]>(['fleet', 'status'])).map((r) => [r.agent, r]),
      );
    expect((await status()).steady!.restarts).toBe(1);
    // A start by the manager alone (as at boot) is an explicit start too: its counters start over. (`fleet
    // start` and `restart` put the fresh record in place themselves; the unit copies it only when it differs.)
    expect(world.systemctl(['restart', world.agentUnit('steady')]).status).toBe(0);
    expect((await status()).steady!.restarts).toBe(0);
    const failed = await eventually(
      async () => {
        const row = (await status()).crashy!;
        return row.state === 'failed' ? row : undefined;
      },
      20_000,
      'crashy to be marked failed',
    );
    expect(failed.restarts).toBe(3);
    // The unit stays active (its session exists, holding the dead pane); verify names the crash loop.
    expect(world.show(world.agentUnit('crashy'), 'ActiveState')).toBe('active');
    const verify = await world.json<VerifyJson>(['fleet', 'verify']);
    expect(verify.problems.join('\n')).toMatch(/agent "crashy" failed/);
    // Stopped, it is stopped: no failed mark or crash counters left over (as under the built-in supervisor).
    expect(await mustSucceed(world, ['fleet', 'stop', 'crashy'])).toMatch(/crashy: stopped/);
    expect((await status()).crashy).toMatchObject({ state: 'stopped', restarts: 0, failed_reason: null });
    await mustSucceed(world, ['fleet', 'restart', 'crashy']);
    expect((await status()).crashy!.state).not.toBe('failed');
    await mustSucceed(world, ['fleet', 'uninstall-systemd']);
    expect(leftoverUnits(world)).toEqual([]);
  });

  it('start starts a failed agent again (its unit active, its session a dead pane): fresh counters, reported started', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    const agents = (crashyArgs: string): string =>
      `defaults:\n  working_directory: work\nagents:\n  - {name: steady, runtime: stub}\n  - {name: crashy, runtime: stub${crashyArgs}}\n`;
    const policy =
      // max_crashes 0: the first crash fails it (the test is about what start does with a failed agent).
      'supervisor: systemd\nrestart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 200\n  max_crashes: 0\n  window_seconds: 60\n';
    fleet.writeRoster(roster(fleet.socket, agents(', args: ["--crash-after", "0"]'), policy));
    await mustSucceed(world, ['fleet', 'install-systemd']);
    await mustSucceed(world, ['fleet', 'start']);
    type Row = { agent: string; state: string; restarts: number; pane_pid: number | null; failed_reason: string | null };
    const status = async (): Promise<Record<string, Row>> =>
      Object.fromEntries((await world.json<Row[]>(['fleet', 'status'])).map((r) => [r.agent, r]));
    await eventually(async () => (await status()).crashy!.state === 'failed' || undefined, 20_000, 'crashy to be marked failed');
    expect(world.show(world.agentUnit('crashy'), 'ActiveState')).toBe('active');
    const steadyPid = await eventually(() => panePids(fleet).steady);

    // The roster's fix applies (start prepares the agent, as restart does); no names: every agent.
    fleet.writeRoster(roster(fleet.socket, agents(''), policy));
    // A handoff file a killed CLI left behind does not fool the restart (the CLI clears them first).
    writeFileSync(path.join(fleet.home, 'run', 'crashy.handoff'), '');
    const started = await world.json<{ agent: string; result: string }[]>(['fleet', 'start']);
    expect(started.map((o) => [o.agent, o.result])).toEqual([
      ['steady', 'already-running'],
      ['crashy', 'started'],
    ]);
    const back = await eventually(async () => {
      const row = (await status()).crashy!;
      return row.state === 'running' && row.pane_pid ? row : undefined;
    });
    expect(back).toMatchObject({ restarts: 0, failed_reason: null });
    expect(world.show(world.agentUnit('crashy'), 'ActiveState')).toBe('active');
    expect(panePids(fleet).steady).toBe(steadyPid);
    const events = (await world.mosaic(['fleet', 'events', '--agent', 'crashy', '--since', '1h'])).stdout;
    expect(events, events).toMatch(/ crashy +failed .*\n.* crashy +start +supervisor=systemd\n?$/);
    await mustSucceed(world, ['fleet', 'uninstall-systemd']);
    expect(leftoverUnits(world)).toEqual([]);
  });

  it('a crashed tmux server comes back, and every agent with it (holder Restart=, agents PartOf=)', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    threeAgents(fleet);
    await mustSucceed(world, ['fleet', 'install-systemd']);
    await mustSucceed(world, ['fleet', 'start']);
    const before = await eventually(() => {
      const pids = panePids(fleet);
      return pids.a && pids['b-1'] && pids.w_x ? pids : undefined;
    });
    const server = tmuxServerPid(fleet)!;
    expect(Number(world.show(world.holder, 'MainPID'))).toBe(server);
    // The units' steps replay what the CLI prepared and read no roster: with it gone, everything still comes back.
    const rosterFile = path.join(fleet.home, 'roster.yaml');
    renameSync(rosterFile, `${rosterFile}.away`);
    // A handoff file that a `fleet start` killed during its systemctl job left behind: were it still there
    // when the holder brings the agents back, agent a's unit would take its session as made and make none.
    const staleHandoff = path.join(fleet.home, 'run', 'a.handoff');
    writeFileSync(staleHandoff, '');
    process.kill(server, 'SIGKILL'); // what an OOM kill or a crash of tmux looks like to systemd
    const after = await eventually(
      () => {
        const pids = panePids(fleet);
        const back = ['a', 'b-1', 'w_x'].every((session) => pids[session] && pids[session] !== before[session]);
        return back && world.show(world.holder, 'ActiveState') === 'active' ? pids : undefined;
      },
      30_000,
      'the holder and all three agents to come back with new PIDs',
    );
    expect(Object.keys(after).sort()).toEqual(['_holder', 'a', 'b-1', 'w_x']);
    expect(existsSync(staleHandoff)).toBe(false); // the holder's check step removed it
    expect(tmuxServerPid(fleet)).not.toBe(server);
    expect(Number(world.show(world.holder, 'NRestarts'))).toBe(1);
    // The new server got the built-in supervisor's set-up, and the watchdog session its mark.
    expect(fleet.tmux(['show-hooks', '-gw']).stdout).toMatch(/^pane-died\[0\] .*_supervise/m);
    expect(fleet.tmux(['show-options', '-v', '-t', '=_holder:', '@mosaic_holder']).stdout.trim()).toBe('1');
    renameSync(`${rosterFile}.away`, rosterFile);
    const verify = await world.json<VerifyJson>(['fleet', 'verify']);
    expect(verify.problems, verify.problems.join('\n')).toEqual([]);
    await mustSucceed(world, ['fleet', 'uninstall-systemd']);
    expect(leftoverUnits(world)).toEqual([]);
  });

  it('the holder refuses a tmux server it does not own on its socket, and leaves that server and its sessions running', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    threeAgents(fleet);
    await mustSucceed(world, ['fleet', 'install-systemd']);
    // Someone else's server on the fleet's socket (a built-in fleet, say): `tmux -D` would take its socket.
    expect(fleet.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'other', '--', 'sh', '-c', 'exec sleep 600']).status).toBe(0);
    const other = tmuxServerPid(fleet)!;
    const start = await world.mosaic(['fleet', 'start']);
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/a tmux server not owned by \S+ runs on socket/);
    expect(world.show(world.holder, 'ActiveState')).not.toBe('active');
    expect(world.show(world.holder, 'ExecMainPID')).toBe('0'); // its ExecStartPre said no: tmux -D never ran
    expect(tmuxServerPid(fleet)).toBe(other);
    expect(sessions(fleet)).toEqual(['other']);
    fleet.tmux(['kill-server']);
    world.systemctl(['reset-failed', '--', `${world.prefix}-*`]);
    await mustSucceed(world, ['fleet', 'uninstall-systemd']);
    expect(leftoverUnits(world)).toEqual([]);
  });

  it("an agent unit stopped after someone else took its session's name leaves that session running", async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    threeAgents(fleet);
    await mustSucceed(world, ['fleet', 'install-systemd']);
    await mustSucceed(world, ['fleet', 'start', 'a']);
    // The agent's session goes (killed by hand) and another one takes its name; the unit is still active.
    expect(fleet.tmux(['kill-session', '-t', '=a']).status).toBe(0);
    expect(fleet.tmux(['new-session', '-d', '-s', 'a', '--', 'sh', '-c', 'exec sleep 600']).status).toBe(0);
    expect(world.show(world.agentUnit('a'), 'ActiveState')).toBe('active');
    expect(world.systemctl(['stop', world.agentUnit('a')]).status).toBe(0);
    expect(world.show(world.agentUnit('a'), 'ActiveState')).toBe('inactive');
    expect(sessions(fleet)).toContain('a'); // its ExecStop kills only a session marked as agent "a"
    expect(fleet.tmux(['show-options', '-v', '-t', '=a:', '@mosaic_agent']).stdout.trim()).toBe('');
    fleet.tmux(['kill-session', '-t', '=a']);
    await mustSucceed(world, ['fleet', 'stop']);
    await mustSucceed(world, ['fleet', 'uninstall-systemd']);
    expect(leftoverUnits(world)).toEqual([]);
  });

  it('stop of some agents keeps the rest; stopping the last one takes the holder down', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    threeAgents(fleet);
    await mustSucceed(world, ['fleet', 'install-systemd']);
    await mustSucceed(world, ['fleet', 'start', 'a', 'b-1']);
    const before = await eventually(() => {
      const p = panePids(fleet);
      return p.a && p['b-1'] ? p : undefined;
    });
    expect(await mustSucceed(world, ['fleet', 'stop', 'a'])).toMatch(/a: stopped/);
    expect(sessions(fleet)).toEqual(['_holder', 'b-1']);
    expect(panePids(fleet)['b-1']).toBe(before['b-1']);
    expect(world.show(world.holder, 'ActiveState')).toBe('active');
    expect(await mustSucceed(world, ['fleet', 'stop'])).toMatch(/a: not running\nb-1: stopped\nw\.x: not running/);
    expect(world.show(world.holder, 'ActiveState')).toBe('inactive');
    expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
  });

  it('enable/disable in the manager’s own unit directory (no links), and uninstall removes exactly our files', async () => {
    const home = process.env.HOME ?? '/root';
    const ownDir = path.join(home, '.config', 'systemd', 'user');
    expect(MANAGER.unitPath, 'the user manager searches ~/.config/systemd/user').toContain(ownDir);
    const fleet = createFleet();
    const world = systemdWorld(fleet, { configHome: path.join(home, '.config') });
    threeAgents(fleet);
    const install = await world.json<InstallJson>(['fleet', 'install-systemd', '--enable']);
    expect(install.linked).toBe(false);
    expect(install.enabled).toEqual([world.holder, world.agentUnit('a'), world.agentUnit('b-1'), world.agentUnit('w.x')]);
    expect(lstatSync(path.join(ownDir, world.template)).isFile()).toBe(true);
    for (const agent of ['a', 'b-1', 'w.x']) expect(world.show(world.agentUnit(agent), 'UnitFileState')).toBe('enabled');

    await mustSucceed(world, ['fleet', 'start']);
    const verify = await world.json<VerifyJson>(['fleet', 'verify']);
    expect(verify.ok).toBe(true);
    expect(verify.warnings.join('\n')).not.toMatch(/not enabled/);

    expect(await mustSucceed(world, ['fleet', 'disable', 'b-1'])).toMatch(/b-1: disabled/);
    expect(world.show(world.agentUnit('b-1'), 'UnitFileState')).toBe('disabled');
    expect(world.show(world.agentUnit('a'), 'UnitFileState')).toBe('enabled');
    const warned = await world.json<VerifyJson>(['fleet', 'verify']);
    expect(warned.warnings.join('\n')).toMatch(/agent b-1 runs but is not enabled.*mosaic fleet enable b-1/);
    expect(await mustSucceed(world, ['fleet', 'enable', 'b-1'])).toMatch(/b-1: enabled/);

    // A unit file of the same prefix that mosaic did not write survives uninstall.
    const foreign = path.join(ownDir, `${world.prefix}-notes.service`);
    writeFileSync(foreign, '[Unit]\nDescription=not ours\n[Service]\nExecStart=/bin/true\n');
    try {
      await mustSucceed(world, ['fleet', 'uninstall-systemd']);
      expect(existsSync(foreign)).toBe(true);
      expect(existsSync(path.join(ownDir, world.holder)) || existsSync(path.join(ownDir, world.template))).toBe(false);
      expect(leftoverUnits(world)).toEqual([`${world.prefix}-notes.service`]);
      expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
    } finally {
      spawnSync('rm', ['-f', foreign]);
    }
  });
});

describe('systemd supervisor without systemd', () => {
  it('verify --restart-check also proves isolation under the built-in supervisor, and fails for a stopped agent', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n  - {name: b, runtime: stub}\n  - {name: c, runtime: stub}\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start', 'a', 'c'])).status).toBe(0);
    const before = await eventually(() => {
      const p = panePids(fleet);
      return p.a && p.c ? p : undefined;
    });
    const server = tmuxServerPid(fleet);
    const check = await fleet.mosaic(['fleet', 'verify', '--restart-check', 'a', '--json']);
    const report = JSON.parse(check.stdout) as VerifyJson;
    // The server, the holder's pane and c's pane (the one other running agent) are what is compared.
    expect(report.restart_check).toMatchObject({
      ok: true,
      agent_pid_before: before.a,
      holder_pid_before: server,
      holder_pid_after: server,
      holder_pane_pid_before: before._holder,
      holder_pane_pid_after: before._holder,
      siblings_checked: 1,
    });
    expect(before._holder).not.toBe(server);
    expect(report.restart_check!.agent_pid_after).toBe(panePids(fleet).a);
    expect(report.restart_check!.agent_pid_after).not.toBe(before.a);
    const human = await fleet.mosaic(['fleet', 'verify', '--restart-check', 'a']);
    expect(human.stdout).toContain(`; unchanged: tmux server PID ${server}, holder pane PID ${before._holder}, 1 other agent pane(s)\n`);
    // b is in the roster but not running: the fleet check fails, and so does a restart check of b.
    expect(check.status).toBe(1);
    const stopped = await fleet.mosaic(['fleet', 'verify', '--restart-check', 'b']);
    expect(stopped.status).toBe(1);
    expect(stopped.stderr).toMatch(/restart check: agent "b" is not running/);

    if (MANAGER.available) {
      const world = systemdWorld(fleet);
      // Enabling units for this roster (no supervisor: line) would hand fleet stop to systemd, which cannot stop it.
      const enable = await world.mosaic(['fleet', 'install-systemd', '--enable']);
      expect(enable.status, enable.stderr).toBe(1);
      expect(enable.stderr).toMatch(/runs under the built-in supervisor.*\n.*hint: stop it first/);
      expect(existsSync(path.join(world.env.XDG_CONFIG_HOME!, 'systemd', 'user', world.holder))).toBe(false);
      // uninstall-systemd (no units) leaves the running built-in fleet its launch specs and run state.
      const uninstall = await world.mosaic(['fleet', 'uninstall-systemd']);
      expect(uninstall.status, uninstall.stderr).toBe(0);
      for (const file of ['a.launch', 'a.state.json', 'c.launch']) expect(existsSync(path.join(fleet.home, 'run', file)), file).toBe(true);
    }
  });

  it('says clearly that no user manager is reachable, and status still works from tmux', async () => {
    const fleet = createFleet();
    threeAgents(fleet);
    const env: NodeJS.ProcessEnv = {
      ...fleet.env,
      XDG_RUNTIME_DIR: path.join(fleet.dir, 'no-runtime'),
      MOSAIC_SYSTEMD_UNIT_PREFIX: 'mtnone',
    };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    const start = await fleet.mosaic(['fleet', 'start'], { env });
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/no systemd user manager is reachable/);
    expect(start.stderr).toMatch(/hint: .*loginctl enable-linger.*supervisor: builtin/);
    const status = await fleet.mosaic(['fleet', 'status', '--json'], { env });
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toHaveLength(3);
  });

  it('says clearly that systemctl is missing', async () => {
    const fleet = createFleet();
    threeAgents(fleet);
    const bin = path.join(fleet.dir, 'bin');
    const tmux = spawnSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).stdout.trim();
    spawnSync('mkdir', ['-p', bin]);
    spawnSync('ln', ['-s', tmux, path.join(bin, 'tmux')]);
    const result = await fleet.mosaic(['fleet', 'install-systemd'], { env: { ...fleet.env, PATH: bin } });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/systemctl is not installed/);
    expect(result.stderr).toMatch(/supervisor: builtin/);
  });
});
