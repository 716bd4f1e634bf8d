import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './harness.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe("the README's install line", () => {
  it('npm pack, then npm install -g of the tarball, gives a working mosaic', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-pack-'));
    dirs.push(dir);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TMPDIR: dir,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    };
    // npm may reach the registry over TLS: give it back the CA bundle vitest.config.ts took away.
    if (process.env.MOSAIC_TEST_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.MOSAIC_TEST_CA_CERTS;
    // dist/ is built by `npm test`'s pretest; --ignore-scripts skips the rebuild `prepare` would do.
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, env, encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'))!;
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(tarball).toBe(`mosaic-fleet-${version}.tgz`);
    const prefix = path.join(dir, 'prefix');
    const install = spawnSync('npm', ['install', '-g', '--prefer-offline', '--prefix', prefix, path.join(dir, tarball)], {
      env,
      encoding: 'utf8',
    });
    expect(install.status, install.stderr).toBe(0);
    const mosaic = path.join(prefix, 'bin', 'mosaic');
    expect(spawnSync(mosaic, ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(version);
    const init = spawnSync(mosaic, ['fleet', 'init', '--profile', 'stub'], {
      encoding: 'utf8',
      env: { ...env, MOSAIC_FLEET_HOME: path.join(dir, 'home') },
    });
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/runtime: stub/);
    // The package carries its license and the shipped framework files.
    const listed = spawnSync('tar', ['-tzf', path.join(dir, tarball)], { encoding: 'utf8' }).stdout;
    for (const file of [
      'package/LICENSE',
      'package/framework/bin/mosaic-launch',
      'package/framework/personas/implementer.md',
      'package/framework/contract/AGENTS.md',
      'package/framework/contract/CONSTITUTION.md',
      // The CLI runs from its bundle (scripts/bundle.mjs), which reads these next to its own files.
      'package/dist/cli/roster-validator.cjs',
      'package/dist/cli/verbs.json',
      'package/dist/cli/core.js',
    ]) {
      expect(listed).toContain(file);
    }
  }, 120_000);
});
