import { UserError } from '../core/errors.js';
import { oneLine } from '../core/text.js';
import { packageVersion } from '../system/package.js';
import type { ForgeTarget } from './target.js';
import type { ForgeToken } from './token.js';

/*
 * The HTTP side of the forge helpers: Node's fetch, JSON in and out, one auth header
 * (GitHub: "Bearer <token>", Gitea: "token <token>"). Redirects are followed only for reads and
 * only on the same origin, so the token never travels to another host. Every error is one line
 * that names the host and never contains the token.
 */

/** An HTTP or network failure talking to the forge. `transient`: worth another try while polling. */
export class ForgeRequestError extends UserError {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export interface ForgeClientOptions {
  fetch?: typeof fetch;
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 3;

export class ForgeClient {
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(
    readonly target: ForgeTarget,
    private readonly token: ForgeToken,
    options: ForgeClientOptions = {},
  ) {
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get host(): string {
    return this.target.api.host;
  }

  /** `/repos/<owner>/<repo>/<rest>`, each segment percent-encoded. */
  repoPath(...rest: (string | number)[]): string {
    const { owner, name } = this.target.repo;
    return ['', 'repos', owner, name, ...rest.map(String)].map((s) => encodeURIComponent(s)).join('/');
  }

  async get<T>(path: string, query: Record<string, string | number> = {}): Promise<T> {
    return (await this.request<T>('GET', path, query, undefined)).data;
  }

  /** A GET whose 404 means "not there" (an endpoint an older forge lacks): undefined. */
  async getIfFound<T>(path: string, query: Record<string, string | number> = {}): Promise<T | undefined> {
    try {
      return await this.get<T>(path, query);
    } catch (error) {
      if (error instanceof ForgeRequestError && error.status === 404) return undefined;
      throw error;
    }
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return (await this.request<T>('POST', path, {}, JSON.stringify(body))).data;
  }

  private url(path: string, query: Record<string, string | number>): URL {
    const url = new URL(this.target.api.href);
    url.pathname = `${this.target.api.pathname.replace(/\/+$/, '')}${path}`;
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
    return url;
  }

  private headers(hasBody: boolean): Record<string, string> {
    const github = this.target.kind === 'github';
    return {
      authorization: `${github ? 'Bearer' : 'token'} ${this.token.value}`,
      accept: github ? 'application/vnd.github+json' : 'application/json',
      'user-agent': `mosaic/${packageVersion()}`,
      ...(github ? { 'x-github-api-version': '2022-11-28' } : {}),
      ...(hasBody ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    };
  }

  /** Replace the token wherever it appears (a server that echoes it back, say). */
  private mask(text: string): string {
    return this.token.value.length >= 4 ? text.split(this.token.value).join('[token]') : text;
  }

  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string | number>,
    body: string | undefined,
  ): Promise<{ status: number; data: T }> {
    let url = this.url(path, query);
    const what = `${method} ${path}`;
    for (let redirects = 0; ; redirects++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method,
          headers: this.headers(body !== undefined),
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        const cause = error as Error & { cause?: { code?: string; message?: string } };
        const reason =
          cause.name === 'TimeoutError'
            ? `no answer within ${Math.round(this.timeoutMs / 1000)}s`
            : (cause.cause?.code ?? cause.cause?.message ?? cause.message);
        throw new ForgeRequestError(`could not reach ${this.host} (${what}): ${this.mask(oneLine(reason))}`, undefined, true);
      }
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get('location');
        await response.body?.cancel();
        const next = location ? new URL(location, url) : undefined;
        if (method === 'GET' && next && next.origin === url.origin && redirects < MAX_REDIRECTS) {
          url = next;
          continue;
        }
        throw new ForgeRequestError(
          `${this.host} redirected ${what} to ${next ? next.host : 'nowhere'} (HTTP ${response.status}); not following it with the token: give --api the final API root`,
          response.status,
          false,
        );
      }
      const text = await response.text();
      if (!response.ok) throw this.failure(response, what, text);
      if (text.trim() === '') return { status: response.status, data: undefined as T };
      try {
        return { status: response.status, data: JSON.parse(text) as T };
      } catch {
        throw new ForgeRequestError(
          `${this.host} answered ${what} with something that is not JSON (HTTP ${response.status}): is --api the API root (GitHub: the root that serves /repos; Gitea: …/api/v1)?`,
          response.status,
          false,
        );
      }
    }
  }

  private failure(response: Response, what: string, text: string): ForgeRequestError {
    const status = response.status;
    let message = '';
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not JSON: the status says enough
    }
    const detail = message ? `: ${this.mask(oneLine(message)).slice(0, 200)}` : '';
    const repo = `${this.target.repo.owner}/${this.target.repo.name}`;
    if (status === 401) {
      return new ForgeRequestError(
        `${this.host} rejected the ${this.target.kind} token from ${this.token.source} (HTTP 401${detail}): check that it is valid, not expired, and for this host`,
        status,
        false,
      );
    }
    if (status === 429 || (status === 403 && response.headers.get('x-ratelimit-remaining') === '0')) {
      return new ForgeRequestError(`${this.host} is rate limiting (HTTP ${status}${detail})`, status, true);
    }
    if (status === 403) {
      return new ForgeRequestError(
        `${this.host} refused ${what} with the token from ${this.token.source} (HTTP 403${detail}): the token lacks a permission for ${repo}`,
        status,
        false,
      );
    }
    if (status === 404) {
      return new ForgeRequestError(
        `${this.host}: ${what} not found (HTTP 404${detail}): check --repo ${repo}, --api ${this.target.api.href}, and that the token can see the repository`,
        status,
        false,
      );
    }
    return new ForgeRequestError(`${this.host} answered ${what} with HTTP ${status}${detail}`, status, status >= 500);
  }
}
