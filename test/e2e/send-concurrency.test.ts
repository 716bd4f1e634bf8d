import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, roster } from './harness.js';

describe('agent send: concurrent senders', () => {
  it('50 concurrent `mosaic agent send` processes to one agent: 50 distinct acks, none interleaved or lost', async () => {
    const fleet = createFleet();
    const rec = path.join(fleet.dir, 'rec');
    mkdirSync(rec);
    fleet.writeRoster(
      roster(fleet.socket, `agents:\n  - name: a\n    runtime: stub\n    working_directory: work\n    args: ["--record-dir", "${rec}"]\n`),
    );
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);

    const messages = Array.from({ length: 50 }, (_, i) => `message ${i} ${'.'.repeat(i)}\nsecond line of ${i}`);
    const runs = await Promise.all(messages.map((m) => fleet.mosaic(['agent', 'send', 'a', '--verify', '--json', '--message', m])));
    const results = runs.map((run) => {
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { status: string; detail: string };
    });
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    const seqs = results.map((r) => Number(/seq=(\d+)/.exec(r.detail)?.[1]));
    expect(new Set(seqs).size).toBe(50);
    expect(Math.max(...seqs)).toBe(50);

    const files = readdirSync(rec);
    expect(files).toHaveLength(50);
    const received = files.map((file) => readFileSync(path.join(rec, file), 'utf8').replace(/^\[[^\]]+ -> a #[0-9a-f]{8}\] /, '')).sort();
    expect(received).toEqual([...messages].sort());
  }, 180_000);
});
