import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, createFleet, eventually, roster, type TestFleet } from './harness.js';

const STUB = path.join(ROOT, 'framework', 'bin', 'mosaic-stub-agent');

export interface PsRow {
  tenant_id: string;
  host: string;
  agent: string;
  session: string;
  runtime: string | null;
  class: string | null;
  supervisor: string;
  state: string;
  attention: { state: string; since: string | null; detail: string };
  unit: {
    name: string;
    load_state: string | null;
    active_state: string | null;
    sub_state: string | null;
    unit_file_state: string | null;
  } | null;
  pane: string;
  pane_id: string | null;
  pane_pid: number | null;
  exit_status: number | null;
  agent_pid: number | null;
  current_command: string | null;
  pane_command: string | null;
  idle_seconds: number | null;
  heartbeat: { health: string; age_seconds: number | null; status: string | null; pid: number | null };
  restarts: number | null;
  flags: string[];
  reasons: Record<string, string>;
}

export const psRows = async (fleet: TestFleet): Promise<Record<string, PsRow>> =>
  Object.fromEntries((await fleet.json<PsRow[]>(['fleet', 'ps'])).map((row) => [row.agent, row]));

/** A directory of fake runtime executables, put in front of the panes' PATH via MOSAIC_RUNTIME_BIN. */
function runtimeBin(fleet: TestFleet, scripts: Record<string, string>): NodeJS.ProcessEnv {
  const bin = path.join(fleet.dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(path.join(bin, name), body);
    chmodSync(path.join(bin, name), 0o755);
  }
  return { ...fleet.env, MOSAIC_RUNTIME_BIN: bin };
}

const RECORD_KEYS = [
  'activity',
  'activity_detail',
  'agent',
  'agent_pid',
  'attention',
  'class',
  'current_command',
  'exit_status',
  'failed_reason',
  'flags',
  'heartbeat',
  'host',
  'idle_seconds',
  'mode',
  'model',
  'pane',
  'pane_command',
  'pane_id',
  'pane_pid',
  'reachable',
  'reason',
  'reasons',
  'restarts',
  'runtime',
  'session',
  'session_id',
  'stale_seconds',
  'state',
  'status_source',
  'supervisor',
  'tenant_id',
  'unit',
];

describe('fleet ps on real tmux', () => {
  it('turns a killed agent dead and stale at once (crash recovery off), long before its heartbeat ages out', async () => {
    const fleet = createFleet();
    // A long interval: stale by age would take 3 x 20 s; the kill must show long before that.
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: victim, runtime: stub}\n  - {name: bystander, runtime: stub}\n',
        'heartbeat:\n  interval_seconds: 20\nrestart:\n  max_crashes: 0\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const before = await eventually(async () => {
      const rows = await psRows(fleet);
      return rows.victim!.heartbeat.health === 'healthy' && rows.bystander!.heartbeat.health === 'healthy' ? rows : undefined;
    });
    expect(before.victim).toMatchObject({ state: 'running', pane: 'alive', flags: [] });
    expect(before.victim!.agent_pid).toBe(before.victim!.pane_pid);
    process.kill(before.victim!.pane_pid!, 'SIGKILL');

    const after = await eventually(
      async () => {
        const rows = await psRows(fleet);
        return rows.victim!.state === 'failed' && rows.victim!.heartbeat.health === 'stale' ? rows : undefined;
      },
      15_000,
      'the killed agent to show failed and stale',
    );
    const victim = after.victim!;
    expect(victim.pane).toBe('dead');
    expect([137, null]).toContain(victim.exit_status);
    expect(victim.pane_pid).toBeNull();
    expect(victim.agent_pid).toBeNull();
    // The evidence that this is not staleness by age: the beat is younger than one interval.
    expect(victim.heartbeat.age_seconds!).toBeLessThan(20);
    expect(after.bystander).toMatchObject({ state: 'running', pane: 'alive' });
    expect(after.bystander!.heartbeat.health).toBe('healthy');
    expect(after.bystander!.pane_pid).toBe(before.bystander!.pane_pid);

    const text = (await fleet.mosaic(['fleet', 'ps'])).stdout;
    expect(text).toMatch(/victim\s+error\s+\S+\s+\S+\s+stub\s+-\s+safe\s+-\s+failed\s+-\s+-\s+dead(\(137\))?\s+-\s+-\s+-\s+\S+\s+stale/);
  });

  it('flags drift with its reason: roster says pi (or a custom command), the pane runs the stub', async () => {
    const fleet = createFleet();
    const env = runtimeBin(fleet, {
      // mosaic gives pi its own flags (--session-dir …), which the stub does not take.
      pi: `#!/bin/sh\nexec sh ${STUB}\n`,
      wrapper: `#!/bin/sh\nexec sh ${STUB} "$@"\n`,
    });
    fleet.writeRoster(
      roster(
        fleet.socket,
        `defaults:\n  working_directory: work\nruntimes:\n  mine:\n    command: [sh, ${STUB}]\n  wrapped:\n    command: [wrapper]\nagents:\n  - {name: canary-pi, runtime: pi}\n  - {name: honest, runtime: stub}\n  - {name: custom, runtime: mine}\n  - {name: custom-drift, runtime: wrapped}\n`,
      ),
    );
    const started = await fleet.mosaic(['fleet', 'start'], { env });
    expect(started.status, started.stderr).toBe(0);
    const rows = await eventually(async () => {
      const r = await psRows(fleet);
      return Object.values(r).every((row) => row.pane === 'alive' && row.pane_command?.includes('mosaic-stub-agent')) ? r : undefined;
    });
    expect(rows['canary-pi']!.flags).toEqual(['drift']);
    expect(rows['canary-pi']!.reasons.drift).toMatch(
      /roster runtime "pi" expects pi or <interpreter> …\/pi, but the pane runs "sh …\/mosaic-stub-agent"/,
    );
    expect(rows['canary-pi']!.agent_pid).toBeNull();
    expect(rows.honest!.flags).toEqual([]);
    expect(rows.honest!.agent_pid).toBe(rows.honest!.pane_pid);
    // A custom runtime is compared against its own command.
    expect(rows.custom!.flags).toEqual([]);
    expect(rows.custom!.agent_pid).toBe(rows.custom!.pane_pid);
    expect(rows['custom-drift']!.flags).toEqual(['drift']);
    expect(rows['custom-drift']!.reasons.drift).toMatch(/expects "wrapper"/);

    const text = (await fleet.mosaic(['fleet', 'ps'])).stdout;
    expect(text).toMatch(/canary-pi: drift: roster runtime "pi"/);
  });

  it('a program named with control characters (ESC, BEL, tab, newline) is shown as text: no escape sequence, no phantom row', async () => {
    const fleet = createFleet();
    const odd = path.join(fleet.dir, 'odd');
    mkdirSync(odd);
    // The pane's program name (its comm, what tmux lists as pane_current_command) and command line carry them.
    copyFileSync('/bin/sleep', path.join(odd, 'p\x1b[7mX\x07\ny\tz'));
    const env = runtimeBin(fleet, { wrapper: `#!/bin/sh\nexec ${JSON.stringify(odd)}/p* 600\n` });
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nruntimes:\n  odd:\n    command: [wrapper]\nagents:\n  - {name: odd, runtime: odd}\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start'], { env })).status).toBe(0);
    const row = await eventually(async () => {
      const rows = await psRows(fleet);
      return rows.odd?.current_command?.startsWith('p') ? rows : undefined;
    });
    expect(Object.keys(row)).toEqual(['odd']);
    expect(row.odd!.current_command).toBe('p [7mX  y z');
    expect(row.odd!.flags).toEqual(['drift']);
    expect(row.odd!.reasons.drift).toMatch(/but the pane runs "…\/p \[7mX y z 600"/);
    // eslint-disable-next-line no-control-regex
    const control = /[\x00-\x08\x0b-\x1f\x7f]/;
    for (const args of [
      ['fleet', 'ps'],
      ['fleet', 'status'],
      ['agent', 'status', 'odd'],
      ['fleet', 'verify'],
    ]) {
      const out = await fleet.mosaic(args);
      expect(out.stdout + out.stderr, args.join(' ')).not.toMatch(control);
    }
    expect((await fleet.mosaic(['fleet', 'verify'])).status).toBe(0);
  });

  it('does not flag pi run through node (`node …/pi`) as drift', async () => {
    const fleet = createFleet();
    // A stand-in for pi: a node script named pi, so the process is `node …/bin/pi` (comm "node").
    const env = runtimeBin(fleet, {
      pi: `#!/usr/bin/env node
const fs = require('node:fs');
const beat = () => {
  const file = process.env.MOSAIC_HEARTBEAT_FILE;
  fs.writeFileSync(file + '.tmp', 'ts=' + new Date().toISOString() + ' pid=' + process.pid + ' status=ok\\n');
  fs.renameSync(file + '.tmp', file);
};
beat();
setInterval(beat, 1000);
process.stdout.write('fake pi ready\\n');
`,
    });
    fleet.writeRoster(roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: pi0, runtime: pi}\n'));
    const started = await fleet.mosaic(['fleet', 'start'], { env });
    expect(started.status, started.stderr).toBe(0);
    const row = await eventually(async () => {
      const r = (await psRows(fleet)).pi0!;
      return r.heartbeat.health === 'healthy' ? r : undefined;
    });
    expect(row.pane_command).toMatch(/^node …\/pi /);
    expect(row.current_command).toBe('node');
    expect(row.flags).toEqual([]);
    expect(row.agent_pid).toBe(row.pane_pid);
    expect(row.heartbeat.pid).toBe(row.pane_pid);
  });

  it('reads tmux right from a caller without a UTF-8 locale (cron, env -i): no tab or character turned into "_"', async () => {
    const fleet = createFleet();
    fleet.writeRoster(roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: c.locale, runtime: stub}\n'));
    const plain = { ...fleet.env, LC_ALL: 'C', LC_CTYPE: 'C', LANG: 'C' };
    expect((await fleet.mosaic(['fleet', 'start'], { env: plain })).status).toBe(0);
    const row = await eventually(async () => {
      const ps = await fleet.mosaic(['fleet', 'ps', '--json'], { env: plain });
      const rows = JSON.parse(ps.stdout) as PsRow[];
      return rows.length === 1 && rows[0]!.heartbeat.health === 'healthy' ? rows[0] : undefined;
    });
    expect(row).toMatchObject({ agent: 'c.locale', session: 'c_locale', state: 'running', pane: 'alive', flags: [] });
    const verify = await fleet.mosaic(['fleet', 'verify'], { env: plain });
    expect(verify.status, verify.stderr).toBe(0);
  });

  it('shows stray sessions as orphans and unstarted agents as missing; the holder is ours; JSON shape', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nagents:\n  - {name: up, runtime: stub, class: coder}\n  - {name: down, runtime: stub}\n',
      ),
    );
    expect((await fleet.mosaic(['fleet', 'start', 'up'])).status).toBe(0);
    expect(fleet.tmux(['new-session', '-d', '-s', 'stray', '--', 'sh', '-c', 'exec sleep 600']).status).toBe(0);
    const records = await eventually(async () => {
      const r = await fleet.json<PsRow[]>(['fleet', 'ps']);
      return r.find((row) => row.agent === 'up')?.heartbeat.health === 'healthy' ? r : undefined;
    });
    expect(records.map((r) => r.agent)).toEqual(['up', 'down', 'stray']); // roster order, then orphans; no _holder
    for (const record of records) {
      expect(Object.keys(record).sort()).toEqual(RECORD_KEYS);
      expect(record.tenant_id).toEqual(expect.any(String));
      expect(record.tenant_id.length).toBeGreaterThan(0);
      expect(record.host).toEqual(expect.any(String));
      expect(record.host.length).toBeGreaterThan(0);
      expect(record.supervisor).toBe('builtin');
      expect(record.unit).toBeNull();
      expect(Object.keys(record.heartbeat).sort()).toEqual(['age_seconds', 'health', 'pid', 'status']);
      expect(Object.keys(record.attention).sort()).toEqual(expect.arrayContaining(['detail', 'since', 'state']));
      expect(Object.keys(record.reasons).sort()).toEqual([...record.flags].sort());
    }
    const [up, down, stray] = records;
    expect(up).toMatchObject({
      runtime: 'stub',
      class: 'coder',
      state: 'running',
      pane: 'alive',
      current_command: 'sh',
      restarts: 0,
      flags: [],
    });
    expect(up!.pane_id).toMatch(/^%\d+$/);
    expect(up!.idle_seconds).toEqual(expect.any(Number));
    expect(up!.heartbeat).toMatchObject({ health: 'healthy', status: 'ok' });
    expect(down).toMatchObject({
      runtime: 'stub',
      state: 'stopped',
      pane: 'missing',
      pane_id: null,
      pane_pid: null,
      agent_pid: null,
      idle_seconds: null,
      flags: ['missing'],
    });
    expect(stray).toMatchObject({ runtime: null, state: 'orphan', pane: 'alive', current_command: 'sleep', flags: ['orphan'] });
    expect(stray!.reasons.orphan).toMatch(/session "stray" on socket .* is not in roster/);

    // Text: one row each, reasons under the table, and no colour codes when piped.
    const text = await fleet.mosaic(['fleet', 'ps'], { env: { ...fleet.env, NO_COLOR: '' } });
    expect(text.status).toBe(0);
    expect(text.stdout).not.toContain('\u001b[');
    expect(text.stdout).toMatch(
      /^AGENT\s+NEEDS\s+TENANT\s+HOST\s+RUNTIME\s+CLASS\s+MODE\s+MODEL\s+STATE\s+ACTIVITY\s+UNIT\s+PANE\s+PANE PID\s+AGENT PID\s+COMMAND\s+IDLE\s+HEARTBEAT\s+RESTARTS\s+FLAGS$/m,
    );
    expect(text.stdout).toMatch(/^stray\s.*orphan$/m);
    expect(text.stdout).toMatch(/^down\s.*missing$/m);
    expect(text.stdout).toMatch(/holder alive/);
    expect(text.stdout).not.toMatch(/^_holder/m);
  });

  it('--watch redraws until interrupted; --watch --json prints one array per line', async () => {
    const fleet = createFleet();
    fleet.writeRoster(roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: w, runtime: stub}\n'));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    const run = async (args: string[], frames: (out: string) => number): Promise<{ status: number | null; stdout: string }> => {
      const child = spawn(process.execPath, [CLI, 'fleet', 'ps', '--watch', '--interval', '0.2', ...args], { env: fleet.env });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      try {
        // A deadline, not a pace: on a loaded 2-core box one frame has taken seconds.
        await eventually(
          () => frames(stdout) >= 3 || undefined,
          60_000,
          () => `three frames (stdout so far: ${stdout}; stderr: ${stderr})`,
        );
      } finally {
        child.kill('SIGINT'); // also when the wait failed: the watch must not outlive the test
      }
      const status = await closed;
      expect(stderr).toBe('');
      return { status, stdout };
    };
    const text = await run([], (out) => out.split('fleet of ').length - 1);
    expect(text.status).toBe(0);
    const json = await run(['--json'], (out) => out.split('\n').filter((line) => line.startsWith('[')).length);
    expect(json.status).toBe(0);
    for (const line of json.stdout.split('\n').filter(Boolean)) {
      const records = JSON.parse(line) as PsRow[];
      expect(records.map((r) => r.agent)).toEqual(['w']);
    }
    const bad = await fleet.mosaic(['fleet', 'ps', '--watch', '--interval', '0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--interval must be a number of seconds/);
    // Without --watch nothing repeats: an --interval there is refused, not ignored.
    const alone = await fleet.mosaic(['fleet', 'ps', '--interval', '1']);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toMatch(/--interval goes with --watch/);
    expect(alone.stdout).toBe('');
  });
});
