import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filler } from '../../src/sanitize/rules.js';
import { CLI, ROOT } from './harness.js';

/*
 * `mosaic sanitize check` end to end on temporary trees (walked, and git work trees). Every
 * secret-shaped string is assembled at run time: this file passes the gate it tests.
 */

let dir: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-sanitize-'));
  mkdirSync(path.join(dir, 'home'));
  env = { PATH: process.env.PATH, HOME: path.join(dir, 'home'), NO_COLOR: '1' };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function put(relative: string, content: string | Buffer): void {
  const file = path.join(dir, 'tree', relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function sanitize(args: string[], cwd = path.join(dir, 'tree')) {
  const result = spawnSync(process.execPath, [CLI, 'sanitize', 'check', ...args], { cwd, env, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const secrets = {
  github: `${'gh' + 'p_'}${filler(36)}`,
  gitlab: `${'gl' + 'pat-'}${filler(20)}`,
  aws: `${'AK' + 'IA'}${filler(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
  password: `${filler(7)}9${filler(5)}`,
  key: `${'-----BEGIN OPENSSH ' + 'PRIVATE'} KEY-----`,
};

/** A file of each kind upstream's gate never read, each with one secret; plus places that must be skipped. */
function plantTree(): void {
  put('deploy/app.yaml', `name: app\ndb:\n  ${'pass' + 'word'}: "${secrets.password}"\n`);
  put('deploy/agent.service', `[Service]\nEnvironment=GH=${secrets.github}\nExecStart=/usr/bin/agent\n`);
  put('src/aws.ts', `// settings\nexport const region = 'eu-west-1';\nexport const id = '${secrets.aws}';\n`);
  put('tools/sign.py', `KEY = """\n${secrets.key}\n"""\n`);
  put('bin/deploy', `#!/bin/sh\ncurl -H "PRIVATE-TOKEN: ${secrets.gitlab}" https://gitlab.example\n`);
  put('docs/notes.txt', 'Mirror: git.CORP.example (internal)\nsee also git.corp.examples-are-fine\n');
  put('README.md', 'Set `GITHUB_TOKEN=$GITHUB_TOKEN` in the environment.\n');
  put('node_modules/lib/index.js', `const t = '${secrets.github}';\n`);
  put('dist/bundle.js', `const t = '${secrets.github}';\n`);
  put('assets/blob.bin', Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(secrets.github)]));
  put('.mosaic/sanitize.yaml', 'deny:\n  - git.corp.example\n');
}

const EXPECTED = [
  'bin/deploy:2:25: gitlab-token',
  'deploy/agent.service:2:16: github-token',
  'deploy/app.yaml:3:3: secret-assignment',
  'docs/notes.txt:1:9: deny-list',
  'src/aws.ts:3:20: aws-access-key-id',
  'tools/sign.py:2:1: private-key',
];

describe('mosaic sanitize check', () => {
  it('flags every text file type, skips binaries, node_modules and dist; exit 1 with file:line:column and rule', () => {
    plantTree();
    const run = sanitize([]);
    expect(run.status, run.stderr).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(': ').slice(0, 2).join(': '))).toEqual(EXPECTED);
    expect(run.stdout).toContain('docs/notes.txt:1:9: deny-list: deny-list entry 1 of .mosaic/sanitize.yaml');
    expect(run.stderr).toContain('mosaic: sanitize: 6 findings in 6 files');
    // Findings never repeat the secret itself.
    for (const value of Object.values(secrets)) expect(run.stdout + run.stderr).not.toContain(value);
  });

  it('--json: the same findings with rule ids, no matched text; skipped binaries listed', () => {
    plantTree();
    const run = sanitize(['--json']);
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as { clean: boolean; findings: { file: string; rule: string }[]; files_skipped: unknown[] };
    expect(report.clean).toBe(false);
    expect(report.findings.map((f) => `${f.file} ${f.rule}`)).toHaveLength(6);
    expect(report.files_skipped).toEqual([{ file: 'assets/blob.bin', why: 'binary' }]);
    for (const value of Object.values(secrets)) expect(run.stdout).not.toContain(value);
  });

  it('allow entries (whole files, or some rules in some files) make it clean → 0; paths narrow the scan', () => {
    plantTree();
    put(
      '.mosaic/sanitize.yaml',
      [
        'deny: [git.corp.example]',
        'allow:',
        '  - deploy/',
        '  - "*.py"',
        '  - path: src/**',
        '    rules: [aws-access-key-id]',
        '    reason: a documented example key',
        '  - path: bin/deploy',
        '    rules: [gitlab-token]',
        '  - path: docs/notes.txt',
        '    rules: [deny-list]',
        '',
      ].join('\n'),
    );
    const run = sanitize([]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^sanitize: clean: 8 files scanned, \d+ rules, 1 deny-list entry\n$/);
    // A file named on the command line is read even where a walk would skip it.
    const named = sanitize(['node_modules/lib/index.js', 'README.md']);
    expect(named.status).toBe(1);
    expect(named.stdout).toContain('node_modules/lib/index.js:1:12: github-token');
    // A symbolic link named on the command line is read through (it was skipped: "clean, 0 files scanned");
    // one that points nowhere is an error, as a missing path is.
    symlinkSync('node_modules/lib/index.js', path.join(dir, 'tree', 'linked.js'));
    symlinkSync('node_modules', path.join(dir, 'tree', 'linked-dir'));
    symlinkSync('nowhere.js', path.join(dir, 'tree', 'dangling.js'));
    for (const link of ['linked.js', 'linked-dir']) {
      const through = sanitize([link]);
      expect(through.status, through.stdout + through.stderr).toBe(1);
      expect(through.stdout).toContain('node_modules/lib/index.js:1:12: github-token');
    }
    const dangling = sanitize(['dangling.js']);
    expect(dangling.status).toBe(1);
    expect(dangling.stderr).toContain('dangling.js: a symbolic link to nothing');
  });

  it('a text file too large to read is named on stderr as not scanned (it was left out of "clean" silently)', () => {
    put('big.log', Buffer.alloc(10 * 1024 * 1024 + 1, 'a'));
    put('small.txt', 'nothing here\n');
    const run = sanitize([]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^sanitize: clean: 1 file scanned/);
    expect(run.stderr).toBe('warning: big.log: not scanned (over 10 MiB)\n');
  });

  it('a bad config exits 2 naming file:line; --config reads another file', () => {
    plantTree();
    put('.mosaic/sanitize.yaml', 'deny:\n  - jdoe\nallow:\n  - path: x\n    rules: [no-such-rule]\n');
    const run = sanitize([]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^mosaic: .*\.mosaic\/sanitize\.yaml:5: unknown rule "no-such-rule"/);
    const missing = sanitize(['--config', 'nope.yaml']);
    expect(missing.status).toBe(2);
    put('private.yaml', 'deny: [region]\n');
    const other = sanitize(['--config', 'private.yaml', 'src']);
    expect(other.status).toBe(1);
    expect(other.stdout).toContain('src/aws.ts:2:14: deny-list: deny-list entry 1 of private.yaml');
  });

  it('--self-test proves each rule, and each deny entry, fires', () => {
    plantTree();
    const run = sanitize(['--self-test']);
    expect(run.status, run.stderr).toBe(0);
    for (const rule of [
      'github-token',
      'gitlab-token',
      'gitea-token',
      'aws-access-key-id',
      'private-key',
      'secret-assignment',
      'deny-list #1',
    ]) {
      expect(run.stdout).toMatch(new RegExp(`^ok +${rule}$`, 'm'));
    }
    expect(run.stdout).toMatch(/self-test passed: \d+ rules fire on their samples/);
  });

  it('in a git work tree: tracked and untracked files, not ignored ones', () => {
    put('.gitignore', 'local.env\n');
    put('local.env', `${'GITHUB' + '_TOKEN'}=${secrets.github}\n`);
    put('new-file.sh', `export ${'pass' + 'word'}=${secrets.password}\n`);
    put('clean.md', 'nothing here\n');
    const git = (...args: string[]) => spawnSync('git', ['-C', path.join(dir, 'tree'), ...args], { env, encoding: 'utf8' });
    expect(git('init', '-q').status).toBe(0);
    const run = sanitize(['--json']);
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as { files_scanned: number; findings: { file: string }[] };
    expect(report.findings.map((f) => f.file)).toEqual(['new-file.sh']);
    expect(report.files_scanned).toBe(3); // .gitignore, clean.md, new-file.sh
    // Named explicitly, an ignored file is read.
    expect(sanitize(['local.env']).status).toBe(1);
  });

  it('this repository passes its own gate (as .ci/run checks)', () => {
    const run = sanitize([], ROOT);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^sanitize: clean: \d+ files scanned/);
  });
});
