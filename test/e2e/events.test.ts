import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, createFleet, eventually, paneComesBack, roster, statusOf, type TestFleet } from './harness.js';

const FAST_RESTART = 'restart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 200\n  max_crashes: 3\n  window_seconds: 60\n';

interface EventRecord {
  tenant_id: string;
  host: string;
  ts: string;
  type: string;
  agent?: string;
  [key: string]: unknown;
}

async function events(fleet: TestFleet, args: string[] = []): Promise<EventRecord[]> {
  const result = await fleet.mosaic(['fleet', 'events', '--json', ...args]);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as EventRecord);
}

const summary = (records: EventRecord[]): string[] => records.map((e) => `${e.agent ?? '-'} ${e.type}`);

/** `mosaic fleet events -f …` in the background: its lines as they come, and a way to stop it. */
function followEvents(fleet: TestFleet, args: string[]) {
  const child = spawn(process.execPath, [CLI, 'fleet', 'events', '-f', ...args], { env: fleet.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    lines: (): string[] => stdout.split('\n').filter(Boolean),
    stderr: (): string => stderr,
    /** SIGTERM (as Ctrl-C would): it stops following and exits 0. */
    stop: async (): Promise<number | null> => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('mosaic fleet events (built-in supervisor, real tmux)', () => {
  it('logs start, send with its verdict, crash, automatic restart and stop, in order; filters; follows', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n  - {name: b, runtime: stub}\n',
        FAST_RESTART,
      ),
    );
    const started = await fleet.mosaic(['fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);

    const sent = await fleet.mosaic(['agent', 'send', 'a', '--verify', '--json', '-m', 'secret body 42']);
    expect(sent.status, sent.stderr).toBe(0);
    const send = JSON.parse(sent.stdout) as { send_id: string; status: string; bytes: number };
    expect(send.status).toBe('accepted');

    // Kill a's process: the supervisor logs the crash and its automatic restart, unattended.
    const before = await eventually(async () => (await statusOf(fleet)).a!.pane_pid ?? undefined);
    const afterSend = new Date().toISOString();
    process.kill(before, 'SIGKILL');
    await paneComesBack(fleet, 'a', before);
    await eventually(async () => (await events(fleet, ['--type', 'restart'])).length > 0 || undefined, 15_000, 'the restart event');

    // -f prints what is there, then new events as they happen.
    const follower = followEvents(fleet, ['--agent', 'b']);
    await eventually(
      () => follower.lines().some((line) => / b +start +supervisor=builtin$/.test(line)) || undefined,
      15_000,
      'the backlog',
    );
    expect(follower.lines().every((line) => / b /.test(line))).toBe(true);
    expect((await fleet.mosaic(['fleet', 'restart', 'b'])).status).toBe(0);
    await eventually(
      () => follower.lines().some((line) => / b +restart +.*trigger=command/.test(line)) || undefined,
      15_000,
      'the live line',
    );
    expect(await follower.stop(), follower.stderr()).toBe(0);

    // --json streams with -f too.
    const jsonFollower = followEvents(fleet, ['--json', '--type', 'stop']);
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
    await eventually(() => (jsonFollower.lines().length === 2 ? true : undefined), 15_000, 'two stop events, streamed');
    expect(await jsonFollower.stop()).toBe(0);
    expect(jsonFollower.lines().map((line) => (JSON.parse(line) as EventRecord).agent)).toEqual(['a', 'b']);

    const all = await events(fleet);
    expect(summary(all)).toEqual(['a start', 'b start', 'a send', 'a crash', 'a restart', 'b restart', 'a stop', 'b stop']);
    expect(all.every((e) => e.tenant_id && e.host && !Number.isNaN(Date.parse(e.ts)))).toBe(true);
    const [sendEvent] = all.filter((e) => e.type === 'send');
    expect(sendEvent).toMatchObject({ agent: 'a', send_id: send.send_id, verdict: 'accepted', bytes: send.bytes, verify: true });
    // Never the message itself.
    expect(JSON.stringify(all)).not.toContain('secret body');
    expect(all.find((e) => e.type === 'crash')).toMatchObject({ agent: 'a', pid: before });
    expect(all.find((e) => e.type === 'restart' && e.agent === 'a')).toMatchObject({ trigger: 'crash', restarts: 1 });

    // Filters: --agent, --since, --type.
    expect(summary(await events(fleet, ['--agent', 'a']))).toEqual(['a start', 'a send', 'a crash', 'a restart', 'a stop']);
    expect(summary(await events(fleet, ['--since', afterSend]))).toEqual(['a crash', 'a restart', 'b restart', 'a stop', 'b stop']);
    expect(summary(await events(fleet, ['--since', '1h', '--agent', 'b', '--type', 'start,stop']))).toEqual(['b start', 'b stop']);
    expect(await events(fleet, ['--since', '2000-01-01T00:00:00Z', '--type', 'failed'])).toEqual([]);

    // Human output: one line per event.
    const text = await fleet.mosaic(['fleet', 'events', '--agent', 'a', '--type', 'send']);
    expect(text.stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d a +send +send_id=${send.send_id} .*verdict=accepted`));

    // Errors: an unknown agent names it (exit 1); bad --since / --type are usage errors (exit 2).
    const unknown = await fleet.mosaic(['fleet', 'events', '--agent', 'nobody']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/agent "nobody" is not in roster .* \(known: a, b\)/);
    const badSince = await fleet.mosaic(['fleet', 'events', '--since', 'yesterday']);
    expect(badSince.status).toBe(2);
    expect(badSince.stderr).toMatch(/--since takes an ISO 8601 time/);
    const badType = await fleet.mosaic(['fleet', 'events', '--type', 'start,boom']);
    expect(badType.status).toBe(2);
    expect(badType.stderr).toMatch(/unknown event type "boom"/);
  });
  it('a crash loop: each crash once (hook and watchdog never both), a restart after each, then failed with the reason', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: crashy, runtime: stub, args: ["--crash-after", "0"]}\n',
        FAST_RESTART,
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const loop = await eventually(
      async () => {
        const found = await events(fleet, ['--agent', 'crashy', '--type', 'crash,restart,failed']);
        return found.some((e) => e.type === 'failed') ? found : undefined;
      },
      20_000,
      'the failed event',
    );
    expect(summary(loop)).toEqual([
      'crashy crash',
      'crashy restart',
      'crashy crash',
      'crashy restart',
      'crashy crash',
      'crashy restart',
      'crashy crash',
      'crashy failed',
    ]);
    // 3 is the stub's status; null when tmux closed the pane before collecting it (then nobody knows it).
    expect(loop.filter((e) => e.type === 'crash').every((e) => e.exit_status === 3 || e.exit_status === null)).toBe(true);
    expect(loop.map((e) => e.restarts).filter((n) => n !== undefined)).toEqual([1, 2, 3, 3]);
    expect(loop.at(-1)!.reason).toMatch(/crash/);
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  });
});
