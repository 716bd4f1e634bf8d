import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, createFleet, eventually, roster, type TestFleet } from './harness.js';

const FAST_RESTART = 'restart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 200\n  max_crashes: 5\n  window_seconds: 60\n';

function oneAgent(extraEnv: NodeJS.ProcessEnv = {}): TestFleet {
  const fleet = createFleet();
  Object.assign(fleet.env, extraEnv);
  fleet.writeRoster(
    roster(
      fleet.socket,
      'defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub}\n  - {name: never, runtime: stub}\n',
      FAST_RESTART,
    ),
  );
  return fleet;
}

/** Type a message into the stub the way a person would; it answers with an ack line. */
const typeMessage = (fleet: TestFleet, text: string): void => {
  expect(fleet.tmux(['send-keys', '-t', '=a:0.0', '-l', text]).status).toBe(0);
  expect(fleet.tmux(['send-keys', '-t', '=a:0.0', 'Enter']).status).toBe(0);
};

const logs = async (fleet: TestFleet, args: string[] = []): Promise<string> => {
  const result = await fleet.mosaic(['agent', 'logs', 'a', '--strip-ansi', '-n', '100000', ...args]);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
};

const readyLines = (text: string): string[] => text.split('\n').filter((line) => /mosaic stub agent a \(pid \d+\) ready/.test(line));

/** Processes of ours that hold `file` open (for the transcript writer). */
function holders(file: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === file) pids.push(Number(pid));
      }
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

describe('transcripts and agent logs on real tmux', () => {
  it('records everything the pane printed, from the first line; -n, --strip-ansi and --json', async () => {
    const fleet = oneAgent();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    typeMessage(fleet, 'hello transcript');
    const text = await eventually(async () => {
      const out = await logs(fleet);
      return out.includes('[stub] ack seq=1 bytes=16') ? out : undefined;
    });
    expect(readyLines(text)).toHaveLength(1); // the first output, printed before anyone could attach
    expect(text).toContain('hello transcript');
    expect(text).not.toContain('\u001b');

    const file = path.join(fleet.home, 'logs', 'a.log');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const raw = readFileSync(file, 'utf8');
    expect(raw).toContain('\u001b[?2004h'); // raw output keeps the escape sequences
    const plainRaw = await fleet.mosaic(['agent', 'logs', 'a']);
    expect(plainRaw.stdout).toContain('\u001b[?2004h');

    const last = await fleet.mosaic(['agent', 'logs', 'a', '-n', '2', '--strip-ansi']);
    expect(last.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(last.stdout).toContain('ack seq=1');
    expect(last.stdout).not.toContain('ready');

    const json = await fleet.json<{ tenant_id: string; host: string; agent: string; file: string; lines: string[] }>([
      'agent',
      'logs',
      'a',
      '-n',
      '3',
      '--strip-ansi',
    ]);
    expect(json.tenant_id.length).toBeGreaterThan(0);
    expect(json.host.length).toBeGreaterThan(0);
    expect(json).toMatchObject({ agent: 'a', file });
    expect(json.lines).toHaveLength(3);

    const none = await fleet.mosaic(['agent', 'logs', 'never']);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/agent "never" has no transcript yet/);
    expect((await fleet.mosaic(['agent', 'logs', 'nobody'])).status).toBe(1);
    expect((await fleet.mosaic(['agent', 'logs', 'a', '-n', 'x'])).status).toBe(2);
  });

  it('logs and tail take -n as digits only: anything else is a usage error (exit 2) before the fleet is touched', async () => {
    const fleet = oneAgent();
    for (const [verb, range] of [
      ['logs', '0 to 1000000'],
      ['tail', '0 to 100000'],
    ] as const) {
      for (const value of ['', ' 3', '0x10', '1e2', '1.5', '+5', '-1']) {
        const result = await fleet.mosaic(['agent', verb, 'a', '-n', value]);
        expect([verb, value, result.status, result.stdout]).toEqual([verb, value, 2, '']);
        expect(result.stderr).toContain(`-n must be a whole number from ${range}, got "${value}"`);
      }
    }
  });

  it('-f follows new output until interrupted', async () => {
    const fleet = oneAgent();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    await eventually(async () => readyLines(await logs(fleet)).length === 1 || undefined);
    // -n 0: accepted by both, and prints nothing (tail's capture would be the whole screen with slice(-0)).
    for (const verb of ['logs', 'tail']) {
      const none = await fleet.mosaic(['agent', verb, 'a', '-n', '0']);
      expect([verb, none.status, none.stdout, none.stderr]).toEqual([verb, 0, '', '']);
    }
    const child = spawn(process.execPath, [CLI, 'agent', 'logs', 'a', '-f', '--strip-ansi', '-n', '5'], { env: fleet.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await eventually(() => out.includes('ready') || undefined, 15_000, 'the tail');
    typeMessage(fleet, 'followed');
    await eventually(() => out.includes('[stub] ack seq=1 bytes=8') || undefined, 15_000, 'new output to be followed');
    child.kill('SIGINT');
    expect(await closed).toBe(0);
  });

  it('keeps the size cap by rotating, loses nothing across the rotation, and survives restarts and crashes', async () => {
    // The watchdog's own check (next test) is pushed out of the way: here reading rotates.
    const fleet = oneAgent({ MOSAIC_TRANSCRIPT_MAX_BYTES: '4000', MOSAIC_TRANSCRIPT_CHECK_SECONDS: '86400' });
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    const file = path.join(fleet.home, 'logs', 'a.log');
    await eventually(async () => readyLines(await logs(fleet)).length === 1 || undefined);
    // Over the cap in a few messages (send-keys drops text past a KB or two in one go).
    for (let seq = 1; seq <= 5; seq += 1) {
      typeMessage(fleet, `before-rotation ${'x'.repeat(900)}`);
      await eventually(() => readFileSync(file, 'utf8').includes(`ack seq=${seq}`) || undefined, 15_000, `ack ${seq}`);
    }
    expect(statSync(file).size).toBeGreaterThan(4000);

    // Reading rotates: the big log becomes a.log.1, the pane's pipe moves to a fresh a.log.
    await logs(fleet);
    expect(existsSync(`${file}.1`)).toBe(true);
    expect(readFileSync(`${file}.1`, 'utf8')).toContain('before-rotation');
    await eventually(() => (holders(`${file}.1`).length === 0 ? true : undefined), 15_000, 'the old writer to let go of a.log.1');
    typeMessage(fleet, 'after-rotation');
    await eventually(
      () => (existsSync(file) && readFileSync(file, 'utf8').includes('ack seq=6') ? true : undefined),
      15_000,
      'new output in a.log',
    );
    expect(readFileSync(file, 'utf8')).not.toContain('before-rotation');
    expect(holders(file)).toHaveLength(1); // one writer per agent
    const both = await logs(fleet);
    expect(both.indexOf('before-rotation')).toBeGreaterThanOrEqual(0);
    expect(both.indexOf('before-rotation')).toBeLessThan(both.indexOf('after-rotation'));

    // An explicit restart and a crash (respawned by the supervisor) keep writing to the same transcript.
    expect((await fleet.mosaic(['fleet', 'restart', 'a'])).status).toBe(0);
    // (the first "ready" is in a.log.1 now)
    await eventually(async () => readyLines(await logs(fleet)).length === 2 || undefined, 15_000, 'the restarted agent in a.log');
    const pid = Number(fleet.tmux(['display-message', '-p', '-t', '=a:0.0', '#{pane_pid}']).stdout.trim());
    process.kill(pid, 'SIGKILL');
    await eventually(async () => readyLines(await logs(fleet)).length === 3 || undefined, 15_000, 'the respawned agent in a.log');
    expect(holders(file)).toHaveLength(1);
  });

  it('the fleet watchdog keeps the cap by itself, with no mosaic command run', async () => {
    const fleet = oneAgent({ MOSAIC_TRANSCRIPT_MAX_BYTES: '4000', MOSAIC_TRANSCRIPT_CHECK_SECONDS: '1' });
    // The supervisor's own log is held to the same cap.
    const supervisorLog = path.join(fleet.home, 'logs', 'supervisor.log');
    mkdirSync(path.dirname(supervisorLog), { recursive: true });
    writeFileSync(supervisorLog, `${'old supervisor line\n'.repeat(300)}`);
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    const file = path.join(fleet.home, 'logs', 'a.log');
    const read = (name: string): string => (existsSync(name) ? readFileSync(name, 'utf8') : '');
    for (let seq = 1; seq <= 5; seq += 1) {
      typeMessage(fleet, `before-rotation ${'x'.repeat(900)}`);
      await eventually(() => (read(`${file}.1`) + read(file)).includes(`ack seq=${seq}`) || undefined, 15_000, `ack ${seq}`);
    }
    // From here on only the watchdog acts: no `agent logs`, no `fleet ps`.
    await eventually(() => read(`${file}.1`).includes('before-rotation') || undefined, 15_000, 'the watchdog to rotate a.log');
    await eventually(() => (holders(`${file}.1`).length === 0 ? true : undefined), 15_000, 'the old writer to let go of a.log.1');
    typeMessage(fleet, 'after-rotation');
    await eventually(() => read(file).includes('ack seq=6') || undefined, 15_000, 'new output in the reopened a.log');
    expect(statSync(file).size).toBeLessThan(4000);
    expect(holders(file)).toHaveLength(1);
    expect(read(`${supervisorLog}.1`)).toContain('old supervisor line');
    expect(read(supervisorLog)).not.toContain('old supervisor line');
    expect(read(`${supervisorLog}.1`) + read(supervisorLog)).toMatch(/watchdog: rotated the transcripts of a\b/);
  });

  it('fleet ps gives a running pane without a pipe its transcript back', async () => {
    const fleet = oneAgent();
    expect((await fleet.mosaic(['fleet', 'start', 'a'])).status).toBe(0);
    const piped = (): string => fleet.tmux(['display-message', '-p', '-t', '=a:0.0', '#{pane_pipe}']).stdout.trim();
    expect(piped()).toBe('1');
    expect(fleet.tmux(['pipe-pane', '-t', '=a:0.0']).status).toBe(0); // closes it
    expect(piped()).toBe('0');
    expect((await fleet.mosaic(['fleet', 'ps'])).status).toBe(0);
    expect(piped()).toBe('1');
    typeMessage(fleet, 'piped again');
    await eventually(async () => (await logs(fleet)).includes('[stub] ack seq=1') || undefined, 15_000, 'output after the repair');
  });
});
