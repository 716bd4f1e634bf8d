import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, ROOT } from './harness.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The built CLI with HOME (and so the config root) in a temp dir. */
function home() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-init-'));
  dirs.push(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, NO_COLOR: '1' };
  for (const name of ['MOSAIC_FLEET_HOME', 'XDG_CONFIG_HOME']) delete env[name];
  const root = path.join(dir, '.config', 'mosaic', 'fleet');
  const mosaic = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  const rows = (...args: string[]) => {
    const result = mosaic(...args, '--json');
    expect(result.status, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { file: string; action: string; tenant_id: string; host: string }[]).map((row) => ({
      ...row,
      file: path.relative(root, row.file),
    }));
  };
  return { root, mosaic, rows };
}

describe('mosaic init and update', () => {
  it('init deploys the shipped contract and roster; update keeps an edited roster and contract file', () => {
    const h = home();
    const init = h.mosaic('init');
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/^ACTION\s+FILE\s+WHY$/m);
    expect(init.stdout).toMatch(/^written\s+\S+\/contract\/AGENTS\.md\s+was missing$/m);
    for (const name of ['AGENTS.md', 'CONSTITUTION.md']) {
      expect(readFileSync(path.join(h.root, 'contract', name), 'utf8')).toBe(
        readFileSync(path.join(ROOT, 'framework', 'contract', name), 'utf8'),
      );
    }
    const again = h.rows('init');
    expect(again.map((r) => [r.file, r.action])).toEqual([
      ['contract/AGENTS.md', 'unchanged'],
      ['contract/CONSTITUTION.md', 'unchanged'],
      ['roster.yaml', 'unchanged'],
    ]);
    expect(again[0]).toMatchObject({ tenant_id: expect.any(String), host: expect.any(String) });

    const roster = `${readFileSync(path.join(h.root, 'roster.yaml'), 'utf8')}# mine\n`;
    writeFileSync(path.join(h.root, 'roster.yaml'), roster);
    writeFileSync(path.join(h.root, 'contract', 'AGENTS.md'), '# our dispatcher\n');
    expect(h.rows('update').map((r) => [r.file, r.action])).toEqual([
      ['contract/AGENTS.md', 'kept'],
      ['contract/CONSTITUTION.md', 'unchanged'],
      ['roster.yaml', 'kept'],
    ]);
    expect(h.rows('init').map((r) => r.action)).toEqual(['kept', 'unchanged', 'kept']);
    expect(readFileSync(path.join(h.root, 'roster.yaml'), 'utf8')).toBe(roster);
    expect(readFileSync(path.join(h.root, 'contract', 'AGENTS.md'), 'utf8')).toBe('# our dispatcher\n');
  });

  it('--help has examples; fleet init (the roster only) works as before', () => {
    const h = home();
    expect(h.mosaic('init', '--help').stdout).toMatch(/Example:\n {2}mosaic init\n/);
    expect(h.mosaic('update', '--help').stdout).toMatch(/mosaic update --json/);
    const fleetInit = h.mosaic('fleet', 'init', '--profile', 'stub');
    expect(fleetInit.status).toBe(0);
    expect(fleetInit.stdout).toMatch(/runtime: stub/);
    expect(h.mosaic('init', '--profile', 'nope').status).toBe(2);
  });
});
