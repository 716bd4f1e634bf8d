import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostKeys, hostMatches, resolveToken } from './token.js';

let dir: string;
let env: NodeJS.ProcessEnv;
const file = (): string => path.join(dir, 'forge-credentials.json');
const writeCredentials = (content: string, mode = 0o600): void => {
  writeFileSync(file(), content);
  chmodSync(file(), mode);
};
const secretish = 'tok-' + 'Q7w8E9r0'.repeat(3);

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-token-'));
  env = { MOSAIC_FLEET_HOME: dir, HOME: dir };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('host matching is exact', () => {
  it('no prefix, suffix or substring matches; case and a trailing dot do not matter', () => {
    expect(hostMatches('git.example.com', 'git.example.com')).toBe(true);
    expect(hostMatches('Git.Example.COM.', 'git.example.com')).toBe(true);
    expect(hostMatches('git.example.com', 'git.example.com.evil.net')).toBe(false);
    expect(hostMatches('git.example.com.evil.net', 'git.example.com')).toBe(false);
    expect(hostMatches('example.com', 'git.example.com')).toBe(false);
    expect(hostMatches('evilgit.example.com', 'git.example.com')).toBe(false);
  });

  it('keys tried: host:port, then host; github.com also serves api.github.com', () => {
    expect(hostKeys(new URL('http://127.0.0.1:3000/api/v1'))).toEqual(['127.0.0.1:3000', '127.0.0.1']);
    expect(hostKeys(new URL('https://api.github.com'))).toEqual(['api.github.com', 'github.com']);
  });
});

describe('resolveToken', () => {
  const gitea = new URL('https://git.example.com/api/v1');

  it('MOSAIC_FORGE_TOKEN, then the forge variable, then the file; blank variables do not count', async () => {
    writeCredentials(JSON.stringify({ hosts: { 'git.example.com': { token: 'from-file' } } }));
    expect(await resolveToken('gitea', gitea, { ...env, MOSAIC_FORGE_TOKEN: 'a', GITEA_TOKEN: 'b' })).toEqual({
      value: 'a',
      source: 'MOSAIC_FORGE_TOKEN',
    });
    expect(await resolveToken('gitea', gitea, { ...env, MOSAIC_FORGE_TOKEN: ' ', GITEA_TOKEN: 'b', GITHUB_TOKEN: 'c' })).toEqual({
      value: 'b',
      source: 'GITEA_TOKEN',
    });
    expect(await resolveToken('gitea', gitea, { ...env, GITHUB_TOKEN: 'c' })).toEqual({
      value: 'from-file',
      source: `${file()} (git.example.com)`,
    });
  });

  it('a look-alike host in the file is not used: the error names the host tried', async () => {
    writeCredentials(JSON.stringify({ hosts: { 'git.example.com.evil.net': { token: 'x' }, 'example.com': { token: 'y' } } }));
    await expect(resolveToken('gitea', gitea, env)).rejects.toThrow(
      `no gitea token for git.example.com: set MOSAIC_FORGE_TOKEN or GITEA_TOKEN, or add "git.example.com" under "hosts" in ${file()} (mode 0600)`,
    );
    await expect(resolveToken('gitea', new URL('https://git.example.com.evil.net/api/v1'), env)).resolves.toMatchObject({ value: 'x' });
  });

  it('refuses a file others can read, and never quotes the file in an error', async () => {
    writeCredentials(JSON.stringify({ hosts: { 'git.example.com': { token: secretish } } }), 0o640);
    await expect(resolveToken('gitea', gitea, env)).rejects.toThrow(/mode 640 lets other users read/);
    writeCredentials(`{"hosts": {"git.example.com": {"token": "${secretish}"`);
    const error = await resolveToken('gitea', gitea, env).catch((e: Error) => e);
    expect(String(error)).toMatch(/is not valid JSON/);
    expect(String(error)).not.toContain(secretish);
    writeCredentials(JSON.stringify({ hosts: { 'git.example.com': { token: 5 } } }));
    await expect(resolveToken('gitea', gitea, env)).rejects.toThrow(/has no "token" string/);
  });
});
