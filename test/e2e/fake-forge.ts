import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A fake forge on 127.0.0.1: the GitHub REST subset the forge helpers use at the root
 * (/repos/…), and the Gitea v1 subset under /api/v1. It records every request (method, path,
 * query, headers, raw body bytes) and answers CI reads from a per-commit script of steps: the
 * n-th read of a commit's combined status serves step n (the last step repeats), and the check
 * runs read after it serve the same step.
 */

export type Flavor = 'github' | 'gitea';

export interface RecordedRequest {
  flavor: Flavor;
  method: string;
  /** Without the /api/v1 prefix and the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeStatus {
  context: string;
  state: 'pending' | 'success' | 'failure' | 'error' | 'warning';
}

export interface FakeCheckRun {
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out';
}

export interface CiStep {
  statuses?: FakeStatus[];
  checkRuns?: FakeCheckRun[];
}

export interface FakeForge {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The GitHub API root (the server root). */
  githubApi: string;
  /** The Gitea API root (…/api/v1). */
  giteaApi: string;
  /** The one token the server accepts ("Bearer" for GitHub paths, "token" for Gitea paths). */
  token: string;
  requests: RecordedRequest[];
  /** Script a commit's CI: one step per combined-status read, the last repeating. */
  setCi(sha: string, steps: CiStep[]): void;
  /** A pull request's head commit, one per read, the last repeating. */
  setPull(number: number, heads: string[]): void;
  /** Gitea: serve check runs instead of 404 (newer Gitea has none; off by default). */
  giteaCheckRuns: boolean;
  /** Gitea's combined state with zero statuses: "" (before 2025) or "pending" (after). */
  giteaEmptyState: '' | 'pending';
  close(): Promise<void>;
}

const combinedState = (statuses: FakeStatus[], empty: string): string => {
  if (statuses.length === 0) return empty;
  if (statuses.some((s) => s.state === 'failure' || s.state === 'error')) return 'failure';
  if (statuses.some((s) => s.state === 'pending')) return 'pending';
  return 'success';
};

export async function startFakeForge(options: { token?: string; repos?: string[] } = {}): Promise<FakeForge> {
  const repos = new Set(options.repos ?? ['acme/widgets']);
  const ci = new Map<string, { steps: CiStep[]; reads: number }>();
  const pulls = new Map<number, { heads: string[]; reads: number }>();
  let nextIssue = 1;
  let nextComment = 1000;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const flavor: Flavor = url.pathname.startsWith('/api/v1/') ? 'gitea' : 'github';
      const path = flavor === 'gitea' ? url.pathname.slice('/api/v1'.length) : url.pathname;
      const body = Buffer.concat(chunks);
      forge.requests.push({ flavor, method: req.method ?? '', path, query: url.searchParams, headers: req.headers, body });
      const send = (status: number, value: unknown): void => {
        const text = JSON.stringify(value);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const expected = `${flavor === 'github' ? 'Bearer' : 'token'} ${forge.token}`;
      if (req.headers.authorization !== expected) {
        send(401, { message: flavor === 'github' ? 'Bad credentials' : 'user does not exist' });
        return;
      }
      const match = /^\/repos\/([^/]+)\/([^/]+)\/(.*)$/.exec(path);
      if (!match || !repos.has(`${match[1]}/${match[2]}`)) {
        send(404, { message: 'Not Found' });
        return;
      }
      const rest = match[3]!;
      const page = Number(url.searchParams.get('page') ?? '1');
      const perPage = Number(url.searchParams.get(flavor === 'github' ? 'per_page' : 'limit') ?? '30');
      const slice = <T>(items: T[]): T[] => items.slice((page - 1) * perPage, page * perPage);
      const web = `${forge.url}/${match[1]}/${match[2]}`;
      let m: RegExpExecArray | null;
      if (req.method === 'POST' && rest === 'issues') {
        const number = nextIssue++;
        send(201, { number, html_url: `${web}/issues/${number}` });
      } else if (req.method === 'POST' && (m = /^issues\/(\d+)\/comments$/.exec(rest))) {
        const id = nextComment++;
        send(201, { id, html_url: `${web}/issues/${m[1]}#issuecomment-${id}` });
      } else if (req.method === 'GET' && (m = /^pulls\/(\d+)$/.exec(rest))) {
        const pull = pulls.get(Number(m[1]));
        if (!pull) {
          send(404, { message: 'Not Found' });
          return;
        }
        const head = pull.heads[Math.min(pull.reads++, pull.heads.length - 1)]!;
        send(200, { number: Number(m[1]), head: { sha: head } });
      } else if (req.method === 'GET' && (m = /^commits\/([0-9a-f]+)\/status$/.exec(rest))) {
        const script = ci.get(m[1]!);
        if (page === 1 && script) script.reads++;
        const step = script ? script.steps[Math.min(Math.max(script.reads - 1, 0), script.steps.length - 1)]! : {};
        const statuses = step.statuses ?? [];
        const shaped = statuses.map((s) =>
          flavor === 'github' ? { context: s.context, state: s.state } : { context: s.context, status: s.state },
        );
        send(200, {
          sha: m[1],
          state: combinedState(statuses, flavor === 'github' ? 'pending' : forge.giteaEmptyState),
          total_count: statuses.length,
          statuses: slice(shaped),
        });
      } else if (req.method === 'GET' && (m = /^commits\/([0-9a-f]+)\/check-runs$/.exec(rest))) {
        if (flavor === 'gitea' && !forge.giteaCheckRuns) {
          send(404, { message: 'Not Found' });
          return;
        }
        const script = ci.get(m[1]!);
        const step = script ? script.steps[Math.min(Math.max(script.reads - 1, 0), script.steps.length - 1)]! : {};
        const runs = (step.checkRuns ?? []).map((r) => ({ name: r.name, status: r.status, conclusion: r.conclusion ?? null }));
        send(200, { total_count: runs.length, check_runs: slice(runs) });
      } else {
        send(404, { message: 'Not Found' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const forge: FakeForge = {
    url,
    githubApi: url,
    giteaApi: `${url}/api/v1`,
    token: options.token ?? 'fake-forge-token-for-tests',
    requests: [],
    setCi: (sha, steps) => ci.set(sha, { steps, reads: 0 }),
    setPull: (number, heads) => pulls.set(number, { heads, reads: 0 }),
    giteaCheckRuns: false,
    giteaEmptyState: '',
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return forge;
}
