import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { localHost } from '../host/local.js';
import { shippedContractDir } from '../launch/contract.js';
import { initFramework, manifestFile, updateFramework, type FrameworkReport } from './framework.js';
import { profileText } from './profiles.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A config root under a temp HOME, and a copy of the shipped contract that a test can change (a new release). */
function world() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-framework-'));
  dirs.push(dir);
  const root = path.join(dir, 'home', '.config', 'mosaic', 'fleet');
  const shippedDir = path.join(dir, 'pkg', 'framework', 'contract');
  cpSync(shippedContractDir(), shippedDir, { recursive: true });
  const host = localHost({ env: { HOME: path.join(dir, 'home'), USER: 'tester' } });
  const file = (name: string): string => path.join(root, name);
  const read = (name: string): string => readFileSync(file(name), 'utf8');
  const ship = (name: string, text: string): void => writeFileSync(path.join(shippedDir, name), text);
  return {
    dir,
    root,
    host,
    file,
    read,
    ship,
    init: (options: { force?: boolean; profile?: string; roster?: string } = {}) => initFramework(host, { shippedDir, ...options }),
    update: (options: { roster?: string } = {}) => updateFramework(host, { shippedDir, ...options }),
  };
}

const actions = (report: FrameworkReport): Record<string, string> =>
  Object.fromEntries(report.rows.map((row) => [path.relative(report.root, row.file), row.action]));

/** Every file under `dir` with its content and mtime: a run that changes nothing leaves this as it was. */
function snapshot(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const full = path.join(at, name);
      if (statSync(full).isDirectory()) walk(full);
      else result[path.relative(dir, full)] = `${statSync(full).mtimeMs} ${readFileSync(full, 'utf8')}`;
    }
  };
  walk(dir);
  return result;
}

describe('mosaic init', () => {
  it('deploys the contract and the starter roster, records their hashes, and a second run changes nothing', async () => {
    const w = world();
    const first = await w.init();
    expect(actions(first)).toEqual({ 'contract/AGENTS.md': 'written', 'contract/CONSTITUTION.md': 'written', 'roster.yaml': 'written' });
    expect(w.read('contract/AGENTS.md')).toBe(readFileSync(path.join(shippedContractDir(), 'AGENTS.md'), 'utf8'));
    expect(w.read('roster.yaml')).toBe(profileText('minimal'));
    expect(statSync(w.file('contract/AGENTS.md')).mode & 0o777).toBe(0o600);
    expect(statSync(w.file('contract')).mode & 0o777).toBe(0o700);
    const manifest = JSON.parse(readFileSync(manifestFile(w.root), 'utf8')) as { profile: string; files: Record<string, string> };
    expect(manifest.profile).toBe('minimal');
    expect(Object.keys(manifest.files).sort()).toEqual(['contract/AGENTS.md', 'contract/CONSTITUTION.md', 'roster.yaml']);
    expect(manifest.files['roster.yaml']).toMatch(/^[0-9a-f]{64}$/);

    const before = snapshot(w.root);
    const second = await w.init();
    expect(Object.values(actions(second))).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(snapshot(w.root)).toEqual(before);
  });

  it('keeps edited files and an existing roster without --force; --force replaces them', async () => {
    const w = world();
    mkdirSync(w.root, { recursive: true });
    writeFileSync(w.file('roster.yaml'), 'version: 1\ntransport: tmux\nagents: []\n');
    await w.init();
    writeFileSync(w.file('contract/AGENTS.md'), '# my own dispatcher\n');
    const before = snapshot(w.root);
    const kept = await w.init();
    expect(actions(kept)).toEqual({ 'contract/AGENTS.md': 'kept', 'contract/CONSTITUTION.md': 'unchanged', 'roster.yaml': 'kept' });
    expect(kept.rows[0]!.reason).toMatch(/--force replaces it/);
    expect(kept.rows[2]!.reason).toMatch(/differs from the shipped minimal profile/);
    expect(snapshot(w.root)).toEqual(before);

    const forced = await w.init({ force: true, profile: 'stub' });
    expect(actions(forced)).toEqual({
      'contract/AGENTS.md': 'replaced',
      'contract/CONSTITUTION.md': 'unchanged',
      'roster.yaml': 'replaced',
    });
    expect(w.read('roster.yaml')).toBe(profileText('stub'));
    expect(w.read('contract/AGENTS.md')).not.toContain('my own dispatcher');
  });

  it('--force also removes a <file>.new an update left that is now the file itself; an older one stays', async () => {
    const w = world();
    await w.init();
    writeFileSync(w.file('contract/CONSTITUTION.md'), '# our house rules\n');
    writeFileSync(w.file('contract/AGENTS.md'), '# our dispatcher\n');
    w.ship('CONSTITUTION.md', '# constitution v2\n');
    w.ship('AGENTS.md', '# dispatcher v2\n');
    await w.update();
    expect(w.read('contract/CONSTITUTION.md.new')).toBe('# constitution v2\n');
    writeFileSync(w.file('contract/AGENTS.md.new'), '# dispatcher v2, edited by hand\n');
    const forced = await w.init({ force: true });
    expect(actions(forced)).toMatchObject({ 'contract/AGENTS.md': 'replaced', 'contract/CONSTITUTION.md': 'replaced' });
    expect(existsSync(w.file('contract/CONSTITUTION.md.new'))).toBe(false);
    expect(forced.rows[1]!.reason).toMatch(/CONSTITUTION\.md\.new, the same text, removed$/);
    // Not the text now in place: someone's, kept.
    expect(w.read('contract/AGENTS.md.new')).toBe('# dispatcher v2, edited by hand\n');
  });

  it('writes the roster where --roster points, and refuses an unknown profile', async () => {
    const w = world();
    const elsewhere = path.join(w.dir, 'rosters', 'team.yaml');
    const report = await w.init({ roster: elsewhere });
    expect(report.rows[2]).toMatchObject({ file: elsewhere, action: 'written' });
    const manifest = JSON.parse(readFileSync(manifestFile(w.root), 'utf8')) as { files: Record<string, string> };
    expect(Object.keys(manifest.files)).toContain(elsewhere);
    await expect(w.init({ profile: 'huge' })).rejects.toThrow(/unknown roster profile "huge"/);
  });

  it('a --roster that is a directory is a user error naming it (was EISDIR, an internal error), as is a contract directory', async () => {
    const w = world();
    const dir = path.join(w.dir, 'rosters');
    mkdirSync(dir);
    await expect(w.init({ roster: dir })).rejects.toThrow(UserError);
    await expect(w.init({ roster: dir })).rejects.toThrow(`${dir} is a directory, not a file`);
    await expect(w.update({ roster: dir })).rejects.toThrow(`${dir} is a directory, not a file`);
    expect(existsSync(w.file('contract'))).toBe(false); // refused before anything was written
    mkdirSync(w.file('contract/AGENTS.md'), { recursive: true });
    await expect(w.init()).rejects.toThrow(`${w.file('contract/AGENTS.md')} is a directory, not a file`);
  });

  it('a config root that is a file is a user error naming it (was ENOTDIR, an internal error)', async () => {
    const w = world();
    mkdirSync(path.dirname(w.root), { recursive: true });
    writeFileSync(w.root, '');
    await expect(w.init()).rejects.toThrow(UserError);
    await expect(w.init()).rejects.toThrow(`${w.root}, or a directory above it, is a file`);
    await expect(w.update()).rejects.toThrow(`${w.root}, or a directory above it, is a file`);
  });
});

describe('a config root mosaic may not write', () => {
  // sysfs refuses a new directory to everyone (EPERM, EROFS when mounted read-only, EACCES for a user): a real refusal, also as root.
  it.skipIf(!existsSync('/sys/kernel'))('init and update are a user error naming the file (was an internal error, exit 70)', async () => {
    const w = world();
    const root = '/sys/kernel/mosaic-qa-not-writable';
    const host = localHost({ env: { HOME: path.join(w.dir, 'home'), USER: 'tester', MOSAIC_FLEET_HOME: root } });
    const shippedDir = shippedContractDir();
    for (const run of [() => initFramework(host, { shippedDir }), () => updateFramework(host, { shippedDir })]) {
      const error = await run().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toMatch(
        new RegExp(`^cannot write ${root}/contract/AGENTS\\.md: (permission denied|a read-only file system) \\((EPERM|EACCES|EROFS)\\)$`),
      );
      expect((error as UserError).hint).toContain('MOSAIC_FLEET_HOME');
    }
  });
});

describe('mosaic update', () => {
  it('a new release: replaces what mosaic wrote, keeps what you edited (new version beside it), never the roster', async () => {
    const w = world();
    await w.init();
    // The operator edits the constitution and the roster, and has files of their own.
    writeFileSync(w.file('contract/CONSTITUTION.md'), '# our house rules\n');
    writeFileSync(w.file('roster.yaml'), `${w.read('roster.yaml')}# tuned by me\n`);
    mkdirSync(w.file('agents'), { recursive: true });
    writeFileSync(w.file('agents/coder0.env'), 'KEY=value\n');
    const own = { roster: snapshot(w.root)['roster.yaml'], env: snapshot(w.root)['agents/coder0.env'] };
    // The next version of mosaic ships a new dispatcher and constitution.
    w.ship('AGENTS.md', '# dispatcher v2\n');
    w.ship('CONSTITUTION.md', '# constitution v2\n');

    const report = await w.update();
    expect(actions(report)).toEqual({ 'contract/AGENTS.md': 'replaced', 'contract/CONSTITUTION.md': 'new-beside', 'roster.yaml': 'kept' });
    expect(w.read('contract/AGENTS.md')).toBe('# dispatcher v2\n');
    expect(w.read('contract/CONSTITUTION.md')).toBe('# our house rules\n');
    expect(w.read('contract/CONSTITUTION.md.new')).toBe('# constitution v2\n');
    expect(report.rows[1]).toMatchObject({
      beside: w.file('contract/CONSTITUTION.md.new'),
      reason: expect.stringMatching(/edited since mosaic wrote it: kept/),
    });
    expect(report.rows[2]!.reason).toMatch(/update never replaces it/);
    // The roster and the operator's other files: byte for byte, same mtime.
    expect(snapshot(w.root)['roster.yaml']).toBe(own.roster);
    expect(snapshot(w.root)['agents/coder0.env']).toBe(own.env);

    // Idempotent: a second run changes no file and reports nothing written, replaced or placed beside.
    const before = snapshot(w.root);
    const again = await w.update();
    expect(actions(again)).toEqual({ 'contract/AGENTS.md': 'unchanged', 'contract/CONSTITUTION.md': 'kept', 'roster.yaml': 'kept' });
    expect(again.rows[1]!.reason).toMatch(/already beside it/);
    expect(snapshot(w.root)).toEqual(before);

    // Deleting the .new declines that version: it is not written again, only the next one is.
    rmSync(w.file('contract/CONSTITUTION.md.new'));
    expect((await w.update()).rows[1]).toMatchObject({ action: 'kept', reason: expect.stringMatching(/written beside it before/) });
    expect(existsSync(w.file('contract/CONSTITUTION.md.new'))).toBe(false);
    w.ship('CONSTITUTION.md', '# constitution v2.1\n');
    expect(actions(await w.update())['contract/CONSTITUTION.md']).toBe('new-beside');
    expect(w.read('contract/CONSTITUTION.md.new')).toBe('# constitution v2.1\n');

    // Taking the new version over makes the file mosaic's again: the next release replaces it.
    writeFileSync(w.file('contract/CONSTITUTION.md'), w.read('contract/CONSTITUTION.md.new'));
    expect(actions(await w.update())['contract/CONSTITUTION.md']).toBe('unchanged');
    w.ship('CONSTITUTION.md', '# constitution v3\n');
    expect(actions(await w.update())['contract/CONSTITUTION.md']).toBe('replaced');
    expect(w.read('contract/CONSTITUTION.md')).toBe('# constitution v3\n');
  });

  it('an edited file with no newer shipped version is kept and nothing is written beside it', async () => {
    const w = world();
    await w.init();
    writeFileSync(w.file('contract/AGENTS.md'), '# mine\n');
    const report = await w.update();
    expect(report.rows[0]).toMatchObject({ action: 'kept', reason: expect.stringMatching(/has not changed since/) });
    expect(existsSync(w.file('contract/AGENTS.md.new'))).toBe(false);
  });

  it('a fresh home gets the contract but no roster; a second run reports everything unchanged', async () => {
    const w = world();
    const first = await w.update();
    expect(actions(first)).toEqual({ 'contract/AGENTS.md': 'written', 'contract/CONSTITUTION.md': 'written', 'roster.yaml': 'unchanged' });
    expect(existsSync(w.file('roster.yaml'))).toBe(false);
    const before = snapshot(w.root);
    expect(Object.values(actions(await w.update()))).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(snapshot(w.root)).toEqual(before);
  });

  it('contract files mosaic did not write are kept, with the shipped version beside them', async () => {
    const w = world();
    mkdirSync(w.file('contract'), { recursive: true });
    writeFileSync(w.file('contract/AGENTS.md'), '# written by hand before init\n');
    writeFileSync(w.file('roster.yaml'), 'version: 1\ntransport: tmux\nagents: []\n');
    const report = await w.update();
    expect(report.rows[0]).toMatchObject({ action: 'new-beside', reason: expect.stringMatching(/not written by mosaic/) });
    expect(w.read('contract/AGENTS.md')).toBe('# written by hand before init\n');
    expect(report.rows[2]).toMatchObject({ action: 'kept', reason: expect.stringMatching(/not written by `mosaic init`/) });
  });

  it('a starter roster whose profile changed since init: kept, the new starter beside it', async () => {
    const w = world();
    await w.init();
    // As if an older mosaic had written a different starter: the roster still matches what mosaic wrote.
    const older = `${profileText('minimal')}# the older starter\n`;
    writeFileSync(w.file('roster.yaml'), older);
    const manifest = JSON.parse(readFileSync(manifestFile(w.root), 'utf8')) as { files: Record<string, string> };
    const { createHash } = await import('node:crypto');
    manifest.files['roster.yaml'] = createHash('sha256').update(older).digest('hex');
    writeFileSync(manifestFile(w.root), JSON.stringify(manifest));
    const report = await w.update();
    expect(report.rows[2]).toMatchObject({ action: 'new-beside', reason: expect.stringMatching(/the minimal profile changed/) });
    expect(w.read('roster.yaml')).toBe(older);
    expect(w.read('roster.yaml.new')).toBe(profileText('minimal'));
  });

  it('a manifest that is not one is an error, and nothing is written', async () => {
    const w = world();
    mkdirSync(w.root, { recursive: true });
    writeFileSync(manifestFile(w.root), '{not json');
    await expect(w.update()).rejects.toThrow(/\.mosaic-manifest\.json is not a mosaic manifest/);
    expect(existsSync(w.file('contract'))).toBe(false);
  });
});
