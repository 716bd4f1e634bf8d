import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import type { RemoteHost } from '../roster/model.js';
import { shellQuote } from '../system/shell.js';
import { assertSafeDestination, controlDirectory, controlPath, probeMaster, sshArgv, type SshCall } from './ssh.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const tempDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-ssh-unit-'));
  dirs.push(dir);
  return dir;
};

const host = (extra: Partial<RemoteHost> = {}): RemoteHost => ({
  name: 'far',
  ssh: 'u@far.example',
  mosaic: ['mosaic'],
  timeoutSeconds: 10,
  ...extra,
});
const call = (extra: Partial<SshCall> = {}): SshCall => ({
  remote: ['mosaic', 'fleet', 'ps', '--json'],
  connectTimeoutSeconds: 10,
  control: '/run/cm-x',
  ...extra,
});

/** What `sh -c <line>` hands to printf: every word, NUL-terminated, exactly as the shell parsed it. */
function throughShell(line: string): string[] {
  const result = spawnSync('sh', ['-c', line], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  expect(result.stderr).toBe('');
  return result.stdout.split('\0').slice(0, -1);
}

const HOSTILE = [
  '',
  ' ',
  'plain',
  "it's",
  "'",
  "''",
  '"',
  'a"b\'c',
  '$(touch /tmp/mosaic-pwned)',
  '`id`',
  '${HOME}',
  '$HOME',
  '$0',
  '; rm -rf /',
  'a|b',
  'a&b',
  '&&',
  '<in >out 2>&1',
  'line1\nline2',
  '\n',
  'tab\there',
  '\t',
  'back\\slash\\',
  '\\',
  '*',
  '?',
  '[a-z]*',
  '~',
  '~/x',
  '~root',
  '#comment',
  '!',
  '!!',
  '-n',
  '--roster=x',
  '-e',
  'a=b',
  '%s%n',
  '{a,b}',
  '✓ ünïcödé 日本語 🚀',
  '\u00a0nbsp',
  '\r',
  'x\x01\x7fy',
  'trailing space ',
  'MOSAIC_HOST_NAME=alpha',
  '/abs/path.txt',
  'user@host:22',
];

describe('shellQuote for the remote shell', () => {
  it('round-trips hostile words through a real sh -c, byte for byte', () => {
    const line = `printf '%s\\0' ${HOSTILE.map(shellQuote).join(' ')}`;
    expect(throughShell(line)).toEqual(HOSTILE);
  });

  it('round-trips each hostile word on its own, also as the first argument', () => {
    for (const word of HOSTILE) {
      expect(throughShell(`printf '%s\\0' ${shellQuote(word)}`)).toEqual([word]);
    }
  });

  it('the command line sshArgv builds runs in the remote shell as exactly the argv given', () => {
    const argv = sshArgv(host(), call({ remote: ['printf', '%s\\0', ...HOSTILE] }));
    // ssh passes its last word to the remote user's shell as `$SHELL -c <word>`.
    const remoteLine = argv.at(-1)!;
    expect(remoteLine.startsWith("printf '%s\\0' ")).toBe(true);
    expect(throughShell(remoteLine)).toEqual(HOSTILE);
  });
});

describe('assertSafeDestination', () => {
  it('refuses destinations ssh would read as an option or split into words', () => {
    for (const ssh of ['-oProxyCommand=x', '-oProxyCommand=touch /tmp/x', '-p', 'a b', 'a\tb', 'a\nb', ' a', 'a ', '']) {
      expect(() => assertSafeDestination({ name: 'evil', ssh }), JSON.stringify(ssh)).toThrow(UserError);
    }
    expect(() => assertSafeDestination({ name: 'evil', ssh: '-oProxyCommand=x' })).toThrow(
      /host "evil": ssh destination "-oProxyCommand=x" must not start with "-"/,
    );
  });

  it('accepts user@address, addresses and config aliases', () => {
    for (const ssh of ['far', 'u@far.example', 'u@10.0.0.1', 'u@[::1]', 'alias-with-dash', 'a-']) {
      expect(() => assertSafeDestination({ name: 'ok', ssh })).not.toThrow();
    }
  });

  it('sshArgv refuses an unsafe destination too (no argv is built)', () => {
    expect(() => sshArgv(host({ ssh: '-oProxyCommand=x' }), call())).toThrow(UserError);
    expect(() => sshArgv(host({ ssh: '' }), call())).toThrow(UserError);
  });
});

/** The value of every `-o Key=value` in argv (before `--`). */
const options = (argv: string[]): Map<string, string[]> => {
  const out = new Map<string, string[]>();
  const end = argv.indexOf('--');
  for (let i = 0; i < end; i += 1) {
    if (argv[i] === '-o') {
      const [key, ...rest] = argv[i + 1]!.split('=');
      out.set(key!, [...(out.get(key!) ?? []), rest.join('=')]);
    }
  }
  return out;
};

describe('sshArgv', () => {
  const variants: [string, RemoteHost, SshCall][] = [
    ['plain', host(), call()],
    ['port, identity, config', host({ port: 2222, identityFile: '/k/id', sshConfig: '/c/ssh_config' }), call()],
    ['tty, no sharing', host(), call({ tty: true, control: 'none' })],
    ['tiny timeout', host(), call({ connectTimeoutSeconds: 0.2 })],
  ];

  it('always runs in batch mode and never touches host key checking', () => {
    for (const [what, h, c] of variants) {
      const argv = sshArgv(h, c);
      expect(argv[0], what).toBe('ssh');
      expect(options(argv).get('BatchMode'), what).toEqual(['yes']);
      expect(
        argv.some((arg) => /StrictHostKeyChecking|UserKnownHostsFile|GlobalKnownHostsFile/i.test(arg)),
        what,
      ).toBe(false);
    }
  });

  it('puts the destination right after `--`, then the quoted remote command as one last word', () => {
    for (const [what, h, c] of variants) {
      const argv = sshArgv(h, c);
      const end = argv.indexOf('--');
      expect(end, what).toBeGreaterThan(0);
      expect(argv.slice(end + 1), what).toEqual([h.ssh, c.remote.map(shellQuote).join(' ')]);
      expect(argv.indexOf('--', end + 1), what).toBe(-1);
    }
  });

  it('uses -F only when the host has an ssh_config', () => {
    expect(sshArgv(host(), call())).not.toContain('-F');
    const argv = sshArgv(host({ sshConfig: '/c/ssh_config' }), call());
    expect(argv.slice(argv.indexOf('-F'), argv.indexOf('-F') + 2)).toEqual(['-F', '/c/ssh_config']);
    expect(argv.indexOf('-F')).toBe(1); // before any -o, so the config is read first
  });

  it('shares a master at the control path, or none at all when control is none', () => {
    const shared = options(sshArgv(host(), call({ control: '/run/cm-abc' })));
    expect(shared.get('ControlMaster')).toEqual(['auto']);
    expect(shared.get('ControlPath')).toEqual(['/run/cm-abc']);
    expect(shared.get('ControlPersist')).toHaveLength(1);
    const none = options(sshArgv(host(), call({ control: 'none' })));
    expect(none.get('ControlMaster')).toEqual(['no']);
    expect(none.get('ControlPath')).toEqual(['none']);
    expect(none.has('ControlPersist')).toBe(false);
  });

  it('passes port, identity (with IdentitiesOnly), terminal choice and a whole-second connect timeout', () => {
    const argv = sshArgv(host({ port: 2222, identityFile: '/k/id' }), call({ connectTimeoutSeconds: 0.2 }));
    expect(argv.slice(argv.indexOf('-p'), argv.indexOf('-p') + 2)).toEqual(['-p', '2222']);
    expect(argv.slice(argv.indexOf('-i'), argv.indexOf('-i') + 2)).toEqual(['-i', '/k/id']);
    expect(options(argv).get('IdentitiesOnly')).toEqual(['yes']);
    expect(options(argv).get('ConnectTimeout')).toEqual(['1']);
    expect(argv).toContain('-T');
    expect(argv).not.toContain('-t');
    expect(sshArgv(host(), call({ tty: true }))).toContain('-t');
    expect(sshArgv(host(), call())).not.toContain('-p');
    expect(sshArgv(host(), call())).not.toContain('-i');
    expect(options(sshArgv(host(), call({ connectTimeoutSeconds: 7.4 }))).get('ConnectTimeout')).toEqual(['7']);
  });
});

describe('controlDirectory and controlPath', () => {
  it('lives under XDG_RUNTIME_DIR when set, else a per-uid directory in the temp dir', () => {
    expect(controlDirectory({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).toBe('/run/user/1000/mosaic/ssh');
    expect(controlDirectory({}, 1234)).toBe(path.join(os.tmpdir(), 'mosaic-ssh-1234'));
  });

  it('is stable per destination and differs with anything that picks the connection', () => {
    const dir = '/run/user/1000/mosaic/ssh';
    const base = controlPath(dir, host());
    expect(base).toMatch(/^\/run\/user\/1000\/mosaic\/ssh\/cm-[0-9a-f]{20}$/);
    expect(controlPath(dir, host())).toBe(base);
    // The roster name, mosaic command and timeout do not pick the connection: same master.
    expect(controlPath(dir, host({ name: 'other', mosaic: ['node', 'x'], timeoutSeconds: 3 }))).toBe(base);
    const others = [
      controlPath(dir, host({ ssh: 'u@near.example' })),
      controlPath(dir, host({ port: 22 })),
      controlPath(dir, host({ port: 2222 })),
      controlPath(dir, host({ identityFile: '/k/a' })),
      controlPath(dir, host({ identityFile: '/k/b' })),
      controlPath(dir, host({ sshConfig: '/c/a' })),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  it('is none when the socket path would exceed 100 characters', () => {
    // <dir>/cm-<20 hex>: the file name adds 24 characters.
    const fits = `/${'d'.repeat(75)}`;
    expect(controlPath(fits, host())).toHaveLength(100);
    expect(controlPath(`/${'d'.repeat(76)}`, host())).toBe('none');
    expect(controlPath(`/${'d'.repeat(300)}`, host())).toBe('none');
  });
});

describe('probeMaster', () => {
  /** A master that greets (as OpenSSH's mux hello does), or one that accepts and stays silent (frozen). */
  const listen = (socket: string, greet = true): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer((connection) => {
        if (greet) connection.end(Buffer.from('000000080000000100000004', 'hex'));
      });
      server.once('error', reject);
      server.listen(socket, () => resolve(server));
      servers.push(server);
    });

  it('is alive when the master greets, and leaves it alone', async () => {
    const socket = path.join(tempDir(), 'cm-live');
    await listen(socket);
    expect(await probeMaster(socket)).toBe('alive');
    expect(existsSync(socket)).toBe(true);
    expect(await probeMaster(socket)).toBe('alive');
  });

  it('is hung when the master accepts but never greets (a stopped ssh), and leaves the socket', async () => {
    const socket = path.join(tempDir(), 'cm-frozen');
    await listen(socket, false);
    expect(await probeMaster(socket, 100)).toBe('hung');
    expect(existsSync(socket)).toBe(true);
  });

  it('is stale when the socket file outlived its server, and removes it', async () => {
    const socket = path.join(tempDir(), 'cm-dead');
    // A server that dies without closing (like a killed ssh master): its socket file stays.
    const died = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(died.signal).toBe('SIGKILL');
    expect(existsSync(socket)).toBe(true);
    expect(await probeMaster(socket)).toBe('stale');
    expect(existsSync(socket)).toBe(false);
    expect(await probeMaster(socket)).toBe('absent');
  });

  it('is stale when a regular file sits at the path, and removes it', async () => {
    const socket = path.join(tempDir(), 'cm-file');
    writeFileSync(socket, 'not a socket');
    expect(await probeMaster(socket)).toBe('stale');
    expect(existsSync(socket)).toBe(false);
  });

  it('is absent when there is no file, or sharing is off', async () => {
    const dir = tempDir();
    expect(await probeMaster(path.join(dir, 'cm-none'))).toBe('absent');
    expect(await probeMaster(path.join(dir, 'missing-dir', 'cm-none'))).toBe('absent');
    expect(await probeMaster('none')).toBe('absent');
  });
});
