import { describe, expect, it } from 'vitest';
import { UsageError, UserError } from '../core/errors.js';
import type { CommandRunner } from '../system/runner.js';
import { parseApiUrl, parseRemoteUrl, parseRepo, resolveTarget } from './target.js';

describe('parseRemoteUrl', () => {
  it.each([
    ['https://github.com/acme/widgets.git', 'github.com', 'https://github.com', 'acme', 'widgets'],
    ['https://github.com/acme/widgets', 'github.com', 'https://github.com', 'acme', 'widgets'],
    ['https://user:secret@Git.Example.com:3000/acme/widgets.git/', 'git.example.com', 'https://git.example.com:3000', 'acme', 'widgets'],
    ['https://git.example.com/gitea/acme/widgets.git', 'git.example.com', 'https://git.example.com/gitea', 'acme', 'widgets'],
    ['git@git.example.com:acme/widgets.git', 'git.example.com', 'https://git.example.com', 'acme', 'widgets'],
    ['git.example.com:acme/widgets', 'git.example.com', 'https://git.example.com', 'acme', 'widgets'],
    ['ssh://git@git.example.com:2222/acme/widgets.git', 'git.example.com', 'https://git.example.com', 'acme', 'widgets'],
    ['git://git.example.com/acme/widgets.git', 'git.example.com', 'https://git.example.com', 'acme', 'widgets'],
  ])('%s', (url, host, web, owner, name) => {
    expect(parseRemoteUrl(url)).toMatchObject({ host, web, repo: { owner, name } });
  });

  it('never keeps credentials from the URL', () => {
    expect(JSON.stringify(parseRemoteUrl('https://user:s3cr3t-value@git.example.com/acme/widgets.git'))).not.toContain('s3cr3t');
  });

  it.each(['/srv/git/widgets.git', './widgets', 'file:///srv/git/acme/widgets.git', 'https://git.example.com/widgets.git'])(
    'refuses %s',
    (url) => {
      expect(() => parseRemoteUrl(url)).toThrow(UserError);
    },
  );
});

describe('parseRepo and parseApiUrl', () => {
  it('owner/repo only', () => {
    expect(parseRepo('acme/widgets')).toEqual({ owner: 'acme', name: 'widgets' });
    for (const bad of ['acme', 'acme/widgets/x', '../x', 'acme/..', 'a b/c']) expect(() => parseRepo(bad)).toThrow(UsageError);
  });

  it('https anywhere, http only to loopback unless allowed, never credentials', () => {
    expect(parseApiUrl('https://git.example.com/api/v1/', {}).href).toBe('https://git.example.com/api/v1');
    expect(parseApiUrl('http://127.0.0.1:3000', {}).host).toBe('127.0.0.1:3000');
    expect(() => parseApiUrl('http://git.example.com/api/v1', {})).toThrow(/plain http/);
    expect(parseApiUrl('http://git.lan/api/v1', { MOSAIC_FORGE_ALLOW_HTTP: '1' }).host).toBe('git.lan');
    expect(() => parseApiUrl('https://u:p@git.example.com/api/v1', {})).toThrow(/credentials/);
    expect(() => parseApiUrl('ftp://git.example.com', {})).toThrow(UsageError);
  });
});

describe('resolveTarget', () => {
  const runnerFor =
    (origin: string | undefined): CommandRunner =>
    async (argv) => ({
      argv,
      status: origin === undefined ? 2 : 0,
      signal: null,
      stdout: origin === undefined ? '' : `${origin}\n`,
      stderr: '',
      durationMs: 1,
    });
  const deps = (origin: string | undefined) => ({ runner: runnerFor(origin), env: {}, cwd: '/repo' });

  it('github.com → GitHub at api.github.com; any other host → Gitea at /api/v1', async () => {
    const gh = await resolveTarget({}, deps('git@github.com:acme/widgets.git'));
    expect([gh.kind, gh.api.href, gh.repo]).toEqual(['github', 'https://api.github.com/', { owner: 'acme', name: 'widgets' }]);
    const gt = await resolveTarget({}, deps('https://git.example.com:3000/acme/widgets.git'));
    expect([gt.kind, gt.api.href]).toEqual(['gitea', 'https://git.example.com:3000/api/v1']);
  });

  it('--forge, --api and --repo win; with all three git is not asked', async () => {
    const t = await resolveTarget({ forge: 'github', api: 'https://ghe.example.com/api/v3', repo: 'o/r' }, deps(undefined));
    expect([t.kind, t.api.href, t.repo.owner]).toEqual(['github', 'https://ghe.example.com/api/v3', 'o']);
    const inferred = await resolveTarget({ api: 'https://git.example.com/api/v1', repo: 'o/r' }, deps(undefined));
    expect(inferred.kind).toBe('gitea');
  });

  it('no origin and not enough options: a usage error', async () => {
    await expect(resolveTarget({ repo: 'o/r' }, deps(undefined))).rejects.toThrow(/no origin remote/);
    await expect(resolveTarget({ forge: 'gitlab', repo: 'o/r' }, deps(undefined))).rejects.toThrow(UsageError);
  });
});
