import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, ROOT, roster } from './harness.js';

/*
 * `mosaic fleet serve` from an install that lacks the package's web/ directory (a broken or
 * hand-pruned install): a plain error that says so, not an internal error with a stack trace.
 */
describe('fleet serve from an incomplete install', () => {
  it('exits 1 naming the missing web/ directory and saying to reinstall, before it makes a token or reads the fleet', async () => {
    const fleet = createFleet();
    // The built package without web/: dist, framework and package.json copied, node_modules linked.
    const pkg = path.join(fleet.dir, 'pkg');
    mkdirSync(pkg);
    for (const part of ['dist', 'framework', 'package.json']) cpSync(path.join(ROOT, part), path.join(pkg, part), { recursive: true });
    symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(pkg, 'node_modules'));
    expect(existsSync(path.join(pkg, 'web'))).toBe(false);

    fleet.writeRoster(roster(fleet.socket, 'agents:\n  - {name: a, runtime: stub}\n'));
    const result = spawnSync(process.execPath, [path.join(pkg, 'dist', 'cli', 'main.js'), 'fleet', 'serve', '--port', '0'], {
      env: fleet.env,
      encoding: 'utf8',
      timeout: 30_000, // were it to serve after all, this ends it
    });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(
      `the dashboard's directory ${path.join(pkg, 'web')} is missing: this install of mosaic-fleet is incomplete`,
    );
    expect(result.stderr).toMatch(/hint: reinstall the package/);
    expect(result.stderr).not.toMatch(/internal error|ENOENT|\n\s+at /);
    expect(readdirSync(fleet.home)).toEqual(['roster.yaml']); // no token file, no run directory
  });
});
