import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureScreen, createFleet, eventually, roster, type TestFleet } from './harness.js';

/** The messages a stub recorded, oldest first (each body byte for byte). */
function recorded(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort((a, b) => parseInt(a) - parseInt(b))
    .map((name) => readFileSync(path.join(dir, name), 'utf8'));
}

function stubFleet(agentYaml: (rec: string) => string): { fleet: TestFleet; rec: string } {
  const fleet = createFleet();
  const rec = path.join(fleet.dir, 'rec');
  mkdirSync(rec);
  fleet.writeRoster(roster(fleet.socket, `defaults:\n  working_directory: work\nagents:\n${agentYaml(rec)}`, 'tenant_id: acme\n'));
  return { fleet, rec };
}

const stub = (name: string, rec: string, extra = ''): string =>
  `  - name: ${name}\n    runtime: stub\n    class: crew\n    args: [--record-dir, ${JSON.stringify(rec)}]\n${extra}`;

describe('launch features on stub agents', () => {
  it('a runtime without a prompt flag gets its kickstart sent at start, with the variables filled in', async () => {
    const { fleet, rec } = stubFleet((r) => stub('k1', r, `    kickstart_template: "hello {agent} of class {class} for {tenant_id}"\n`));
    const started = await fleet.mosaic(['fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);
    const [first] = await eventually(() => (recorded(rec).length > 0 ? recorded(rec) : undefined), 15_000, 'the kickstart');
    expect(first).toBe('hello k1 of class crew for acme');
    const ps = await fleet.json<{ agent: string; mode: string; model: string | null }[]>(['fleet', 'ps']);
    expect(ps[0]).toMatchObject({ agent: 'k1', mode: 'safe', model: null });
  });

  it('reset_between_tasks: a second task starts on a reset conversation, with the kickstart again; --no-reset skips it', async () => {
    const { fleet, rec } = stubFleet((r) => stub('t1', r, `    reset_between_tasks: true\n    kickstart_template: KICK\n`));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    await eventually(() => (recorded(rec).length === 1 ? true : undefined), 15_000, 'the kickstart at start');
    const send = (text: string, ...more: string[]) =>
      fleet.mosaic(['agent', 'send', 't1', '--verify', '--no-preamble', ...more, '-m', text]);

    const one = await send('task one');
    expect(one.status, one.stderr).toBe(0);
    expect(one.stderr).not.toMatch(/reset before/); // the kickstart alone is not a task
    const two = await send('task two');
    expect(two.status, two.stderr).toBe(0);
    expect(two.stderr).toMatch(/t1: reset before the next task/);
    const three = await send('task three', '--no-reset');
    expect(three.status, three.stderr).toBe(0);
    expect(three.stderr).not.toMatch(/reset before/);
    expect(recorded(rec)).toEqual(['KICK', 'task one', '/clear', 'KICK', 'task two', 'task three']);
  });

  it('persistent_persona: true refuses a reset without --force', async () => {
    const { fleet, rec } = stubFleet((r) => stub('p1', r, `    persistent_persona: true\n`));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const refused = await fleet.mosaic(['agent', 'reset', 'p1', '--clear']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/agent "p1" has persistent_persona: true: mosaic does not reset its conversation/);
    expect(refused.stderr).toMatch(/--force/);
    expect(recorded(rec)).toEqual([]);
    const forced = await fleet.mosaic(['agent', 'reset', 'p1', '--clear', '--force', '--json']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ verified: true, how: 'clear' });
    expect(recorded(rec)).toEqual(['/clear']);
  });

  it('agent reset --restart: a new session by restarting the agent, then the kickstart', async () => {
    const { fleet, rec } = stubFleet((r) => stub('r1', r, `    mode: yolo\n    kickstart_template: "KICK {agent}"\n`));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    await eventually(() => (recorded(rec).length === 1 ? true : undefined), 15_000, 'the kickstart at start');
    const pid = (await fleet.json<{ pane_pid: number }[]>(['fleet', 'ps']))[0]!.pane_pid;
    const resetAt = Date.now();
    const reset = await fleet.mosaic(['agent', 'reset', 'r1', '--clear', '--restart', '--json']);
    expect(reset.status, reset.stderr).toBe(0);
    const result = JSON.parse(reset.stdout) as { how: string; verified: boolean; kickstart_via: string };
    expect(result).toMatchObject({ how: 'restart', verified: true, kickstart_via: 'send' });
    const after = (await fleet.json<{ pane_pid: number; mode: string }[]>(['fleet', 'ps']))[0]!;
    expect(after.pane_pid).not.toBe(pid);
    expect(after.mode).toBe('yolo');
    // The restarted stub numbers its messages from 1 again: its first message is the new kickstart.
    expect(recorded(rec)).toEqual(['KICK r1']);
    expect(statSync(path.join(rec, '1.msg')).mtimeMs).toBeGreaterThanOrEqual(resetAt - 1000);
  });

  it('agent reset types nothing while the launcher sleeps a restart backoff: not ready for input, exit 1', async () => {
    const fleet = createFleet();
    // The first restart waits a minute: the pane shows the supervisor's notice, no stub prompt.
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: b1, runtime: stub}\n',
        'restart:\n  backoff_initial_ms: 60000\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const pid = await eventually(async () => (await fleet.json<{ pane_pid: number | null }[]>(['fleet', 'ps']))[0]!.pane_pid ?? undefined);
    process.kill(pid, 'SIGKILL');
    await eventually(() => (captureScreen(fleet, 'b1').lines.some((line) => /restart 1 in /.test(line)) ? true : undefined));
    const reset = await fleet.mosaic(['agent', 'reset', 'b1', '--clear']);
    expect(reset.status).toBe(1);
    expect(reset.stderr).toMatch(/agent "b1" is not ready for input \(no stub prompt on screen\): nothing was typed/);
    expect(reset.stderr).toMatch(/--restart/);
    // The pane's terminal echoes what is typed into it, even while the launcher sleeps: nothing shows.
    expect(captureScreen(fleet, 'b1').lines.join('\n')).not.toMatch(/clear/);
  }, 60_000);

  it('a clear command that cannot be proven falls back to a restart with a new session, and says so', async () => {
    const fleet = createFleet();
    // A runtime that never submits what is typed: /clear stays a draft.
    fleet.writeRoster(
      roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: deaf, runtime: stub, args: [--ignore-enter]}\n'),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const pid = await eventually(async () => (await fleet.json<{ pane_pid: number | null }[]>(['fleet', 'ps']))[0]!.pane_pid ?? undefined);
    const reset = await fleet.mosaic(['agent', 'reset', 'deaf', '--clear']);
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(
      /deaf: restart with a new session verified: \/clear showed no fresh conversation within 10s: restarted the agent with a new session/,
    );
    const after = (await fleet.json<{ pane_pid: number }[]>(['fleet', 'ps']))[0]!;
    expect(after.pane_pid).not.toBe(pid);
  }, 60_000);
});
