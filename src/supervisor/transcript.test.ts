import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rotateTranscripts, transcriptMaxBytes, transcriptPipeCommand, transcriptShellCommand } from './transcript.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('transcript pipe', () => {
  it('is one cat, appending to a path (quoted when it needs it) in which tmux expands nothing', () => {
    expect(transcriptShellCommand("/home/o'neil/#logs/a.log")).toBe(`umask 077; exec cat >> '/home/o'\\''neil/##logs/a.log'`);
    expect(transcriptPipeCommand('w_x', '/l/w.x.log')).toEqual(['pipe-pane', '-o', '-t', '=w_x:0.0', 'umask 077; exec cat >> /l/w.x.log']);
    expect(transcriptPipeCommand('a', '/l/a.log', { reopen: true })[1]).toBe('-t');
  });

  it('takes its cap from MOSAIC_TRANSCRIPT_MAX_BYTES, else 5 MiB', () => {
    expect(transcriptMaxBytes({})).toBe(5 * 1024 * 1024);
    expect(transcriptMaxBytes({ MOSAIC_TRANSCRIPT_MAX_BYTES: '4096' })).toBe(4096);
    expect(transcriptMaxBytes({ MOSAIC_TRANSCRIPT_MAX_BYTES: 'lots' })).toBe(5 * 1024 * 1024);
  });
});

describe('rotateTranscripts', () => {
  const setup = (): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-transcript-'));
    dirs.push(dir);
    return dir;
  };

  it('renames only logs at or over the cap, replacing the previous generation', async () => {
    const dir = setup();
    writeFileSync(path.join(dir, 'big.log'), 'x'.repeat(100));
    writeFileSync(path.join(dir, 'big.log.1'), 'older');
    writeFileSync(path.join(dir, 'small.log'), 'x'.repeat(10));
    const agents = ['big', 'small', 'none'].map((name) => ({ name, session: name }));
    const rotated = await rotateTranscripts(dir, agents, 50);
    expect(rotated.map((a) => a.name)).toEqual(['big']);
    expect(existsSync(path.join(dir, 'big.log'))).toBe(false);
    expect(readFileSync(path.join(dir, 'big.log.1'), 'utf8')).toBe('x'.repeat(100));
    expect(existsSync(path.join(dir, 'small.log.1'))).toBe(false);
    expect(existsSync(path.join(dir, '.big.log.lock'))).toBe(false);
  });

  it('leaves a log alone while another process holds its lock, and breaks a stale lock', async () => {
    const dir = setup();
    writeFileSync(path.join(dir, 'a.log'), 'x'.repeat(100));
    const lock = path.join(dir, '.a.log.lock');
    writeFileSync(lock, '');
    expect(await rotateTranscripts(dir, [{ name: 'a', session: 'a' }], 50)).toEqual([]);
    expect(existsSync(path.join(dir, 'a.log'))).toBe(true);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect((await rotateTranscripts(dir, [{ name: 'a', session: 'a' }], 50)).map((a) => a.name)).toEqual(['a']);
    expect(existsSync(lock)).toBe(false);
  });
});
