import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import {
  appendEvent,
  appendEvents,
  eventLogFile,
  followEvents,
  parseEventLine,
  readEvents,
  type FleetEvent,
  type FollowOptions,
} from './log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-events-'));
  dirs.push(dir);
  return dir;
}

const at = (second: number): string => new Date(Date.UTC(2025, 4, 1, 10, 0, second)).toISOString();
const line = (event: object): string => `${JSON.stringify(event)}\n`;

/** Collect from a follower until `until` holds for what was seen; the follower is stopped either way. */
async function follow(
  logsDir: string,
  options: Omit<FollowOptions, 'signal'>,
  until: (seen: FleetEvent[]) => boolean,
  meanwhile: (seen: FleetEvent[]) => Promise<void>,
  timeoutMs = 10_000,
): Promise<FleetEvent[]> {
  const controller = new AbortController();
  const seen: FleetEvent[] = [];
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const reading = (async () => {
    for await (const event of followEvents(logsDir, { ...options, signal: controller.signal })) {
      seen.push(event);
      if (until(seen)) controller.abort();
    }
  })();
  await meanwhile(seen);
  await reading;
  clearTimeout(timer);
  return seen;
}

/** Wait (with a deadline) until `probe` holds. */
async function until(probe: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('appendEvent', () => {
  it('writes one private JSON line, ts/type/agent first, creating a private logs dir', async () => {
    const logs = path.join(scratch(), 'state', 'logs');
    await appendEvent(logs, { type: 'send', agent: 'coder0', send_id: 'ab12', verdict: 'accepted', bytes: 12 });
    await appendEvent(logs, { type: 'stop', ts: at(5) });
    const text = readFileSync(eventLogFile(logs), 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\{"ts":"[^"]+","type":"send","agent":"coder0","send_id":"ab12"/);
    expect(JSON.parse(lines[1]!)).toEqual({ ts: at(5), type: 'stop' });
    expect(statSync(eventLogFile(logs)).mode & 0o777).toBe(0o600);
    expect(statSync(logs).mode & 0o777).toBe(0o700);
    expect(eventLogFile(logs)).toBe(`${logs}/events.jsonl`);
  });

  it('never throws: an unwritable log, or an event that is not JSON', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'file'), '');
    await expect(appendEvent(path.join(dir, 'file', 'logs'), { type: 'start', agent: 'a' })).resolves.toBeUndefined();
    await expect(appendEvent(dir, { type: 'start', agent: 'a', big: 1n })).resolves.toBeUndefined();
    expect(existsSync(eventLogFile(dir))).toBe(false);
  });

  it('rotates over the cap, keeping N generations, and reads them back in time order', async () => {
    const logs = scratch();
    const options = { maxBytes: 600, keep: 2 };
    for (let i = 0; i < 40; i += 1) await appendEvent(logs, { type: 'send', agent: 'a', seq: i, ts: at(i) }, options);
    const files = readdirSync(logs).sort();
    expect(files).toEqual(['events.jsonl', 'events.jsonl.1', 'events.jsonl.2']);
    for (const file of files) expect(statSync(path.join(logs, file)).size).toBeLessThan(600 + 100);
    const seqs = (await readEvents(logs)).map((e) => e.seq as number);
    // The oldest generations were dropped; what is left is the newest, contiguous and in order.
    expect(seqs.at(-1)).toBe(39);
    expect(seqs.length).toBeLessThan(40);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 40 - seqs.length + i));
  });

  it('the cap defaults to MOSAIC_TRANSCRIPT_MAX_BYTES', async () => {
    const logs = scratch();
    const env = { MOSAIC_TRANSCRIPT_MAX_BYTES: '300' };
    for (let i = 0; i < 10; i += 1) await appendEvent(logs, { type: 'start', agent: 'a', seq: i }, { env });
    expect(existsSync(`${eventLogFile(logs)}.1`)).toBe(true);
  });

  it('writes a batch with one append', async () => {
    const logs = scratch();
    await appendEvents(logs, [
      { type: 'start', agent: 'a' },
      { type: 'start', agent: 'b' },
    ]);
    await appendEvents(logs, []);
    expect((await readEvents(logs)).map((e) => e.agent)).toEqual(['a', 'b']);
  });

  it('lines from concurrent writer processes never interleave, also while rotating', async () => {
    const dir = scratch();
    const modules = path.join(dir, 'modules');
    buildForNode(path.resolve(import.meta.dirname, 'log.ts'), modules);
    const logs = path.join(dir, 'logs');
    const child = path.join(modules, 'writer.mjs');
    // Each writer appends events big enough (4 KiB) that a split write would show; a small cap
    // makes rotations happen in the middle of it all, and a large keep loses nothing.
    writeFileSync(
      child,
      `import { appendEvent } from './events/log.js';
const [logs, writer, count] = process.argv.slice(2);
const pad = String(writer).repeat(4096);
for (let seq = 0; seq < Number(count); seq += 1) {
  await appendEvent(logs, { type: 'send', agent: 'w' + writer, seq, pad }, { maxBytes: 256 * 1024, keep: 1000 });
}
`,
    );
    const writers = 4;
    const count = 150;
    await Promise.all(
      Array.from(
        { length: writers },
        (_, writer) =>
          new Promise<void>((resolve, reject) => {
            const proc = spawn(process.execPath, [child, logs, String(writer), String(count)], { stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            proc.on('error', reject);
            proc.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${writer} exited ${code}: ${stderr}`))));
          }),
      ),
    );
    const files = readdirSync(logs).filter((name) => name.startsWith('events.jsonl'));
    expect(files.length).toBeGreaterThan(2); // it did rotate
    const perWriter = new Map<string, number[]>();
    for (const file of files) {
      const text = readFileSync(path.join(logs, file), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      for (const raw of text.trimEnd().split('\n')) {
        const event = JSON.parse(raw) as FleetEvent; // a torn or interleaved line would not parse
        expect(event.pad).toBe(event.agent!.slice(1).repeat(4096));
        perWriter.set(event.agent!, [...(perWriter.get(event.agent!) ?? []), event.seq as number]);
      }
    }
    expect([...perWriter.keys()].sort()).toEqual(['w0', 'w1', 'w2', 'w3']);
    for (const seqs of perWriter.values()) expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
  }, 60_000);
});

describe('readEvents', () => {
  it('filters by since, agent and type, in time order across rotated files', async () => {
    const logs = scratch();
    const file = eventLogFile(logs);
    writeFileSync(`${file}.2`, line({ ts: at(1), type: 'start', agent: 'a' }));
    writeFileSync(`${file}.1`, line({ ts: at(2), type: 'start', agent: 'b' }) + line({ ts: at(4), type: 'crash', agent: 'a' }));
    // Out of order within a file (two writers stamp, then write), and an event of the fleet.
    writeFileSync(
      file,
      line({ ts: at(6), type: 'restart', agent: 'a' }) + line({ ts: at(5), type: 'send', agent: 'b' }) + line({ ts: at(7), type: 'stop' }),
    );
    const all = await readEvents(logs);
    expect(all.map((e) => e.ts)).toEqual([1, 2, 4, 5, 6, 7].map(at));
    expect((await readEvents(logs, { agent: 'a' })).map((e) => e.type)).toEqual(['start', 'crash', 'restart']);
    expect((await readEvents(logs, { types: ['crash', 'restart'] })).map((e) => e.ts)).toEqual([at(4), at(6)]);
    expect((await readEvents(logs, { since: new Date(at(5)) })).map((e) => e.type)).toEqual(['send', 'restart', 'stop']);
    expect(await readEvents(logs, { agent: 'a', since: new Date(at(5)), types: ['start'] })).toEqual([]);
    expect(await readEvents(path.join(logs, 'none'))).toEqual([]);
  });

  it('is tolerant of torn lines: a last line in progress, and a fragment a crashed writer left', async () => {
    const logs = scratch();
    const good = line({ ts: at(1), type: 'start', agent: 'a' });
    const afterFragment = line({ ts: at(2), type: 'send', agent: 'a', verdict: 'accepted' });
    writeFileSync(eventLogFile(logs), `${good}{"ts":"${at(1)}","type":"cra${afterFragment}not json\n{"ts":"${at(3)}","type":"stop","ag`);
    expect((await readEvents(logs)).map((e) => e.type)).toEqual(['start', 'send']);
    expect(parseEventLine('[1,2]')).toBeUndefined();
    expect(parseEventLine('{"ts":"yesterday","type":"start"}')).toBeUndefined();
    expect(parseEventLine('{"ts":"2025-05-01T10:00:00Z","type":"start","agent":3}')).toBeUndefined();
  });
});

describe('followEvents', () => {
  it('prints the backlog, then new events, across a rotation, until aborted', async () => {
    const logs = scratch();
    await appendEvent(logs, { type: 'start', agent: 'a', seq: 0 });
    await appendEvent(logs, { type: 'start', agent: 'b', seq: 1 });
    const options = { maxBytes: 400 };
    const seen = await follow(
      logs,
      { backlog: true, agent: 'a', pollMs: 5000 },
      (events) => events.some((e) => e.seq === 30),
      async (events) => {
        await until(() => events.length === 1, 'the backlog');
        // fs.watch wakes the follower (the poll backstop is 5 s); the cap forces rotations meanwhile.
        for (let seq = 2; seq <= 30; seq += 1) {
          await appendEvent(logs, { type: 'send', agent: seq % 2 ? 'b' : 'a', seq }, options);
          if (seq % 2 === 0) await until(() => events.some((e) => e.seq === seq), `event ${seq}`);
        }
      },
    );
    expect(existsSync(`${eventLogFile(logs)}.2`)).toBe(true);
    expect(seen.map((e) => e.seq)).toEqual([0, ...Array.from({ length: 15 }, (_, i) => 2 + 2 * i)]);
  });

  it('catches up on several rotations that happened while it was not reading', async () => {
    const logs = scratch();
    await appendEvent(logs, { type: 'start', agent: 'a', seq: 0 });
    const controller = new AbortController();
    const events = followEvents(logs, { signal: controller.signal, backlog: true, pollMs: 20 });
    // A generator runs only when pulled: while it waits here, the log rotates twice.
    expect((await events.next()).value).toMatchObject({ seq: 0 });
    const options = { maxBytes: 400 };
    for (let seq = 1; seq <= 12; seq += 1) await appendEvent(logs, { type: 'send', agent: 'a', seq }, options);
    expect(readdirSync(logs).sort()).toEqual(['events.jsonl', 'events.jsonl.1', 'events.jsonl.2']);
    const seqs: number[] = [];
    const timer = setTimeout(() => controller.abort(), 10_000);
    for await (const event of events) {
      seqs.push(event.seq as number);
      if (seqs.length === 12) controller.abort();
    }
    clearTimeout(timer);
    expect(seqs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('without backlog starts at the end; waits for a logs dir that does not exist yet; stops on abort', async () => {
    const logs = path.join(scratch(), 'logs');
    const seen = await follow(
      logs,
      { pollMs: 20, types: ['crash'] },
      (events) => events.length === 1,
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        mkdirSync(logs);
        await appendEvent(logs, { type: 'start', agent: 'a' });
        await appendEvent(logs, { type: 'crash', agent: 'a', exit_status: 3 });
      },
    );
    expect(seen).toMatchObject([{ type: 'crash', agent: 'a', exit_status: 3 }]);

    // An existing log: only what comes after the start is followed; a partial line waits for its end.
    const controller = new AbortController();
    const later: FleetEvent[] = [];
    const reading = (async () => {
      for await (const event of followEvents(logs, { signal: controller.signal, pollMs: 20 })) later.push(event);
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = line({ ts: at(9), type: 'stop', agent: 'a' });
    appendFileSync(eventLogFile(logs), next.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(later).toEqual([]);
    appendFileSync(eventLogFile(logs), next.slice(20));
    await until(() => later.length === 1, 'the completed line');
    controller.abort();
    await reading; // returns: the follower honours the abort
    expect(later).toEqual([{ ts: at(9), type: 'stop', agent: 'a' }]);
  });
});

/**
 * Compile a module and the relative modules it imports to plain ESM under `out`, keeping the
 * layout of src/, so that other Node processes can load it (the writers of the concurrency test).
 */
function buildForNode(entry: string, out: string): void {
  const src = path.resolve(import.meta.dirname, '..');
  const todo = [entry];
  const done = new Set<string>();
  writeFileSync(path.join(mkdirp(out), 'package.json'), '{"type":"module"}');
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    });
    const target = path.join(out, path.relative(src, file)).replace(/\.ts$/, '.js');
    writeFileSync(path.join(mkdirp(path.dirname(target)), path.basename(target)), outputText);
    for (const match of source.matchAll(/^import [^;]*? from '(\.[^']+)\.js';/gm)) {
      if (!/^import type /.test(match[0])) todo.push(path.resolve(path.dirname(file), `${match[1]}.ts`));
    }
  }
}

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
