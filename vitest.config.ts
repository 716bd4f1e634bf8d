import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // e2e files use their own tmux sockets and config roots, so files run in parallel.
    pool: 'forks',
    // Files run one at a time on 2 cores (vitest's default, cores - 1). Two at once took the suite from
    // 644–781 s to 341–388 s, but on 2 cores the load made a real opencode TUI draw its queue too late:
    // a send to it while busy was judged accepted, not queued (1 of 4 clean-clone runs; 3 at once: 1 of 3).
    // Run more only where there are cores to spare: --maxWorkers=N.
    maxWorkers: Math.max(availableParallelism() - 1, 1),
    // Fails the run if it leaves anything new in the temp dir or $HOME.
    globalSetup: ['test/global-leftovers.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
