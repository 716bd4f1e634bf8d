import { appendFileSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { followTranscript, lastLines, readTranscriptTail } from './logs.js';

const dirs: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-logs-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('lastLines', () => {
  const text = (buffer: Buffer): string => buffer.toString();
  it('counts a last line without a newline, and keeps the newlines of the lines it returns', () => {
    expect(text(lastLines(Buffer.from('a\nb\nc\n'), 2).text)).toBe('b\nc\n');
    expect(text(lastLines(Buffer.from('a\nb\nc'), 2).text)).toBe('b\nc');
    expect(lastLines(Buffer.from('a\nb\n'), 5)).toEqual({ text: Buffer.from('a\nb\n'), lines: 2 });
    expect(lastLines(Buffer.from('\nx\n'), 2)).toEqual({ text: Buffer.from('\nx\n'), lines: 2 });
    expect(lastLines(Buffer.from(''), 3).lines).toBe(0);
    expect(lastLines(Buffer.from('a\n'), 0).lines).toBe(0);
  });
});

describe('readTranscriptTail', () => {
  it('reads the last lines of a large log, reaching into the rotated file when needed', () => {
    const dir = tmp();
    const file = path.join(dir, 'a.log');
    expect(readTranscriptTail(file, 3)).toBeUndefined();
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}`);
    writeFileSync(`${file}.1`, `${lines.slice(0, 15_000).join('\n')}\n`);
    writeFileSync(file, `${lines.slice(15_000).join('\n')}\n`);
    expect(readTranscriptTail(file, 2)!.text.toString()).toBe('line 19998\nline 19999\n');
    const across = readTranscriptTail(file, 5002)!;
    expect(across.text.toString().split('\n').slice(0, 3)).toEqual(['line 14998', 'line 14999', 'line 15000']);
    expect(across.end).toBe(statSync(file).size);
    expect(readTranscriptTail(file, 100_000)!.text.toString().split('\n')).toHaveLength(20_001);
  });
});

describe('followTranscript', () => {
  it('yields appended bytes and carries on across a rotation without losing any', async () => {
    const dir = tmp();
    const file = path.join(dir, 'a.log');
    writeFileSync(file, 'old\n');
    const controller = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const chunk of followTranscript(file, { offset: 4, signal: controller.signal, pollMs: 10 })) seen.push(chunk.toString());
    })();
    const until = async (text: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!seen.join('').includes(text)) {
        if (Date.now() > deadline) throw new Error(`never saw ${JSON.stringify(text)} in ${JSON.stringify(seen.join(''))}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    appendFileSync(file, 'one\n');
    await until('one\n');
    // Rotation as mosaic does it: rename, the old writer finishes into the renamed file, a new file starts.
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, 'two\n');
    writeFileSync(file, 'three\n');
    await until('three\n');
    controller.abort();
    await done;
    expect(seen.join('')).toBe('one\ntwo\nthree\n');
  });
});
