import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { initRoster } from './init.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-init-'));
  dirs.push(dir);
  return dir;
}

const write = (rosterPath: string, force = false) => initRoster({ profile: 'stub', rosterPath, write: true, force, env: {} });

describe('fleet init --write', () => {
  // /proc takes no new directory and answers ENOENT: Node's mkdir({recursive: true}) spun a CPU there for ever.
  it.skipIf(!existsSync('/proc/self'))('a config root that cannot be created (under /proc) is a user error at once', async () => {
    const file = '/proc/mosaic-test-no-such-dir/fleet/roster.yaml';
    await expect(write(file)).rejects.toThrow(UserError);
    await expect(write(file)).rejects.toThrow(`cannot write ${file}: its directory cannot be created there (ENOENT)`);
  });

  it('a roster path that is a directory (or a link to one) is a user error, with or without --force', async () => {
    const dir = scratch();
    const target = path.join(dir, 'rosters');
    mkdirSync(target);
    symlinkSync(target, path.join(dir, 'link'));
    for (const file of [target, path.join(dir, 'link')]) {
      for (const force of [false, true]) {
        await expect(write(file, force)).rejects.toThrow(UserError);
        await expect(write(file, force)).rejects.toThrow(`${file} is a directory, not a file`);
      }
    }
  });

  it('a roster path under a file (a config root that is a file) is a user error, not "appeared while writing"', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'root'), '');
    const file = path.join(dir, 'root', 'roster.yaml');
    for (const force of [false, true]) {
      await expect(write(file, force)).rejects.toThrow(UserError);
      await expect(write(file, force)).rejects.toThrow(
        `cannot write ${file}: ${path.join(dir, 'root')}, or a directory above it, is a file`,
      );
    }
  });

  it('a dangling symlink already exists: refused up front, not "appeared while writing", and left in place', async () => {
    const dir = scratch();
    const link = path.join(dir, 'roster.yaml');
    symlinkSync(path.join(dir, 'missing.yaml'), link);
    await expect(write(link)).rejects.toThrow(`roster ${link} already exists; not overwriting it`);
    expect(readlinkSync(link)).toBe(path.join(dir, 'missing.yaml'));
  });
});
