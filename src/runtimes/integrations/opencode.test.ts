import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { declarePluginPackage } from './opencode.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-opencode-'));
  mkdirSync(path.join(dir, 'plugin'));
  writeFileSync(path.join(dir, 'plugin', 'mosaic-events.js'), '// mosaic-events 1\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lock = (): { mosaic?: string; packages?: Record<string, { dependencies?: Record<string, string> }> } =>
  JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));

describe("opencode's plugin package, declared instead of installed", () => {
  it('is declared when mosaic’s plugin is the only code: what opencode checks before it installs', async () => {
    expect(await declarePluginPackage(dir)).toBe('declared');
    // opencode 1.18 skips its install when node_modules exists and the lock's root lists the package.
    expect(existsSync(path.join(dir, 'node_modules'))).toBe(true);
    expect(Object.keys(lock().packages?.['']?.dependencies ?? {})).toEqual(['@opencode-ai/plugin']);
    expect(await declarePluginPackage(dir)).toBe('declared'); // the next start keeps it
  });

  it('is taken back once other code is in the directory, which may import the package', async () => {
    await declarePluginPackage(dir);
    mkdirSync(path.join(dir, 'tool'));
    writeFileSync(path.join(dir, 'tool', 'deploy.ts'), 'import { tool } from "@opencode-ai/plugin"\n');
    expect(await declarePluginPackage(dir)).toBe('left');
    expect(existsSync(path.join(dir, 'package-lock.json'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
  });

  it("leaves a directory with packages of its own alone (a seeded install, or opencode's)", async () => {
    writeFileSync(path.join(dir, 'package.json'), '{"dependencies":{"@opencode-ai/plugin":"1.18.33"}}');
    expect(await declarePluginPackage(dir)).toBe('left');
    expect(existsSync(path.join(dir, 'package-lock.json'))).toBe(false);
    rmSync(path.join(dir, 'package.json'));
    mkdirSync(path.join(dir, 'node_modules'));
    writeFileSync(path.join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{"":{}}}');
    expect(await declarePluginPackage(dir)).toBe('left');
    expect(lock().mosaic).toBeUndefined();
    // A lock that does not parse is still not ours to replace.
    rmSync(path.join(dir, 'node_modules'), { recursive: true });
    writeFileSync(path.join(dir, 'package-lock.json'), '{"lockfileVersion":');
    expect(await declarePluginPackage(dir)).toBe('left');
    expect(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')).toBe('{"lockfileVersion":');
  });
});
