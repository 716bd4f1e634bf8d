import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import RuntimeLoadSequencer from './test/sequencer.js';

// This workplace sets NODE_EXTRA_CA_CERTS for every process, and node parses that bundle at every start:
// +40 ms of CPU per node process here (`node -e ''`), and a run starts well over a thousand (mosaic, its
// hooks, claude, pi). Nothing in the suite opens a TLS connection except npm in the package test, which
// gets it back from MOSAIC_TEST_CA_CERTS. Workers, tmux servers and agents inherit the deletion.
if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
  process.env.MOSAIC_TEST_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  delete process.env.NODE_EXTRA_CA_CERTS;
}

export default defineConfig({
  test: {
    // Two projects. The unit tests (src/) share their workers' module cache (isolate: false): started in a fresh
    // process each, 93 files spent as much CPU starting as testing (src/ alone: 73 s of CPU against 37 s
    // shared, 2026-12-06). They restore what they change (env, spies). The end-to-end tests (test/) keep a
    // process per file: they hold servers, fleets and finalisers of their own.
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'] } },
    ],
    // e2e files use their own tmux sockets and config roots, so files run in parallel.
    pool: 'forks',
    // One file per core (vitest's default is cores - 1: one at a time on 2 cores, 644–781 s; two: 341–388 s).
    // Capped at 6: each e2e file runs real TUIs and tmux servers, and past that they outnumber the cores.
    // Two at once on 2 cores once made an opencode send-while-busy verdict wrong: its TUI drew the queued
    // message over 0.7 s late, and the send took the input's clearing as acceptance. Fixed in the product
    // (screen-spec.ts waits for the queue marker or the message), not by running fewer files.
    maxWorkers: Math.min(availableParallelism(), 6),
    // The heaviest file first and the real-runtime files apart from it (test/sequencer.ts).
    sequence: { sequencer: RuntimeLoadSequencer },
    // Fails the run if it leaves anything new in the temp dir or $HOME.
    globalSetup: ['test/global-leftovers.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
