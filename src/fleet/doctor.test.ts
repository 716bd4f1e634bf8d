import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localHost } from '../host/local.js';
import type { CommandRunner } from '../system/runner.js';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { runDoctor } from './doctor.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('doctor', () => {
  it('lists missing runtimes in roster order, however long each lookup takes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-doctor-'));
    dirs.push(dir);
    // "slow" is looked up along 300 directories, "fast" is one absolute path: fast's lookup ends first.
    const PATH = Array.from({ length: 300 }, (_, i) => path.join(dir, `bin${i}`)).join(':');
    mkdirSync(path.join(dir, 'bin0'));
    const env = { HOME: dir, PATH, USER: 'tester' };
    const roster = parseRoster(
      `version: 1
transport: tmux
runtimes:
  slow: {command: [no-such-slow-agent]}
  fast: {command: [${path.join(dir, 'no-such-fast-agent')}]}
agents:
  - {name: a, runtime: slow}
  - {name: b, runtime: fast}
`,
      'roster.yaml',
      { env, knownRuntimes: [], defaultTenant: 'tester' },
    );
    const runner = (async () => ({ status: 1, stdout: '', stderr: '' })) as unknown as CommandRunner;
    const report = await runDoctor({ roster, agentsDir: path.join(dir, 'agents'), host: localHost({ env, runner }) });
    expect(report.problems.filter((p) => p.startsWith('runtime '))).toEqual([
      expect.stringMatching(/^runtime slow is not installed/),
      expect.stringMatching(/^runtime fast is not installed/),
    ]);
  });

  it("names the agent in the hook's remedy (not a <agent> placeholder)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-doctor-'));
    dirs.push(dir);
    const env = { HOME: dir, PATH: dir, USER: 'tester' };
    const roster = parseRoster('version: 1\ntransport: tmux\nagents:\n  - {name: coder-1, runtime: pi}\n', 'roster.yaml', {
      env,
      knownRuntimes: BUILTIN_RUNTIMES,
      defaultTenant: 'tester',
    });
    const runner = (async () => ({ status: 1, stdout: '', stderr: '' })) as unknown as CommandRunner;
    const report = await runDoctor({ roster, agentsDir: path.join(dir, 'agents'), host: localHost({ env, runner }) });
    const hook = report.problems.find((p) => p.startsWith('agent coder-1: no mosaic extension'));
    expect(hook).toMatch(/: run `mosaic fleet restart coder-1`$/);
    expect(report.agents[0]?.hook?.detail).toBe(hook?.replace('agent coder-1: ', ''));
  });
});
