import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDirectories } from './fs.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('makeDirectories', () => {
  it('makes every missing level with the mode, and accepts a directory that is there', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-fs-'));
    dirs.push(dir);
    const deep = path.join(dir, 'a', 'b', 'c');
    await makeDirectories(deep, 0o700);
    await makeDirectories(deep, 0o700);
    for (const level of ['a', 'a/b', 'a/b/c']) expect(statSync(path.join(dir, level)).mode & 0o777).toBe(0o700);
  });

  it('fails on a file in the way, and at once where mkdir answers ENOENT under a parent that exists (/proc)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-fs-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'file'), '');
    await expect(makeDirectories(path.join(dir, 'file'), 0o700)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(makeDirectories(path.join(dir, 'file', 'x'), 0o700)).rejects.toMatchObject({ code: 'ENOTDIR' });
    // Node's own mkdir({recursive: true}) never returns here.
    await expect(makeDirectories('/proc/mosaic-test-no-such-dir/x', 0o700)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
