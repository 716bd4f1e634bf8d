import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { loadAssets } from './assets.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const scratch = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-assets-'));
  dirs.push(dir);
  return dir;
};

describe('the dashboard assets', () => {
  it('missing: a UserError naming what is missing and saying the install is incomplete, not ENOENT', () => {
    const web = path.join(scratch(), 'web');
    const message = `the dashboard's directory ${web} is missing: this install of mosaic-fleet is incomplete`;
    expect(() => loadAssets(web)).toThrow(UserError);
    expect(() => loadAssets(web)).toThrow(message);
    try {
      loadAssets(web);
    } catch (error) {
      expect((error as UserError).hint).toMatch(/^reinstall the package/);
    }
    mkdirSync(web);
    writeFileSync(path.join(web, 'app.js'), '');
    expect(() => loadAssets(web)).toThrow(`the dashboard's file ${path.join(web, 'index.html')} is missing`);
  });
});
