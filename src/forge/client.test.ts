import { describe, expect, it } from 'vitest';
import { ForgeClient, ForgeRequestError } from './client.js';
import type { ForgeTarget } from './target.js';

const target: ForgeTarget = { kind: 'gitea', api: new URL('https://git.example.com/api/v1'), repo: { owner: 'acme', name: 'widgets' } };
const token = { value: 'tok-' + 'A1b2C3d4E5f6', source: 'GITEA_TOKEN' };

/** A fetch that answers from a list and records the URLs and auth headers it was asked. */
function scripted(answers: (() => Response)[]) {
  const asked: { url: string; auth: string | undefined }[] = [];
  const fetchImpl = (async (url: URL, init: RequestInit) => {
    asked.push({ url: String(url), auth: (init.headers as Record<string, string>).authorization });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as unknown as typeof fetch;
  return { asked, client: new ForgeClient(target, token, { fetch: fetchImpl }) };
}
const json =
  (status: number, value: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('ForgeClient', () => {
  it('paths are encoded under the API root; Gitea auth is "token …"', async () => {
    const { asked, client } = scripted([json(200, { ok: true })]);
    expect(await client.get(client.repoPath('commits', 'abc', 'status'), { page: 1 })).toEqual({ ok: true });
    expect(asked).toEqual([
      { url: 'https://git.example.com/api/v1/repos/acme/widgets/commits/abc/status?page=1', auth: `token ${token.value}` },
    ]);
  });

  it('follows a same-origin redirect for a read; never takes the token to another host', async () => {
    const moved = (location: string) => () => new Response(null, { status: 301, headers: { location } });
    const same = scripted([moved('/api/v1/repos/acme/renamed/issues'), json(200, [])]);
    await same.client.get('/repos/acme/widgets/issues');
    expect(same.asked.map((a) => a.url)).toEqual([
      'https://git.example.com/api/v1/repos/acme/widgets/issues',
      'https://git.example.com/api/v1/repos/acme/renamed/issues',
    ]);
    const other = scripted([moved('https://elsewhere.example.net/x')]);
    await expect(other.client.get('/repos/acme/widgets/issues')).rejects.toThrow(
      /redirected GET .* to elsewhere\.example\.net .*not following it/,
    );
    expect(other.asked).toHaveLength(1);
  });

  it('errors are one line, name the host, and mask the token if the server echoes it', async () => {
    const { client } = scripted([json(401, { message: `token ${token.value} is invalid\nsee docs` })]);
    const error = (await client.get('/user').catch((e: unknown) => e)) as ForgeRequestError;
    expect(error).toBeInstanceOf(ForgeRequestError);
    expect(error.message).toBe(
      'git.example.com rejected the gitea token from GITEA_TOKEN (HTTP 401: token [token] is invalid see docs): check that it is valid, not expired, and for this host',
    );
    expect(error.transient).toBe(false);
  });

  it('rate limits and 5xx are transient; HTML instead of JSON says to check --api', async () => {
    const { client } = scripted([
      json(403, { message: 'API rate limit exceeded' }, { 'x-ratelimit-remaining': '0' }),
      json(502, {}),
      () => new Response('<html>', { status: 200 }),
    ]);
    await expect(client.get('/a')).rejects.toMatchObject({ transient: true, status: 403 });
    await expect(client.get('/a')).rejects.toMatchObject({ transient: true, status: 502 });
    await expect(client.get('/a')).rejects.toThrow(/not JSON .*is --api the API root/);
  });
});
