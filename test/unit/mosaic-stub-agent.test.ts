import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../e2e/harness.js';

const SCRIPT = path.resolve(import.meta.dirname, '..', '..', 'framework', 'bin', 'mosaic-stub-agent');
const SHELLS = ['sh', 'bash'].filter((shell) => spawnSync(shell, ['-c', 'exit 0']).status === 0);

/** The stub with no heartbeat file (so no heartbeat loop) and stdin at EOF: it prints its prompt and exits 0. */
const stub = (command: string[], input = '') => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.MOSAIC_HEARTBEAT_FILE;
  delete env.MOSAIC_HEARTBEAT_INTERVAL;
  return spawnSync(command[0]!, command.slice(1), { env, input, encoding: 'utf8', timeout: 10_000 });
};

describe('mosaic-stub-agent options', () => {
  it.each(SHELLS)('%s: --interval takes a positive decimal, and refuses (exit 2) what would make the heartbeat loop spin', (shell) => {
    for (const value of ['abc', '', '0', '00', '0.0', '1e2', '-1', ' 3', '.5', '1.', '1.2.3', '0x10']) {
      const result = stub([shell, SCRIPT, '--interval', value]);
      expect([value, result.status, result.stdout]).toEqual([value, 2, '']);
      expect(result.stderr).toBe(`mosaic-stub-agent: --interval must be a positive number of seconds (15, 0.5), got "${value}"\n`);
    }
    for (const value of ['15', '0.5', '3600', '0.01']) {
      const result = stub([shell, SCRIPT, '--interval', value]);
      expect([value, result.status, result.stderr]).toEqual([value, 0, '']);
    }
  });

  it.each(SHELLS)('%s: --crash-after and --slow-ms take a whole number and refuse (exit 2) anything else', (shell) => {
    for (const flag of ['--crash-after', '--slow-ms']) {
      for (const value of ['1-2', '-5', '', 'abc', '1.5', ' 3', '0x10', '1e2', '9999999999']) {
        const result = stub([shell, SCRIPT, flag, value]);
        expect([flag, value, result.status, result.stdout]).toEqual([flag, value, 2, '']);
        expect(result.stderr).toBe(`mosaic-stub-agent: ${flag} must be a whole number from 0 to 999999999, got "${value}"\n`);
      }
      const missing = stub([shell, SCRIPT, flag]);
      expect([missing.status, missing.stderr]).toEqual([2, `mosaic-stub-agent: ${flag} needs a value\n`]);
    }
    // Leading zeros are decimal, not octal: 00 crashes at once, 010 waits for ten messages, 08 is no arithmetic error.
    expect(stub([shell, SCRIPT, '--crash-after', '00']).status).toBe(3);
    const ten = stub([shell, SCRIPT, '--crash-after', '010', '--slow-ms', '08'], 'a\nb\n');
    expect([ten.status, ten.stderr]).toEqual([0, '']);
    expect(ten.stdout).toContain('[stub] ack seq=2');
  });

  it('mosaic stub-agent refuses a bad --interval too, and lists and passes on --ignore-enter', () => {
    const bad = stub(['node', CLI, 'stub-agent', '--interval', 'abc']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--interval must be a positive number of seconds');
    const badCount = stub(['node', CLI, 'stub-agent', '--crash-after', '1-2']);
    expect([badCount.status, badCount.stderr]).toEqual([
      2,
      'mosaic-stub-agent: --crash-after must be a whole number from 0 to 999999999, got "1-2"\n',
    ]);
    expect(stub(['node', CLI, 'stub-agent', '--help']).stdout).toMatch(/--ignore-enter\s+ignore every Enter/);
    expect(stub(['node', CLI, 'stub-agent'], 'hi\n').stdout).toContain('[stub] ack seq=1 bytes=2');
    const ignoring = stub(['node', CLI, 'stub-agent', '--ignore-enter'], 'hi\n');
    expect(ignoring.status).toBe(0);
    expect(ignoring.stdout).toContain('ready');
    expect(ignoring.stdout).not.toContain('[stub] ack');
  });
});
