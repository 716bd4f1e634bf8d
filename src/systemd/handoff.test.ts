import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clearHandoffs, handoffFile, withHandoff } from './handoff.js';

const AGENT_SCRIPT = path.resolve('framework/bin/mosaic-systemd-agent');

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function runDir(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mosaic-handoff-'));
  roots.push(root);
  const run = path.join(root, 'run');
  mkdirSync(run);
  return run;
}

describe('withHandoff', () => {
  it('leaves a handoff file per agent for exactly the job, and removes stale ones before and after', async () => {
    const run = runDir();
    writeFileSync(handoffFile(run, 'stale'), ''); // left by a CLI killed during its job
    writeFileSync(path.join(run, 'a.state.json'), '{}');
    const during = await withHandoff(run, async (handOff) => {
      expect(readdirSync(run)).toEqual(['a.state.json']);
      await handOff(['a']);
      await handOff(['b.c']);
      return readdirSync(run).sort();
    });
    expect(during).toEqual(['a.handoff', 'a.state.json', 'b.c.handoff']);
    expect(readdirSync(run)).toEqual(['a.state.json']);
  });

  it('removes them when the job fails', async () => {
    const run = runDir();
    await expect(
      withHandoff(run, async (handOff) => {
        await handOff(['a']);
        throw new Error('systemctl failed');
      }),
    ).rejects.toThrow('systemctl failed');
    expect(readdirSync(run)).toEqual([]);
  });

  it('clearHandoffs: a missing run directory is nothing to clear', async () => {
    await expect(clearHandoffs(path.join(runDir(), 'missing'))).resolves.toBeUndefined();
  });
});

describe('framework/bin/mosaic-systemd-agent', () => {
  // The tmux binary does not exist: a step that reaches tmux fails with 127, one that skips it exits 0.
  const step = (run: string, which: string) =>
    spawnSync('/bin/sh', [AGENT_SCRIPT, path.join(run, 'no-such-tmux'), which], {
      encoding: 'utf8',
      env: {
        PATH: '/usr/bin:/bin',
        MOSAIC_AGENT_NAME: 'a',
        MOSAIC_AGENT_SESSION: 'a',
        MOSAIC_TMUX_SOCKET: 'mosaic-handoff-test',
        MOSAIC_AGENT_WORKDIR: run,
        MOSAIC_FLEET_RUN_DIR: run,
        MOSAIC_FLEET_HOME: path.dirname(run),
      },
    });

  it('with a handoff file, start and stop start no tmux client', () => {
    const run = runDir();
    writeFileSync(path.join(run, 'a.unit-start'), 'new-session\n-d\n-s\na\n');
    writeFileSync(path.join(run, 'a.state.fresh.json'), '{"fresh":true}\n');
    writeFileSync(handoffFile(run, 'a'), '');
    // The CLI put the fresh record in place before it made the session; the agent crashed at once since, and
    // the pane-died hook recorded it. The unit, started after, must not put the fresh record back over that.
    const crashed = '{"restarts":1,"nextStartAt":"2026-12-06T11:30:00.000Z"}\n';
    writeFileSync(path.join(run, 'a.state.json'), crashed);
    const start = step(run, 'start');
    expect(start.status, start.stderr).toBe(0);
    expect(start.stdout).toBe('mosaic: agent a: session a made or restarted by the mosaic CLI (handoff)\n');
    expect(readFileSync(path.join(run, 'a.state.json'), 'utf8')).toBe(crashed);
    expect(readdirSync(run).filter((f) => f.includes('.state.json.'))).toEqual([]);
    const stop = step(run, 'stop');
    expect([stop.status, stop.stderr]).toEqual([0, '']);
  });

  it('without one, both run tmux; an unknown step is refused', () => {
    const run = runDir();
    writeFileSync(path.join(run, 'a.unit-start'), 'new-session\n-d\n-s\na\n');
    writeFileSync(path.join(run, 'a.state.fresh.json'), '{"fresh":true}\n');
    writeFileSync(path.join(run, 'a.state.json'), '{"restarts":3,"failed":true}\n');
    const start = step(run, 'start');
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/could not create session "a" on socket "mosaic-handoff-test": .*no-such-tmux/);
    // A start the CLI did not hand off is an explicit start: the fresh record replaces the old counters.
    expect(readFileSync(path.join(run, 'a.state.json'), 'utf8')).toBe('{"fresh":true}\n');
    expect(step(run, 'stop').status).toBe(127);
    const bad = step(run, 'reload');
    expect([bad.status, bad.stderr]).toEqual([2, 'mosaic-systemd-agent: unknown step "reload" (start or stop)\n']);
  });
});
