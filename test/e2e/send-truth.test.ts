import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, roster, type TestFleet } from './harness.js';

interface SendJson {
  status: string;
  detail: string;
}

/** A started fleet of one stub, `busy`, that works `slowMs` on each message and records what it took in `rec`. */
async function startBusyStub(slowMs: number): Promise<{ fleet: TestFleet; rec: string }> {
  const fleet = createFleet();
  const rec = path.join(fleet.dir, 'rec');
  mkdirSync(rec);
  fleet.writeRoster(
    roster(
      fleet.socket,
      `defaults:\n  working_directory: work\nagents:\n  - {name: busy, runtime: stub, args: [--slow-ms, '${slowMs}', --record-dir, ${JSON.stringify(rec)}]}\n`,
    ),
  );
  expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
  return { fleet, rec };
}

describe('send --verify tells the truth', () => {
  it('a message sent while the agent is busy is queued (then processed once), never a draft', async () => {
    const { fleet, rec } = await startBusyStub(8000);
    const send = (text: string, verify = true) =>
      fleet.mosaic([
        'agent',
        'send',
        'busy',
        ...(verify ? ['--verify'] : []),
        '--verify-timeout',
        '20000',
        '--no-preamble',
        '--json',
        '-m',
        text,
      ]);
    // The first send does not wait for the acknowledgement (its lock is released while the stub works).
    expect((await send('first task', false)).status).toBe(0);
    expect(fleet.tmux(['capture-pane', '-p', '-t', '=busy:0.0']).stdout).toMatch(/\[stub\] working seq=1/);
    expect(fleet.tmux(['capture-pane', '-p', '-t', '=busy:0.0']).stdout).not.toMatch(/\[stub\] ack seq=1/);
    const second = await send('second task');
    const verdict = JSON.parse(second.stdout) as SendJson;
    expect(['queued', 'accepted'], `${second.stdout}${second.stderr}`).toContain(verdict.status);
    expect(second.status).toBe(0);
    // The stub reads it after the first: each message exactly once.
    const bodies = await eventually(() => {
      const files = existsSync(rec) ? readdirSync(rec).sort() : [];
      return files.length === 2 ? files.map((f) => readFileSync(path.join(rec, f), 'utf8')) : undefined;
    }, 20_000);
    expect(bodies).toEqual(['first task', 'second task']);
  }, 60_000);

  it('a message queued behind another is accepted when the stub starts on it (its line follows the prompt)', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(fleet.socket, `defaults:\n  working_directory: work\nagents:\n  - {name: busy, runtime: stub, args: [--slow-ms, '1000']}\n`),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    expect((await fleet.mosaic(['agent', 'send', 'busy', '--no-preamble', '-m', 'first'])).status).toBe(0);
    // Ours waits in the stub's input; when the first is done the stub prints its prompt and, on the same row,
    // `[stub] working seq=2 …` for ours: that is the evidence (its ack comes a second later).
    const sent = await fleet.mosaic(['agent', 'send', 'busy', '--verify', '--no-preamble', '--json', '-m', 'second']);
    const verdict = JSON.parse(sent.stdout) as SendJson;
    expect(verdict.status, verdict.detail).toBe('accepted');
    expect(verdict.detail).toMatch(/stub is working on it \(seq=2\)/);
    expect(sent.status).toBe(0);
  }, 60_000);

  it('a message seen queued stays queued while the agent works through the messages before it', async () => {
    const { fleet, rec } = await startBusyStub(1500);
    expect((await fleet.mosaic(['agent', 'send', 'busy', '--no-preamble', '-m', 'first'])).status).toBe(0);
    // Two more wait in the stub's input behind the first: ours is read fourth, 4.5 s after the first, after
    // this deadline. The first ends while ours is seen queued and the stub goes on to the next one.
    for (const text of ['second', 'third']) {
      fleet.tmux(['send-keys', '-t', '=busy:0.0', '-l', text]);
      fleet.tmux(['send-keys', '-t', '=busy:0.0', 'Enter']);
    }
    const sent = await fleet.mosaic([
      'agent',
      'send',
      'busy',
      '--verify',
      '--verify-timeout',
      '3000',
      '--no-preamble',
      '--json',
      '-m',
      'fourth',
    ]);
    const verdict = JSON.parse(sent.stdout) as SendJson;
    expect(verdict.status, verdict.detail).toBe('queued');
    expect(sent.status).toBe(0);
    const bodies = await eventually(() => {
      const files = existsSync(rec) ? readdirSync(rec).sort() : [];
      return files.length === 4 ? files.map((f) => readFileSync(path.join(rec, f), 'utf8')) : undefined;
    }, 20_000);
    expect(bodies).toEqual(['first', 'second', 'third', 'fourth']);
  }, 60_000);

  it('a program that shows a prompt but never reads its input is unverifiable, not accepted', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        `defaults:\n  working_directory: work\nruntimes:\n  deaf:\n    command: [sh, -c, 'printf "> "; exec sleep 600']\nagents:\n  - {name: deaf, runtime: deaf}\n`,
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    await eventually(() => (fleet.tmux(['capture-pane', '-p', '-t', '=deaf:0.0']).stdout.includes('>') ? true : undefined));
    const sent = await fleet.mosaic(['agent', 'send', 'deaf', '--verify', '--verify-timeout', '3000', '--json', '-m', 'hello there']);
    const verdict = JSON.parse(sent.stdout) as SendJson;
    expect(verdict.status, verdict.detail).toBe('unverifiable');
    expect(verdict.detail).toMatch(/only the terminal echoed the Enter/);
    expect(sent.status).toBe(1);
  }, 30_000);

  it('a failed agent is refused at once, with the reason, and nothing is typed; every view calls its beat stale', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        `defaults:\n  working_directory: work\nrestart:\n  max_crashes: 0\nagents:\n  - {name: doomed, runtime: stub, args: [--crash-after, '0']}\n`,
      ),
    );
    await fleet.mosaic(['fleet', 'start']);
    await eventually(async () => ((await fleet.json<{ state: string }[]>(['fleet', 'status']))[0]!.state === 'failed' ? true : undefined));
    // A long verify timeout: the refusal must not wait for it (the test would time out).
    const sent = await fleet.mosaic(['agent', 'send', 'doomed', '--verify', '--verify-timeout', '120000', '-m', 'hello']);
    expect(sent.status).toBe(1);
    expect(sent.stderr).toMatch(/agent "doomed" is not running \(the supervisor gave up on it: .*\); nothing was sent/);
    expect(fleet.tmux(['capture-pane', '-p', '-t', '=doomed:0.0']).stdout).not.toContain('hello');
    // One health rule everywhere: a dead pane is never healthy, whatever its last beat's age.
    const status = (await fleet.json<{ heartbeat: { health: string } }[]>(['fleet', 'status']))[0]!;
    const agentStatus = await fleet.json<{ heartbeat: { health: string } }>(['agent', 'status', 'doomed']);
    const ps = (await fleet.json<{ heartbeat: { health: string } }[]>(['fleet', 'ps']))[0]!;
    expect([status.heartbeat.health, agentStatus.heartbeat.health, ps.heartbeat.health]).toEqual(['stale', 'stale', 'stale']);
  }, 30_000);
});
