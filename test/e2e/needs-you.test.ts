import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, paneComesBack, roster, type TestFleet } from './harness.js';
import { webhookServer } from './webhook.js';

interface PsRow {
  agent: string;
  attention: { state: string; since: string | null; detail: string };
}
const attentionOf = async (fleet: TestFleet, agent: string): Promise<PsRow['attention']> =>
  (await fleet.json<PsRow[]>(['fleet', 'ps'])).find((r) => r.agent === agent)!.attention;

// Rings the terminal bell for a line containing "ring"; answers every line.
const BELLBOT = `printf 'bellbot> '; while IFS= read -r line; do case $line in *ring*) printf '\\a' ;; esac; printf 'got %s\\nbellbot> ' "$line"; done`;

describe('needs-you: attention, notifications and the event log on a real fleet', () => {
  it('tells a webhook once per edge (none inside the cooldown), an exec sink gets the JSON, secrets stay out of agents', async () => {
    const fleet = createFleet();
    const hook = await webhookServer();
    const sinkOut = path.join(fleet.dir, 'sink-out');
    const sinkScript = path.join(fleet.dir, 'sink.mjs');
    // Writes its stdin (the event) to a file named after the event's id.
    writeFileSync(
      sinkScript,
      `import { mkdirSync, writeFileSync } from 'node:fs';\nlet t = '';\nprocess.stdin.on('data', (d) => (t += d));\nprocess.stdin.on('end', () => { mkdirSync(process.argv[2], { recursive: true }); writeFileSync(process.argv[2] + '/' + JSON.parse(t).id + '.json', t); });\n`,
    );
    const secretUrl = `${hook.url}/hook/secret-token-5d1e`;
    fleet.writeRoster(
      roster(
        fleet.socket,
        [
          'notify:',
          `  - webhook: ${JSON.stringify(secretUrl)}`,
          '    on: [question]',
          '    dwell_seconds: 0',
          '    cooldown_seconds: 600',
          `  - exec: [${JSON.stringify(process.execPath)}, ${JSON.stringify(sinkScript)}, ${JSON.stringify(sinkOut)}]`,
          '    on: [failed]',
          '    dwell_seconds: 0',
          'runtimes:',
          `  bellbot:\n    command: [sh, -c, ${JSON.stringify(BELLBOT)}]`,
          `  crasher:\n    command: [sh, -c, "exit 3"]`,
          'defaults:\n  working_directory: work',
          'agents:',
          '  - {name: bell1, runtime: bellbot}',
          '  - {name: crash1, runtime: crasher}',
          '',
        ].join('\n'),
        'restart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 100\n  max_crashes: 1\n  window_seconds: 60\n',
      ),
    );
    const started = await fleet.mosaic(['fleet', 'start']);
    expect(started.status, started.stderr).toBe(0);

    // The supervisor gives up on crash1: the exec sink gets the event on stdin, once.
    const file = await eventually(
      () => (existsSync(sinkOut) ? readdirSync(sinkOut)[0] : undefined),
      30_000,
      'the exec sink to receive the failed event',
    );
    const failed = JSON.parse(readFileSync(path.join(sinkOut, file), 'utf8')) as Record<string, unknown>;
    expect(failed).toMatchObject({ version: 1, fleet: fleet.socket, agent: 'crash1', state: 'failed' });
    expect(String(failed.detail)).toMatch(/gave up/);
    expect((await attentionOf(fleet, 'crash1')).state).toBe('error');

    // bell1 rings its bell: attention question, one POST.
    expect((await attentionOf(fleet, 'bell1')).state).toBe('none');
    expect((await fleet.mosaic(['agent', 'send', 'bell1', '-m', 'please ring', '--no-preamble'])).status).toBe(0);
    await eventually(() => hook.posts.length > 0, 20_000, 'the webhook POST for the bell');
    expect(hook.posts[0]).toMatchObject({
      path: '/hook/secret-token-5d1e',
      type: 'application/json',
      body: { version: 1, agent: 'bell1', state: 'question', fleet: fleet.socket },
    });
    expect((await attentionOf(fleet, 'bell1')).state).toBe('question');
    const sorted = await fleet.json<PsRow[]>(['fleet', 'ps', '--attention']);
    expect(sorted.map((r) => r.agent)).toEqual(['bell1', 'crash1']); // question before error

    // A message answers the bell (state none), a second bell inside the cooldown is not told.
    expect((await fleet.mosaic(['agent', 'send', 'bell1', '-m', 'hush', '--no-preamble'])).status).toBe(0);
    const events = async (): Promise<Array<Record<string, unknown>>> =>
      (await fleet.mosaic(['fleet', 'events', '--json', '--agent', 'bell1'])).stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    await eventually(
      async () => (await events()).some((e) => e.type === 'attention' && e.from === 'question' && e.to === 'none'),
      20_000,
      'the event log to show bell1 leaving "question"',
    );
    expect((await fleet.mosaic(['agent', 'send', 'bell1', '-m', 'ring again', '--no-preamble'])).status).toBe(0);
    const log = path.join(fleet.home, 'logs', 'supervisor.log');
    await eventually(
      () => existsSync(log) && /not telling bell1 question \(cooldown\)/.test(readFileSync(log, 'utf8')),
      20_000,
      'the needs-you process to drop the second bell (cooldown)',
    );
    expect(hook.posts).toHaveLength(1);

    // A restart drops the bell with the process that rang it: the new process has asked nothing.
    expect((await attentionOf(fleet, 'bell1')).state).toBe('question');
    const ringer = Number(fleet.tmux(['display-message', '-p', '-t', '=bell1:', '#{pane_pid}']).stdout.trim());
    expect((await fleet.mosaic(['fleet', 'restart', 'bell1'])).status).toBe(0);
    await paneComesBack(fleet, 'bell1', ringer, 'bell1 restarted');
    // The launcher drops it as it starts the new process (a moment after the pane is back).
    await eventually(() => !existsSync(path.join(fleet.home, 'run', 'bell1.hb.bell')), 15_000, 'the launcher to drop the old bell');
    expect((await attentionOf(fleet, 'bell1')).state).toBe('none');

    // The event log has the notification; the webhook's secret path is in no log and in no agent's environment.
    const told = (await events()).filter((e) => e.type === 'notification');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ state: 'question', ok: true });
    const logs = readdirSync(path.join(fleet.home, 'logs')).map((f) => readFileSync(path.join(fleet.home, 'logs', f), 'utf8'));
    expect(logs.join('\n')).not.toContain('secret-token-5d1e');
    const panePid = Number(fleet.tmux(['display-message', '-p', '-t', '=bell1:', '#{pane_pid}']).stdout.trim());
    expect(readFileSync(`/proc/${panePid}/environ`, 'utf8')).not.toContain('secret-token');

    // Stopping the fleet stops its needs-you process (the harness fails the test on any leftover process).
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 90_000);
});
