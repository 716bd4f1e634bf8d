import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, paneComesBack, roster, type StatusRow, type TestFleet } from './harness.js';

const sessions = (fleet: TestFleet): string[] => {
  const result = fleet.tmux(['list-sessions', '-F', '#{session_name}']);
  return result.status === 0 ? result.stdout.trim().split('\n').sort() : [];
};

interface OrphanReport {
  socket: string;
  roster: string | null;
  roster_note: string | null;
  records: { session: string; agent: string | null; result: string; reason: string; tenant_id: string; host: string }[];
  remaining: string[];
}

const stubs = (...names: string[]): string =>
  `defaults:\n  working_directory: work\nagents:\n${names.map((n) => `  - name: ${n}\n    runtime: stub\n`).join('')}`;

describe('fleet stop --orphans on real tmux', () => {
  it('stops marked sessions the roster no longer names; never unmarked ones, never the holder; works with the roster gone', async () => {
    const fleet = createFleet();
    fleet.writeRoster(roster(fleet.socket, stubs('keep', 'gone1', 'gone2')));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    expect(fleet.tmux(['new-session', '-d', '-s', 'mine', '--', 'sh', '-c', 'exec sleep 600']).status).toBe(0);
    // The roster is edited: gone1 and gone2 are no longer in it.
    fleet.writeRoster(roster(fleet.socket, stubs('keep')));

    const ps = await fleet.json<{ agent: string; flags: string[]; reasons: { orphan?: string } }[]>(['fleet', 'ps']);
    expect(ps.find((r) => r.agent === 'gone1')!.reasons.orphan).toMatch(/mosaic fleet stop --orphans/);
    expect(ps.find((r) => r.agent === 'mine')!.reasons.orphan).toMatch(/not created by mosaic/);
    const verify = await fleet.mosaic(['fleet', 'verify', '--json']);
    const problems = (JSON.parse(verify.stdout) as { problems: string[] }).problems;
    expect(problems.filter((p) => p.includes('`mosaic fleet stop --orphans`'))).toHaveLength(2);
    expect(problems.find((p) => p.includes('"mine"'))).toMatch(/not created by mosaic/);

    const stopped = await fleet.json<OrphanReport>(['fleet', 'stop', '--orphans']);
    expect(stopped.roster).toBe(fleet.rosterPath);
    expect(
      stopped.records
        .filter((r) => r.result === 'stopped')
        .map((r) => r.session)
        .sort(),
    ).toEqual(['gone1', 'gone2']);
    expect(stopped.records.find((r) => r.session === 'mine')!.result).toBe('left-alone');
    expect(stopped.records.find((r) => r.session === '_holder')!.result).toBe('left-alone');
    expect(sessions(fleet)).toEqual(['_holder', 'keep', 'mine']);
    expect(existsSync(path.join(fleet.home, 'run', 'gone1.launch'))).toBe(false);
    expect(existsSync(path.join(fleet.home, 'run', 'keep.launch'))).toBe(true);
    const again = await fleet.mosaic(['fleet', 'stop', '--orphans']);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/no orphan sessions on socket/);

    // The roster is deleted: nothing names the socket, so it must be named.
    rmSync(fleet.rosterPath);
    const unnamed = await fleet.mosaic(['fleet', 'stop', '--orphans']);
    expect(unnamed.status).toBe(1);
    expect(unnamed.stderr).toMatch(/--socket <name>/);
    expect(sessions(fleet)).toEqual(['_holder', 'keep', 'mine']);
    const named = await fleet.mosaic(['fleet', 'stop', '--orphans', '--socket', fleet.socket]);
    expect(named.status, named.stderr).toBe(0);
    expect(named.stderr).toMatch(/no usable roster/);
    expect(named.stdout).toMatch(/^keep: stopped$/m);
    expect(sessions(fleet)).toEqual(['_holder', 'mine']);
    // MOSAIC_TMUX_SOCKET names it as well.
    expect(fleet.tmux(['new-session', '-d', '-s', 'late', '--', 'sh', '-c', 'exec sleep 600']).status).toBe(0);
    expect(fleet.tmux(['set-option', '-t', '=late:', '@mosaic_agent', 'late']).status).toBe(0);
    const viaEnv = await fleet.mosaic(['fleet', 'stop', '--orphans', '--json'], {
      env: { ...fleet.env, MOSAIC_TMUX_SOCKET: fleet.socket },
    });
    expect(viaEnv.status, viaEnv.stderr).toBe(0);
    expect((JSON.parse(viaEnv.stdout) as OrphanReport).remaining.sort()).toEqual(['_holder', 'mine']);
    // --socket without --orphans, and names with --orphans, are usage errors.
    expect((await fleet.mosaic(['fleet', 'stop', '--socket', fleet.socket])).status).toBe(2);
    expect((await fleet.mosaic(['fleet', 'stop', 'x', '--orphans', '--socket', fleet.socket])).status).toBe(2);
  });
});

describe('upstream compatibility on real tmux', () => {
  it('a second roster in the same config root has its own run/logs dirs; crash recovery finds them', async () => {
    const fleet = createFleet();
    const other = path.join(fleet.home, 'usc.yaml');
    writeFileSync(
      other,
      roster(
        fleet.socket,
        `working_directory: work\nagents:\n  - name: solo\n    runtime: stub\n  - name: duo\n    runtime: stub\n`,
        'heartbeat:\n  interval_seconds: 1\nrestart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 200\n',
      ),
    );
    const started = await fleet.mosaic(['--roster', other, 'fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);
    expect(started.stderr).toMatch(/warning: .*usc\.yaml:\d+: top-level working_directory .*defaults:/);
    expect(started.stdout).toMatch(/builtin supervisor, by default: no supervisor: in the roster and no enabled systemd units/);
    const [stateDir] = readdirSync(path.join(fleet.home, 'rosters'));
    expect(stateDir).toMatch(/^usc-[0-9a-f]{10}$/);
    const run = path.join(fleet.home, 'rosters', stateDir!, 'run');
    expect(existsSync(path.join(run, 'solo.launch'))).toBe(true);
    expect(existsSync(path.join(fleet.home, 'run'))).toBe(false); // the default roster's directory is untouched
    await eventually(() => existsSync(path.join(run, 'solo.hb')) || undefined, 15_000, 'solo heartbeat in its own run dir');

    const all = await fleet.json<StatusRow[]>(['--roster', other, 'agent', 'status']);
    expect(all.map((r) => r.agent)).toEqual(['solo', 'duo']);
    const text = await fleet.mosaic(['--roster', other, 'agent', 'status']);
    expect(text.stdout).toMatch(/^solo\s/m);
    expect(text.stdout).toMatch(/^duo\s/m);

    // A crash: the pane-died hook and the watchdog (MOSAIC_FLEET_HOME = the roster's state dir) restart it.
    const pid = await eventually(
      async () => (await fleet.json<StatusRow>(['--roster', other, 'agent', 'status', 'solo'])).pane_pid ?? undefined,
    );
    process.kill(pid, 'SIGKILL');
    await paneComesBack(fleet, 'solo', pid);
    const row = await eventually(async () => {
      const r = await fleet.json<StatusRow>(['--roster', other, 'agent', 'status', 'solo']);
      return r.restarts >= 1 && r.state === 'running' ? r : undefined;
    });
    expect(row.restarts).toBeGreaterThanOrEqual(1);
    const ps = await fleet.json<{ agent: string; supervisor: string }[]>(['--roster', other, 'fleet', 'ps']);
    expect(ps.map((r) => r.supervisor)).toEqual(['builtin', 'builtin']);
    const verify = await fleet.json<{ warnings: string[] }>(['--roster', other, 'fleet', 'verify']);
    expect(verify.warnings.some((w) => w.includes('top-level working_directory'))).toBe(true);
    expect((await fleet.mosaic(['--roster', other, 'fleet', 'stop'])).status).toBe(0);
  });
});
