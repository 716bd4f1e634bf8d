import { UserError } from '../core/errors.js';
import { ForgeRequestError, type ForgeClient } from './client.js';
import { formatDuration } from './duration.js';

/*
 * `forge ci wait`: poll a commit's combined commit statuses AND its check runs until they settle.
 *
 * Upstream decided "no CI" from the combined state being empty, which GitHub (and Gitea since
 * 2025) never report: with zero statuses they say "pending", so a CI-less repository waited out
 * the whole timeout. Here "no CI" is decided on counts: zero statuses and zero check runs
 * (Gitea without a check-runs endpoint: 404 = zero) for a grace period from the start (or from
 * the moment a pull request's head moved). Once anything was reported, an empty answer is
 * "pending", never "no CI". GitHub Actions reports through check runs, so they are always merged in.
 */

export type ItemState = 'success' | 'failure' | 'pending';

export interface CiItem {
  kind: 'status' | 'check';
  /** The status context or the check run's name. */
  name: string;
  state: ItemState;
  /** What the forge said: a status state (success, failure, error, pending, warning…) or a check run's status/conclusion. */
  raw: string;
  url?: string;
}

export interface CiSnapshot {
  sha: string;
  items: CiItem[];
}

export type CiResult = 'success' | 'failure' | 'no-ci' | 'timeout';
export const CI_EXIT: Record<CiResult, number> = { success: 0, failure: 1, 'no-ci': 3, timeout: 124 };

interface RawStatus {
  context?: unknown;
  state?: unknown;
  /** Gitea names a single status's state "status". */
  status?: unknown;
  target_url?: unknown;
}

interface RawCheckRun {
  name?: unknown;
  status?: unknown;
  conclusion?: unknown;
  details_url?: unknown;
  html_url?: unknown;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const withUrl = (item: CiItem, url: unknown): CiItem => (typeof url === 'string' && url ? { ...item, url } : item);

export function statusItem(raw: RawStatus): CiItem {
  const state = (text(raw.state) || text(raw.status)).toLowerCase();
  const mapped: ItemState =
    state === 'success' || state === 'warning' || state === 'skipped'
      ? 'success'
      : state === 'failure' || state === 'error'
        ? 'failure'
        : 'pending';
  return withUrl({ kind: 'status', name: text(raw.context) || '(no context)', state: mapped, raw: state || 'unknown' }, raw.target_url);
}

const PASSING_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);

export function checkItem(raw: RawCheckRun): CiItem {
  const status = text(raw.status).toLowerCase();
  const conclusion = text(raw.conclusion).toLowerCase();
  const name = text(raw.name) || '(unnamed check)';
  const item: CiItem =
    status !== 'completed' || !conclusion
      ? { kind: 'check', name, state: 'pending', raw: status || 'unknown' }
      : { kind: 'check', name, state: PASSING_CONCLUSIONS.has(conclusion) ? 'success' : 'failure', raw: conclusion };
  return withUrl(item, raw.details_url ?? raw.html_url);
}

export type Verdict = 'success' | 'failure' | 'pending' | 'none';

export function verdictOf(items: readonly CiItem[]): Verdict {
  if (items.length === 0) return 'none';
  if (items.some((i) => i.state === 'failure')) return 'failure';
  if (items.some((i) => i.state === 'pending')) return 'pending';
  return 'success';
}

const MAX_PAGES = 20;

/** Every status of the combined status (latest per context), all pages. */
async function readStatuses(client: ForgeClient, sha: string): Promise<CiItem[]> {
  const items: CiItem[] = [];
  const seen = new Set<string>();
  const github = client.target.kind === 'github';
  for (let page = 1; page <= MAX_PAGES; page++) {
    const answer = await client.get<{ statuses?: RawStatus[] | null; total_count?: unknown }>(
      client.repoPath('commits', sha, 'status'),
      github ? { per_page: 100, page } : { limit: 50, page },
    );
    const statuses = Array.isArray(answer?.statuses) ? answer.statuses : [];
    for (const raw of statuses) {
      const item = statusItem(raw);
      if (seen.has(item.name)) continue;
      seen.add(item.name);
      items.push(item);
    }
    const total = typeof answer?.total_count === 'number' ? answer.total_count : 0;
    if (statuses.length === 0 || items.length >= total) break;
  }
  return items;
}

/** Every check run (latest per name), all pages; a forge without the endpoint (older Gitea: 404) has none. */
async function readCheckRuns(client: ForgeClient, sha: string): Promise<CiItem[]> {
  const items: CiItem[] = [];
  let count = 0;
  for (let page = 1; page <= MAX_PAGES; page++) {
    const query = { per_page: 100, page, filter: 'latest' };
    const path = client.repoPath('commits', sha, 'check-runs');
    const answer =
      client.target.kind === 'gitea'
        ? await client.getIfFound<{ check_runs?: RawCheckRun[]; total_count?: unknown }>(path, query)
        : await client.get<{ check_runs?: RawCheckRun[]; total_count?: unknown }>(path, query);
    const runs = Array.isArray(answer?.check_runs) ? answer.check_runs : [];
    count += runs.length;
    items.push(...runs.map(checkItem));
    const total = typeof answer?.total_count === 'number' ? answer.total_count : 0;
    if (runs.length === 0 || count >= total) break;
  }
  return items;
}

export async function readSnapshot(client: ForgeClient, sha: string): Promise<CiSnapshot> {
  // One after the other: the statuses answer first, then the check runs of the same moment.
  const statuses = await readStatuses(client, sha);
  const checks = await readCheckRuns(client, sha);
  return { sha, items: [...statuses, ...checks] };
}

/** The head commit of pull request `number`. */
export async function pullHead(client: ForgeClient, number: number): Promise<string> {
  const pull = await client.get<{ head?: { sha?: unknown } }>(client.repoPath('pulls', number));
  const sha = pull?.head?.sha;
  if (typeof sha !== 'string' || !/^[0-9a-f]{7,64}$/i.test(sha)) {
    throw new UserError(`${client.host}: pull request #${number} has no head commit in its answer`);
  }
  return sha;
}

/** The least time between polls: each poll is two requests or more to the forge's API. */
export const MIN_POLL_INTERVAL_MS = 1000;

/**
 * The least `--interval`: MIN_POLL_INTERVAL_MS, or less when MOSAIC_FORGE_MIN_INTERVAL_MS (whole
 * milliseconds) says so. That variable is for the test suite, whose fake forge on loopback answers
 * in microseconds; it can only lower the minimum, never raise it.
 */
export function minPollIntervalMs(env: NodeJS.ProcessEnv): number {
  const value = env.MOSAIC_FORGE_MIN_INTERVAL_MS;
  return value !== undefined && /^[0-9]{1,9}$/.test(value) ? Math.min(MIN_POLL_INTERVAL_MS, Number(value)) : MIN_POLL_INTERVAL_MS;
}

export interface WaitOptions {
  intervalMs: number;
  timeoutMs: number;
  /** With zero statuses and zero check runs this long, decide "no CI". Clamped to the timeout. */
  graceMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** After every poll: for a progress line. */
  onPoll?: (progress: CiProgress) => void;
}

export interface CiProgress {
  sha: string | undefined;
  elapsedMs: number;
  polls: number;
  verdict: Verdict | 'error';
  items: readonly CiItem[];
  error?: string;
}

export interface CiWaitReport {
  result: CiResult;
  exit_code: number;
  sha: string | undefined;
  reason: string;
  polls: number;
  elapsed_ms: number;
  checks: CiItem[];
  failing: string[];
  pending: string[];
}

const label = (item: CiItem): string => `${item.name} (${item.raw})`;

/** Poll `observe` until the commit's CI is green, red, absent or out of time. Transient forge errors are retried. */
export async function waitForCi(observe: () => Promise<CiSnapshot>, options: WaitOptions): Promise<CiWaitReport> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  const graceMs = Math.min(options.graceMs, options.timeoutMs);
  let graceFrom = started;
  let sha: string | undefined;
  let seenAny = false;
  let items: CiItem[] = [];
  let lastError: string | undefined;
  let polls = 0;
  const report = (result: CiResult, reason: string): CiWaitReport => ({
    result,
    exit_code: CI_EXIT[result],
    sha,
    reason,
    polls,
    elapsed_ms: Math.round(now() - started),
    checks: items,
    failing: items.filter((i) => i.state === 'failure').map((i) => i.name),
    pending: items.filter((i) => i.state === 'pending').map((i) => i.name),
  });
  for (;;) {
    polls++;
    let verdict: Verdict | 'error';
    try {
      const snapshot = await observe();
      if (snapshot.sha !== sha) {
        // A new head (a push to the pull request): its CI starts from nothing.
        if (sha !== undefined) graceFrom = now();
        sha = snapshot.sha;
        seenAny = false;
      }
      items = snapshot.items;
      lastError = undefined;
      verdict = verdictOf(items);
    } catch (error) {
      if (!(error instanceof ForgeRequestError && error.transient)) throw error;
      lastError = error.message;
      verdict = 'error';
    }
    const elapsed = now() - started;
    options.onPoll?.({ sha, elapsedMs: elapsed, polls, verdict, items, ...(lastError ? { error: lastError } : {}) });
    if (verdict === 'failure') {
      return report(
        'failure',
        `failed: ${items
          .filter((i) => i.state === 'failure')
          .map(label)
          .join(', ')}`,
      );
    }
    if (verdict === 'success') return report('success', `all ${items.length} passed`);
    if (verdict === 'none' && !seenAny && now() - graceFrom >= graceMs) {
      return report('no-ci', `no commit status and no check run reported within ${formatDuration(graceMs)}: no CI configured`);
    }
    if (verdict === 'pending') seenAny = true;
    if (elapsed >= options.timeoutMs) {
      const pending = items.filter((i) => i.state === 'pending').map(label);
      const why = lastError ? `last error: ${lastError}` : pending.length > 0 ? `pending: ${pending.join(', ')}` : 'nothing reported';
      return report('timeout', `timed out after ${formatDuration(options.timeoutMs)}; ${why}`);
    }
    const untilDeadline = options.timeoutMs - elapsed;
    const untilGrace = verdict === 'none' && !seenAny ? graceMs - (now() - graceFrom) : Infinity;
    await sleep(Math.max(1, Math.min(options.intervalMs, untilDeadline, untilGrace)));
  }
}
