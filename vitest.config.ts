import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // e2e files use their own tmux sockets and config roots, so files run in parallel. vitest's
    // default is one worker per core minus one: a single file at a time on a 2-core machine, where
    // most e2e time is waiting on tmux, runtimes and the fake model.
    pool: 'forks',
    maxWorkers: 2,
    // Fails the run if it leaves anything new in the temp dir or $HOME.
    globalSetup: ['test/global-leftovers.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
