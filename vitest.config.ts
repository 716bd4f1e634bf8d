import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // e2e files use their own tmux sockets and config roots, so files run in parallel.
    pool: 'forks',
    // Most e2e time is spent waiting on tmux, runtimes and polls, not on the CPU. Vitest's default
    // (cores - 1) ran the suite one file at a time on 2 cores, which took over 10 minutes; one file
    // per core more than that loaded 2 cores enough to slow real TUIs past the tests' margins.
    maxWorkers: Math.min(availableParallelism(), 6),
    // Fails the run if it leaves anything new in the temp dir or $HOME.
    globalSetup: ['test/global-leftovers.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
