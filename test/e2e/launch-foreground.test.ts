import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeRequestEntry } from '../fake-model/server.mjs';
import { CLI, createFleet, eventually } from './harness.js';
import { fakeModel, runtimeSection } from './runtime-fixtures.js';

const prompt = (text: string) => (entry: FakeRequestEntry) => !entry.isTitle && entry.status === 200 && entry.lastUserText.includes(text);

const argvOf = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

/** The runtime under a pane: mosaic (the pane's process) runs the launcher, which execs claude. */
function runtimeUnder(panePid: number): number | undefined {
  const children = (pid: number): number[] =>
    readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  const queue = [panePid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    try {
      if (argvOf(pid).includes('--session-id')) return pid; // claude itself: the launcher gave it its session
      queue.push(...children(pid));
    } catch {
      // gone
    }
  }
  return undefined;
}
function paneEnv(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

describe('mosaic yolo|run <runtime>: one runtime in the foreground, launched like a fleet agent', () => {
  it('an unknown runtime or a name no agent could take is a usage error (exit 2, as agent new), and nothing is written', async () => {
    const fleet = createFleet();
    for (const [args, message] of [
      [['yolo', 'gpt-shell'], 'unknown runtime "gpt-shell"'],
      [['run', 'stub'], 'unknown runtime "stub"'],
      [['yolo', 'claude', '--name', 'bad name'], 'invalid name "bad name"'],
      [['run', 'pi', '--name', '../x'], 'invalid name "../x"'],
      [['yolo', 'codex', '--name', '..'], 'agent name ".." cannot be used: it names a directory'],
    ] as const) {
      const result = await fleet.mosaic([...args]);
      expect([args.join(' '), result.status]).toEqual([args.join(' '), 2]);
      expect(result.stderr).toContain(`mosaic: ${message}`);
    }
    expect(existsSync(path.join(fleet.home, 'agents'))).toBe(false);
  });

  it('yolo claude takes the yolo flags, the model and the prompt; run claude does not bypass anything', async () => {
    const model = await fakeModel();
    const fleet = createFleet();
    fleet.writeRoster(
      `version: 1\ntransport: tmux\ntmux:\n  socket_name: ${fleet.socket}\nruntimes:\n${runtimeSection('claude', model, fleet.dir)}agents:\n  - {name: unused, runtime: stub}\n`,
    );
    const work = path.join(fleet.dir, 'work');
    fleet.tmux([
      'new-session',
      '-d',
      '-s',
      'fg',
      '-x',
      '200',
      '-y',
      '50',
      '-e',
      `PWD=${work}`,
      '--',
      'sh',
      '-c',
      `mkdir -p ${work} && cd ${work} && exec ${process.execPath} ${CLI} yolo claude --name fg1 --model fake-model-b FOREGROUND-HELLO`,
    ]);
    const first = await model.waitForRequest(prompt('FOREGROUND-HELLO'), 60_000);
    expect(first.model).toBe('fake-model-b');
    const panePid = Number(fleet.tmux(['display-message', '-p', '-t', '=fg:0.0', '#{pane_pid}']).stdout.trim());
    const pid = await eventually(() => runtimeUnder(panePid), 10_000, 'claude under the pane');
    const argv = argvOf(pid);
    expect(argv).toContain('--dangerously-skip-permissions');
    expect(argv).toContain('--session-id');
    if (process.getuid?.() === 0) expect(paneEnv(pid)).toContain('IS_SANDBOX=1');
    // Its private config and session live under the fleet home, named by --name.
    expect(readFileSync(path.join(fleet.home, 'run', 'fg1.session'), 'utf8').trim()).toBe(argv[argv.indexOf('--session-id') + 1]);

    fleet.tmux([
      'new-session',
      '-d',
      '-s',
      'fg2',
      '-x',
      '200',
      '-y',
      '50',
      '--',
      'sh',
      '-c',
      `cd ${work} && exec ${process.execPath} ${CLI} run claude SAFE-HELLO -- --verbose`,
    ]);
    await model.waitForRequest(prompt('SAFE-HELLO'), 60_000);
    const pane2 = Number(fleet.tmux(['display-message', '-p', '-t', '=fg2:0.0', '#{pane_pid}']).stdout.trim());
    const pid2 = await eventually(() => runtimeUnder(pane2), 10_000, 'claude under the second pane');
    const argv2 = argvOf(pid2);
    expect(argv2).not.toContain('--dangerously-skip-permissions');
    expect(argv2).toContain('--verbose');
    expect(paneEnv(pid2)).not.toContain('IS_SANDBOX=1');
  }, 120_000);
});
