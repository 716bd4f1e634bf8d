import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, paneComesBack, roster, statusOf, type StatusRow, type TestFleet } from './harness.js';

const FAST_RESTART =
  'heartbeat:\n  interval_seconds: 1\nrestart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 200\n  max_crashes: 3\n  window_seconds: 60\n';

function twoAgents(fleet: TestFleet): void {
  fleet.writeRoster(
    roster(
      fleet.socket,
      'defaults:\n  working_directory: work\nagents:\n  - name: agent\n    runtime: stub\n  - name: agent0\n    runtime: stub\n',
      FAST_RESTART,
    ),
  );
}

const sessions = (fleet: TestFleet): string[] => {
  const result = fleet.tmux(['list-sessions', '-F', '#{session_name}']);
  return result.status === 0 ? result.stdout.trim().split('\n').sort() : [];
};

const paneEnv = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

describe('fleet lifecycle on real tmux (built-in supervisor)', () => {
  it('"agent" and "agent0" coexist and every verb hits only the one named', async () => {
    const fleet = createFleet();
    twoAgents(fleet);

    const started = await fleet.mosaic(['fleet', 'start', 'agent0']);
    expect(started.status, started.stderr).toBe(0);
    expect(sessions(fleet)).toEqual(['_holder', 'agent0']);
    let rows = await statusOf(fleet);
    expect(rows.agent!.state).toBe('stopped');
    expect(rows.agent0!.state).toBe('running');
    expect(rows.agent0!.tenant_id).toBeTruthy();
    expect(rows.agent0!.host).toBeTruthy();

    expect((await fleet.mosaic(['fleet', 'start', 'agent'])).status).toBe(0);
    const again = await fleet.mosaic(['fleet', 'start']);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/agent: already running/);
    expect(again.stdout).toMatch(/agent0: already running/);
    expect(sessions(fleet)).toEqual(['_holder', 'agent', 'agent0']);

    rows = await eventually(async () => {
      const r = await statusOf(fleet);
      return r.agent!.pane_pid && r.agent0!.pane_pid ? r : undefined;
    });
    const pid0 = rows.agent0!.pane_pid!;
    const pidAgent = rows.agent!.pane_pid!;

    // The pane runs the runtime exec'ed, with our variables in its environment.
    const env = paneEnv(pidAgent);
    expect(env.MOSAIC_AGENT_NAME).toBe('agent');
    expect(env.MOSAIC_AGENT_RUNTIME).toBe('stub');
    expect(env.MOSAIC_AGENT_WORKDIR).toBe(`${fleet.home}/work`);
    expect(env.MOSAIC_TMUX_SOCKET).toBe(fleet.socket);
    expect(env.MOSAIC_HEARTBEAT_FILE).toBe(`${fleet.home}/run/agent.hb`);
    expect(readFileSync(`/proc/${pidAgent}/cmdline`, 'utf8')).toContain('mosaic-stub-agent');

    // reset types into "agent" only: the stub acknowledges the reset command there and nowhere else.
    expect((await fleet.mosaic(['agent', 'reset', 'agent', '--clear'])).status).toBe(0);
    await eventually(
      async () => (await fleet.mosaic(['agent', 'tail', 'agent'])).stdout.includes('ack seq=1 bytes=6'),
      10_000,
      'ack of /clear',
    );
    expect((await fleet.mosaic(['agent', 'tail', 'agent0'])).stdout).not.toContain('ack seq=');

    // restart "agent": agent0 keeps its pane PID.
    expect((await fleet.mosaic(['fleet', 'restart', 'agent'])).status).toBe(0);
    rows = await eventually(async () => {
      const r = await statusOf(fleet);
      return r.agent!.state === 'running' && r.agent!.pane_pid !== pidAgent && r.agent!.pane_pid ? r : undefined;
    });
    expect(rows.agent0!.pane_pid).toBe(pid0);

    // stop "agent": agent0 survives untouched.
    expect((await fleet.mosaic(['fleet', 'stop', 'agent'])).status).toBe(0);
    expect(sessions(fleet)).toEqual(['_holder', 'agent0']);
    rows = await statusOf(fleet);
    expect(rows.agent!.state).toBe('stopped');
    expect(rows.agent0!.pane_pid).toBe(pid0);

    // agent status of one agent, and of an unknown one.
    const one = await fleet.json<{ agent: string; state: string }>(['agent', 'status', 'agent0']);
    expect(one).toMatchObject({ agent: 'agent0', state: 'running' });
    const unknown = await fleet.mosaic(['agent', 'status', 'agent00']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/"agent00" not in roster .*known: agent, agent0/);

    // stop everything: no session, no server left behind.
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
    expect(sessions(fleet)).toEqual([]);
  });

  it('restarts one of three agents without touching the others (pane PIDs)', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n  - {name: b, runtime: stub}\n  - {name: c, runtime: stub}\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const before = await statusOf(fleet);
    // The roster moves b elsewhere: the restart runs it there (the pane keeps its place, not its directory).
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n  - {name: b, runtime: stub, working_directory: elsewhere}\n  - {name: c, runtime: stub}\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'restart', 'b'])).status).toBe(0);
    const after = await eventually(async () => {
      const r = await statusOf(fleet);
      return r.b!.pane_pid !== before.b!.pane_pid && r.b!.state === 'running' ? r : undefined;
    });
    expect(readlinkSync(`/proc/${after.b!.pane_pid}/cwd`)).toBe(path.join(fleet.home, 'elsewhere'));
    expect(paneEnv(after.b!.pane_pid!).MOSAIC_AGENT_WORKDIR).toBe(path.join(fleet.home, 'elsewhere'));
    expect(after.a!.pane_pid).toBe(before.a!.pane_pid);
    expect(after.c!.pane_pid).toBe(before.c!.pane_pid);
    const verify = await fleet.mosaic(['fleet', 'verify']);
    expect(verify.status, verify.stderr).toBe(0);
    // The holder session runs the fleet watchdog; verify misses it and start brings it back.
    expect(sessions(fleet)).toEqual(['_holder', 'a', 'b', 'c']);
    fleet.tmux(['kill-session', '-t', '=_holder']);
    const missing = await fleet.mosaic(['fleet', 'verify']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/holder session "_holder" \(the fleet watchdog\) is missing/);
    const restarted = await fleet.mosaic(['fleet', 'start']);
    expect(restarted.stdout).toMatch(/a: already running/);
    expect(sessions(fleet)).toEqual(['_holder', 'a', 'b', 'c']);
    expect((await fleet.mosaic(['fleet', 'verify'])).status).toBe(0);
    expect((await statusOf(fleet)).a!.pane_pid).toBe(before.a!.pane_pid);
  });

  it('brings a killed agent back with a new PID, and marks a crash loop failed', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: steady, runtime: stub}\n  - {name: crashy, runtime: stub, args: ["--crash-after", "0"]}\n',
        FAST_RESTART,
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const first = await eventually(async () => (await statusOf(fleet)).steady!.pane_pid ?? undefined);
    process.kill(first, 'SIGKILL');
    // Watch tmux itself, not `mosaic fleet status` (which can also repair): recovery must happen unattended.
    await paneComesBack(fleet, 'steady', first);
    const back = await eventually(async () => {
      const row = (await statusOf(fleet)).steady!;
      return row.state === 'running' ? row : undefined;
    });
    expect(back.restarts).toBe(1);
    // 137 = SIGKILL; null when tmux closed the pane before collecting the status (then nobody knows it).
    expect([137, null]).toContain(back.last_exit_status);

    // max_crashes 3: the 4th crash inside the window gives up.
    const failed = await eventually(
      async () => {
        const row = (await statusOf(fleet)).crashy!;
        return row.state === 'failed' ? row : undefined;
      },
      20_000,
      'crashy to be marked failed',
    );
    expect(failed.restarts).toBe(3);
    expect([3, null]).toContain(failed.last_exit_status);
    const verify = await fleet.mosaic(['fleet', 'verify']);
    expect(verify.status).toBe(1);
    expect(verify.stderr).toMatch(/agent "crashy" failed/);

    // failed stays failed (no more restarts) until an explicit restart clears it.
    const text = (await fleet.mosaic(['fleet', 'status'])).stdout;
    expect(text).toMatch(/crashy\s+stub\s+failed/);
    expect((await fleet.mosaic(['fleet', 'restart', 'crashy'])).status).toBe(0);
    const row = (await statusOf(fleet)).crashy!;
    expect(row.state).not.toBe('failed');
  });

  it('start starts a failed agent again, named or not: fresh counters, reported started', async () => {
    const fleet = createFleet();
    const agents = (boomArgs: string): string =>
      `defaults:\n  working_directory: work\nagents:\n  - {name: steady, runtime: stub}\n  - {name: boom, runtime: stub${boomArgs}}\n`;
    // max_crashes 0: the first crash fails it (the test is about what start does with a failed agent).
    const failFast = FAST_RESTART.replace('max_crashes: 3', 'max_crashes: 0');
    fleet.writeRoster(roster(fleet.socket, agents(', args: ["--crash-after", "0"]'), failFast));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const failedNow = async (): Promise<StatusRow | undefined> => {
      const row = (await statusOf(fleet)).boom!;
      return row.state === 'failed' ? row : undefined;
    };
    await eventually(failedNow, 20_000, 'boom to be marked failed');
    const steadyPid = (await statusOf(fleet)).steady!.pane_pid;

    // Named: the roster's fix (no more crashing) applies, as on any start, and the counters start over.
    fleet.writeRoster(roster(fleet.socket, agents(''), failFast));
    const named = await fleet.json<{ agent: string; result: string }[]>(['fleet', 'start', 'boom']);
    expect(named).toMatchObject([{ agent: 'boom', result: 'started' }]);
    const back = await eventually(async () => {
      const row = (await statusOf(fleet)).boom!;
      return row.state === 'running' && row.pane_pid ? row : undefined;
    });
    expect(back).toMatchObject({ restarts: 0, failed_reason: null });
    const events = (await fleet.mosaic(['fleet', 'events', '--agent', 'boom', '--since', '1h'])).stdout;
    expect(events).toMatch(/ boom +failed .*\n.* boom +start +supervisor=builtin\n?$/);

    // Without names: the failed agent starts, the running one is already running (same PID).
    fleet.writeRoster(roster(fleet.socket, agents(', args: ["--crash-after", "0"]'), failFast));
    expect((await fleet.mosaic(['fleet', 'restart', 'boom'])).status).toBe(0);
    await eventually(failedNow, 20_000, 'boom to be marked failed again');
    fleet.writeRoster(roster(fleet.socket, agents(''), failFast));
    const all = await fleet.mosaic(['fleet', 'start']);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^boom: started$/m);
    expect(all.stdout).toMatch(/^steady: already running$/m);
    await eventually(async () => (await statusOf(fleet)).boom!.state === 'running' || undefined);
    expect((await statusOf(fleet)).steady!.pane_pid).toBe(steadyPid);
  });

  it('a failed agent whose tmux server is gone is stopped in every view, with no failed reason left over', async () => {
    const fleet = createFleet();
    const failFast = FAST_RESTART.replace('max_crashes: 3', 'max_crashes: 0');
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: boom, runtime: stub, args: ["--crash-after", "0"]}\n',
        failFast,
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    await eventually(async () => ((await statusOf(fleet)).boom!.state === 'failed' ? true : undefined), 20_000, 'boom to be marked failed');
    // The server goes away (a reboot, `tmux kill-server`): the run state still says failed, but there is no pane.
    fleet.tmux(['kill-server']);
    const ps = (await fleet.json<{ state: string; failed_reason: string | null }[]>(['fleet', 'ps']))[0]!;
    const status = (await statusOf(fleet)).boom!;
    const agentStatus = await fleet.json<{ state: string; failed_reason: string | null }>(['agent', 'status', 'boom']);
    expect([ps, status, agentStatus].map((row) => [row.state, row.failed_reason])).toEqual([
      ['stopped', null],
      ['stopped', null],
      ['stopped', null],
    ]);
    expect((await fleet.mosaic(['fleet', 'status'])).stdout).not.toMatch(/boom failed/);
  });

  it('start leaves an agent in its backoff (restarting) alone: it is already running', async () => {
    const fleet = createFleet();
    // One crash, then a respawn that sleeps a minute in the pane before it runs the stub again.
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: boom, runtime: stub, args: ["--crash-after", "0"]}\n',
        'restart:\n  backoff_initial_ms: 60000\n  backoff_max_ms: 60000\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const waiting = await eventually(async () => {
      const row = (await statusOf(fleet)).boom!;
      return row.state === 'restarting' && row.restarts === 1 && row.pane_pid ? row : undefined;
    });
    const again = await fleet.json<{ agent: string; result: string }[]>(['fleet', 'start', 'boom']);
    expect(again).toMatchObject([{ agent: 'boom', result: 'already-running' }]);
    expect((await statusOf(fleet)).boom).toMatchObject({ state: 'restarting', restarts: 1, pane_pid: waiting.pane_pid });
  });

  it('crash recovery keeps working after someone deletes logs/', async () => {
    const fleet = createFleet();
    fleet.writeRoster(roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n', FAST_RESTART));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const first = Number(fleet.tmux(['display-message', '-p', '-t', '=a:0.0', '#{pane_pid}']).stdout.trim());
    rmSync(`${fleet.home}/logs`, { recursive: true, force: true });
    process.kill(first, 'SIGKILL');
    // Unattended (hook or watchdog), though both append their messages to logs/supervisor.log.
    await paneComesBack(fleet, 'a', first);
    await eventually(() => existsSync(`${fleet.home}/logs/supervisor.log`) || undefined, 15_000, 'the supervisor log to be written again');
  });

  it('with the hook and the watchdog both gone, a reading command handles the death and logs it', async () => {
    const fleet = createFleet();
    fleet.writeRoster(roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n', FAST_RESTART));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    fleet.tmux(['kill-session', '-t', '=_holder']);
    fleet.tmux(['set-hook', '-gu', 'pane-died']);
    const paneOf = (format: string): string => fleet.tmux(['display-message', '-p', '-t', '=a:0.0', format]).stdout.trim();
    const first = Number(paneOf('#{pane_pid}'));
    process.kill(first, 'SIGKILL');
    await eventually(() => paneOf('#{pane_dead}') === '1' || undefined, 10_000, 'the pane to be dead');
    const supervisorLog = `${fleet.home}/logs/supervisor.log`;
    // tmux 3.3a may not have reaped the process (decision 001: then it never does, and pane_dead_status
    // stays empty); the kernel still has its exit in the zombie's /proc stat: no "status ?".
    const line = new RegExp(`reader: a \\(%\\d+, pid ${first}\\) exited with signal 9: respawn-scheduled`);
    // Nothing else is left to notice the death: `fleet status` repairs it, once.
    await eventually(
      async () => {
        await fleet.mosaic(['fleet', 'status']);
        return (existsSync(supervisorLog) && line.test(readFileSync(supervisorLog, 'utf8'))) || undefined;
      },
      15_000,
      () => `a reader line in supervisor.log:\n${existsSync(supervisorLog) ? readFileSync(supervisorLog, 'utf8') : '(none)'}`,
    );
    await paneComesBack(fleet, 'a', first);
    await fleet.mosaic(['fleet', 'status']);
    expect(
      readFileSync(supervisorLog, 'utf8')
        .split('\n')
        .filter((entry) => line.test(entry)),
    ).toHaveLength(1);
  });

  it('a fleet-wide crash storm fails the crashing agents instead of restarting them; a restart starts over', async () => {
    const fleet = createFleet();
    const crashing = Array.from({ length: 6 }, (_, i) => `c${i}`);
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: steady, runtime: stub}\n' +
          crashing.map((name) => `  - {name: ${name}, runtime: stub, args: ["--crash-after", "0"]}\n`).join(''),
        // Each agent alone may crash 100 times; the fleet together only 4 times a minute.
        'restart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 200\n  max_crashes: 100\n  window_seconds: 60\n  fleet_max_crashes: 4\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const rows = await eventually(
      async () => {
        const all = await statusOf(fleet);
        return crashing.every((name) => all[name]!.state === 'failed') ? all : undefined;
      },
      60_000,
      'every crashing agent to be marked failed',
    );
    // At most 4 crashes fleet-wide led to a restart; the per-agent limit (100) never came into play.
    expect(crashing.reduce((sum, name) => sum + rows[name]!.restarts, 0)).toBeLessThanOrEqual(4);
    for (const name of crashing)
      expect(rows[name]!.failed_reason).toMatch(/^fleet-wide crash storm: \d+ crashes in 60s across the fleet \(limit 4\)$/);
    expect(rows.steady).toMatchObject({ state: 'running', restarts: 0, failed_reason: null });
    const ps = await fleet.json<{ agent: string; state: string; failed_reason: string | null }[]>(['fleet', 'ps']);
    expect(ps.find((row) => row.agent === 'c1')).toMatchObject({ state: 'failed', failed_reason: rows.c1!.failed_reason });
    const verify = await fleet.mosaic(['fleet', 'verify']);
    expect(verify.stderr).toMatch(/agent "c0" failed \(fleet-wide crash storm/);
    // Whichever path gave up on an agent (hook, watchdog or this test's own status reads), it logged why.
    const supervisorLog = `${fleet.home}/logs/supervisor.log`;
    await eventually(
      () => /: failed \(fleet-wide crash storm/.test(readFileSync(supervisorLog, 'utf8')) || undefined,
      10_000,
      () => `a "failed (fleet-wide crash storm" line in supervisor.log:\n${readFileSync(supervisorLog, 'utf8')}`,
    );

    // An explicit restart is the operator's go: the storm record starts over, so c0 gets restarts again.
    expect((await fleet.mosaic(['fleet', 'restart', 'c0'])).status).toBe(0);
    const again = await eventually(
      async () => {
        const row = (await statusOf(fleet)).c0!;
        return row.state === 'failed' ? row : undefined;
      },
      60_000,
      'c0 to fail again',
    );
    expect(again.restarts).toBe(4);
    expect(again.failed_reason).toMatch(/fleet-wide crash storm: 5 crashes/);
  });

  it('a runtime whose executable is missing fails only that agent', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nruntimes:\n  ghost:\n    command: ["definitely-not-installed-xyz", "--flag"]\nagents:\n  - {name: ok1, runtime: stub}\n  - {name: gone, runtime: ghost}\n',
      ),
    );
    const result = await fleet.mosaic(['fleet', 'start']);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/ok1: started/);
    expect(result.stderr).toMatch(
      /gone: error: agent "gone": runtime "ghost" executable "definitely-not-installed-xyz" was not found on PATH/,
    );
    expect(sessions(fleet)).toEqual(['_holder', 'ok1']);
  });

  it('a working directory that cannot be created fails only that agent, at once (no endless mkdir under /proc)', async () => {
    const fleet = createFleet();
    const inTheWay = path.join(fleet.dir, 'a-file');
    writeFileSync(inTheWay, 'x');
    fleet.writeRoster(
      roster(
        fleet.socket,
        `defaults:\n  working_directory: work\nagents:\n  - {name: ok1, runtime: stub}\n  - {name: proc, runtime: stub, working_directory: /proc/mosaic-no-such-dir/sub}\n  - {name: file, runtime: stub, working_directory: ${inTheWay}/sub}\n`,
      ),
    );
    const result = await fleet.mosaic(['fleet', 'start']);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/ok1: started/);
    expect(result.stderr).toMatch(
      /proc: error: agent "proc": working directory \/proc\/mosaic-no-such-dir\/sub cannot be used: it cannot be created there/,
    );
    expect(result.stderr).toMatch(/file: error: agent "file": working directory .*\/a-file\/sub cannot be used: a file is in the way/);
    expect(sessions(fleet)).toEqual(['_holder', 'ok1']);
  }, 20_000);

  it('a roster whose socket changed while its fleet runs: start refuses a second copy until the old one is stopped', async () => {
    const fleet = createFleet();
    const body = 'defaults:\n  working_directory: work\nagents:\n  - {name: a1, runtime: stub}\n';
    const moved = `${fleet.socket}-b`;
    fleet.writeRoster(roster(fleet.socket, body));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    fleet.writeRoster(roster(moved, body));
    try {
      const refused = await fleet.mosaic(['fleet', 'start']);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(
        `agent "a1" still runs on socket ${fleet.socket}, where this roster started it (its socket is now ${moved})`,
      );
      expect(refused.stderr).toContain(`hint: stop it there first: MOSAIC_TMUX_SOCKET=${fleet.socket} mosaic fleet stop`);
      expect(spawnSync('tmux', ['-L', moved, 'list-sessions'], { env: fleet.env }).status).not.toBe(0);
      expect(sessions(fleet)).toEqual(['_holder', 'a1']);
      // The hint works, and then the fleet starts on its new socket.
      expect((await fleet.mosaic(['fleet', 'stop'], { env: { ...fleet.env, MOSAIC_TMUX_SOCKET: fleet.socket } })).status).toBe(0);
      const started = await fleet.mosaic(['fleet', 'start']);
      expect(started.status, started.stderr).toBe(0);
      expect(started.stdout).toMatch(/a1: started/);
      expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
    } finally {
      spawnSync('tmux', ['-L', moved, 'kill-server'], { env: fleet.env, stdio: 'ignore' });
    }
  });

  it('a holder_session changed while the fleet runs: verify and ps say how to remove the old watchdog (not --orphans)', async () => {
    const fleet = createFleet();
    const body = 'defaults:\n  working_directory: work\nagents:\n  - {name: a1, runtime: stub}\n';
    fleet.writeRoster(roster(fleet.socket, body));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    fleet.writeRoster(roster(fleet.socket, body, '  holder_session: hold2\n'));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    expect(sessions(fleet)).toEqual(['_holder', 'a1', 'hold2']);
    const remedy = `remove it with tmux -L ${fleet.socket} kill-session -t =_holder`;
    const verify = await fleet.mosaic(['fleet', 'verify', '--json']);
    expect(verify.status).toBe(1);
    expect((JSON.parse(verify.stdout) as { problems: string[] }).problems).toEqual([
      `stray session "_holder" on socket "${fleet.socket}" is a fleet watchdog (holder) that the roster no longer names (an earlier holder_session); \`mosaic fleet stop --orphans\` never stops a holder: ${remedy}`,
    ]);
    const rows = await fleet.json<{ agent: string; reasons: Record<string, string> }[]>(['fleet', 'ps']);
    expect(rows.find((row) => row.agent === '_holder')?.reasons.orphan).toContain(remedy);
    expect(fleet.tmux(['kill-session', '-t', '=_holder']).status).toBe(0);
    expect((await fleet.mosaic(['fleet', 'verify'])).status).toBe(0);
  });

  it('a session someone else makes during a start fails only its agent; the agents after it in the same tmux call start', async () => {
    const fleet = createFleet();
    const names = Array.from({ length: 55 }, (_, i) => `a${i}`);
    fleet.writeRoster(
      roster(
        fleet.socket,
        `defaults:\n  working_directory: work\nagents:\n${names.map((n) => `  - {name: ${n}, runtime: stub}\n`).join('')}`,
      ),
    );
    // Someone else's server on the fleet's socket, with a hook that makes a session "a51" once a session is made.
    // tmux runs a hook's commands after the call that fired it, so "a51" appears after mosaic looked (a51 was
    // missing) and before its second call of new sessions (agents 50 to 54), which then ends at "duplicate
    // session: a51": a52 to a54 and their transcript pipes were in that call.
    expect(fleet.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'scratch']).status).toBe(0);
    expect(fleet.tmux(['set-hook', '-g', 'session-created', 'new-session -d -s a51']).status).toBe(0);

    const result = await fleet.mosaic(['fleet', 'start']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/a51: error: session "a51" on socket \S+ was made meanwhile, not by mosaic for agent "a51"; left alone/);
    const started = [...result.stdout.matchAll(/^(a\d+): started$/gm)].map((m) => m[1]);
    expect(started.sort()).toEqual(names.filter((n) => n !== 'a51').sort());
    const marks = new Map(
      fleet
        .tmux(['list-sessions', '-F', '#{session_name}=#{@mosaic_agent}'])
        .stdout.trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
    expect(marks.get('a51')).toBe(''); // left alone
    for (const name of ['a50', 'a52', 'a53', 'a54']) expect(marks.get(name)).toBe(name);
    // a54 was made in a call of its own after the failure, with its transcript pipe.
    expect(fleet.tmux(['display-message', '-p', '-t', '=a54:0.0', '#{pane_pipe}']).stdout.trim()).toBe('1');

    // A session that only has an agent's name is not that agent's: ps flags it, send types nothing into it,
    // stop leaves it running.
    const ps = await fleet.json<{ agent: string; flags: string[]; reasons: { foreign?: string } }[]>(['fleet', 'ps']);
    expect(ps.find((r) => r.agent === 'a51')).toMatchObject({
      flags: expect.arrayContaining(['foreign']),
      reasons: { foreign: expect.stringContaining('carries no mosaic mark') },
    });
    const before = fleet.tmux(['capture-pane', '-p', '-t', '=a51:0.0']).stdout;
    const send = await fleet.mosaic(['agent', 'send', 'a51', '-m', 'NOT-FOR-YOU']);
    expect(send.status).toBe(1);
    expect(send.stderr).toMatch(
      /session "a51" on socket "\S+" was not made by mosaic for agent "a51" \(it carries no mosaic mark\); nothing was sent/,
    );
    expect(fleet.tmux(['capture-pane', '-p', '-t', '=a51:0.0']).stdout).toBe(before);
    const foreignPid = fleet.tmux(['display-message', '-p', '-t', '=a51:0.0', '#{pane_pid}']).stdout.trim();
    const restart = await fleet.mosaic(['fleet', 'restart', 'a51']);
    expect(restart.status).toBe(1);
    expect(restart.stderr).toMatch(/a51: error: session "a51" on socket \S+ was not created by mosaic for agent "a51"; left alone/);
    expect(fleet.tmux(['display-message', '-p', '-t', '=a51:0.0', '#{pane_pid}']).stdout.trim()).toBe(foreignPid);
    const stop = await fleet.mosaic(['fleet', 'stop']);
    expect(stop.status).toBe(1);
    expect(stop.stderr).toMatch(/a51: error: session "a51" on socket \S+ was not created by mosaic for agent "a51"; left alone/);
    expect(fleet.tmux(['list-sessions', '-F', '#{session_name}']).stdout.trim().split('\n').sort()).toEqual(['_holder', 'a51', 'scratch']);
    // Nor is it "already running" for a start.
    const again = await fleet.mosaic(['fleet', 'start', 'a51']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/a51: error: session "a51" on socket \S+ was not created by mosaic for agent "a51"; left alone/);
  }, 120_000); // 55 stub agents

  it('two starts at once: each agent is started by one and already running for the other, and logged started once', async () => {
    const fleet = createFleet();
    const names = Array.from({ length: 8 }, (_, i) => `w${i}`);
    fleet.writeRoster(
      roster(
        fleet.socket,
        `defaults:\n  working_directory: work\nagents:\n${names.map((n) => `  - {name: ${n}, runtime: stub}\n`).join('')}`,
      ),
    );
    type Outcome = { agent: string; result: string };
    // The race is the two looking before either has made anything: rounds make it likely; each must be right.
    const rounds = 2;
    for (let round = 0; round < rounds; round++) {
      const runs = await Promise.all([fleet.mosaic(['fleet', 'start', '--json']), fleet.mosaic(['fleet', 'start', '--json'])]);
      for (const run of runs) expect(run.status, run.stderr).toBe(0);
      const [first, second] = runs.map((run) => new Map((JSON.parse(run.stdout) as Outcome[]).map((o) => [o.agent, o.result])));
      for (const name of names)
        expect([first!.get(name), second!.get(name)].sort(), `${name}, round ${round}`).toEqual(['already-running', 'started']);
      expect(sessions(fleet)).toEqual(['_holder', ...names].sort());
      expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
    }
    const log = await fleet.mosaic(['fleet', 'events', '--json', '--type', 'start']);
    const starts = log.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { agent: string }).agent);
    for (const name of names)
      expect(
        starts.filter((agent) => agent === name),
        name,
      ).toHaveLength(rounds);
  }, 60_000);

  it('stops leave no session behind and tail shows the screen', async () => {
    const fleet = createFleet();
    fleet.writeRoster(roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: w.x, runtime: stub}\n'));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    // "." is not allowed in tmux session names: the agent lives in session w_x.
    expect(sessions(fleet)).toEqual(['_holder', 'w_x']);
    const tail = await eventually(async () => {
      const out = (await fleet.mosaic(['agent', 'tail', 'w.x', '-n', '5'])).stdout;
      return out.includes('stub>') ? out : undefined;
    });
    expect(tail).toContain('mosaic stub agent w.x');
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
    expect(fleet.tmux(['list-sessions']).status).not.toBe(0);
  });
});
