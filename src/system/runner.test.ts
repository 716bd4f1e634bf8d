import { describe, expect, it } from 'vitest';
import { runCommand } from './runner.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('runCommand', () => {
  it('returns once the child exits, even when a background process it left holds its output pipes', async () => {
    const result = await runCommand(['sh', '-c', 'sleep 30 & echo "$!"; echo started >&2']);
    const background = Number(result.stdout.trim());
    try {
      expect(result.status).toBe(0);
      expect(result.stderr).toBe('started\n');
      // Returned while the background sleep still runs: the runner did not wait for it.
      expect(alive(background)).toBe(true);
    } finally {
      process.kill(background, 'SIGKILL');
    }
  });
});
