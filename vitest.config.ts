import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // e2e files use their own tmux sockets and config roots, so files run in parallel.
    pool: 'forks',
    // Fails the run if it leaves anything new in the temp dir or $HOME.
    globalSetup: ['test/global-leftovers.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
