import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { localHost } from '../host/local.js';
import { serveToken } from './token.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('fleet serve --token-file', () => {
  it('a directory, or a missing file, is a user error naming it (a directory was EISDIR, an internal error)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-token-'));
    dirs.push(dir);
    const host = localHost({ env: { HOME: dir } });
    const asDir = serveToken(host, { stateDir: dir, tokenFile: dir });
    await expect(asDir).rejects.toBeInstanceOf(UserError);
    await expect(asDir).rejects.toThrow(`cannot read the token file ${dir}: it is a directory`);
    await expect(serveToken(host, { stateDir: dir, tokenFile: path.join(dir, 'none') })).rejects.toThrow(
      `cannot read the token file ${path.join(dir, 'none')}`,
    );
  });
});
