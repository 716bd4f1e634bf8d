// Types for server.mjs, so TypeScript tests import the fake model with checked options and results.

/** Which request dialect an entry came in as (absent for 404/405/400/413 entries and the 429 of maxConcurrent; present on a rule's limit). */
export type FakeApi = 'chat' | 'responses' | 'messages' | 'count_tokens' | 'models' | 'root';

/** What the server answered: plain text, a tool call, a title for a side request, the reply after a tool result, or a 429 limit. */
export type FakeReplyKind = 'text' | 'tool_call' | 'title' | 'tool_done' | 'limit';

export interface FakeToolCall {
  /** Tool names to pick from the request's declared tools; the first one declared wins (case-insensitive). */
  prefer?: string[];
  /** Arguments exactly as given. Without them, `command` is shaped for the chosen tool's schema. */
  arguments?: Record<string, unknown>;
  /** A shell command, written as `{command: "…"}`, `{cmd: "…"}` or `{command: ["bash", "-lc", "…"]}` per the tool's schema. */
  command?: string;
  /** Ask for sandbox escalation where the tool offers it (codex: what makes a safe agent prompt). Default true. */
  escalate?: boolean;
}

/**
 * Answer with HTTP 429 the way the wire's provider does. Anthropic Messages: `{"type":"error","error":
 * {"type":"rate_limit_error",…}}` with `retry-after`, `anthropic-ratelimit-requests-reset`/`-tokens-reset`
 * (ISO) and, for `usage_limit`, `anthropic-ratelimit-unified-status: rejected` + `-unified-reset` (unix s).
 * OpenAI chat/Responses: `{"error":{"type":"rate_limit_exceeded"|"usage_limit_reached",…}}` (a usage limit
 * adds `resets_at` (unix s) and `resets_in_seconds`, and `x-codex-primary-*` headers) with `retry-after`,
 * `retry-after-ms` and `x-ratelimit-reset-requests`/`-tokens` (`1h0m0s`).
 */
export interface FakeLimit {
  /** `rate_limit` (default): a provider rate limit. `usage_limit`: a subscription's usage limit (codex's `usage_limit_reached`). */
  kind?: 'rate_limit' | 'usage_limit';
  /** The reset time, counted from each limited request (default 3600). */
  resetsInSeconds?: number;
  /** A fixed reset time instead (a Date, or ms since the epoch). */
  resetsAt?: Date | number;
  /**
   * `retry-after` in seconds (default: until the reset). Claude retries a 429 up to 10 times waiting at
   * least this long, and gives up at once when it is over 60; a small value makes retries fast.
   */
  retryAfterSeconds?: number;
  /** Limit only this many requests, then the rule is skipped (the next rules and the default answer). Default: every match. */
  times?: number;
  /** The error message (default: the provider's usual wording, with the wait in it for rate limits). */
  message?: string;
  /** OpenAI usage limits: `plan_type` in the body (codex words its message by plan). Default: none. */
  planType?: string;
}

/**
 * Usage reported on this rule's successful replies, as the providers report it in headers: Anthropic's
 * subscription headers (`anthropic-ratelimit-unified-5h-utilization` 0..1, `-5h-reset` unix s; `7d` for
 * `seven_day`), which claude shows to a subscriber's status line as `rate_limits`; OpenAI: codex's
 * `x-codex-primary-used-percent`/`-window-minutes`/`-reset-at` (`secondary` for `seven_day`).
 */
export interface FakeUsage {
  usedPercent: number;
  /** Counted from each reply (default 3600). */
  resetsInSeconds?: number;
  resetsAt?: Date | number;
  /** Default `five_hour`. */
  window?: 'five_hour' | 'seven_day';
}

export interface FakeRule {
  /** Tested against the last user text: a RegExp, or a case-insensitive substring. */
  match: RegExp | string;
  /** Name recorded in the log as `rule` (default `rule:<index>`). */
  name?: string;
  /** Reply text (default `FAKE-OK: <last user text>`). */
  reply?: string;
  /** Wait before the first byte. */
  delayMs?: number;
  /** Spread the stream's deltas over this long (non-stream replies wait this long). */
  streamMs?: number;
  /** Hold the reply (before its first byte) until this settles: a deterministic "busy" for tests. close() releases it. */
  holdUntil?: Promise<unknown>;
  /** Answer with a tool call in the API's native format instead of text. */
  toolCall?: FakeToolCall;
  /** Answer with a 429 usage/rate limit instead (logged with status 429, `reply: 'limit'`). */
  limit?: FakeLimit;
  /** Report this usage in the reply's headers. */
  usage?: FakeUsage;
}

export interface FakeModelOptions {
  /** Port on 127.0.0.1 (default 0: any free port). The server never binds another address. */
  port?: number;
  /** Larger bodies get 413 (default 8 MiB). */
  maxBodyBytes?: number;
  /** Model replies in flight at once; more get 429 (default 32). */
  maxConcurrent?: number;
  /** Entries kept in `requests` (default 1000, oldest dropped first). */
  maxLogEntries?: number;
  /** Also append every entry to this file as one JSON line. */
  logFile?: string;
  /** Put the parsed request body in each model entry (default false). */
  logBodies?: boolean;
  /** Checked before the built-in rules, in order; the first match wins. */
  rules?: FakeRule[];
  /** The built-in rules: text containing "slow" streams over `slowMs`, "permission" asks for a shell tool call (default true). */
  builtinRules?: boolean;
  /** How long the built-in "slow" rule streams (default 8000 ms). */
  slowMs?: number;
  /** Title given to title side requests (default "Fake title"; sent as JSON when the request asks for JSON). */
  titleReply?: string;
  /** Ids listed by GET /v1/models; the first is also the model named in replies to requests without one. */
  models?: string[];
}

export interface FakeRequestEntry {
  /** ISO time the request was dispatched. */
  ts: string;
  method: string;
  /** Path without the query string; the query (e.g. `?beta=true`) is in `query`. */
  path: string;
  query: string;
  status: number;
  model: string;
  stream: boolean;
  /** The last user text (system reminders removed, capped at 2000 chars). */
  lastUserText: string;
  isTitle: boolean;
  /** Tool names the request declared (`local_shell` for codex's built-in shell). */
  toolNames: string[];
  api?: FakeApi;
  /** Which rule decided the reply: `default`, `title`, `tool_done`, `slow`, `permission` or a caller rule's name. */
  rule?: string;
  reply?: FakeReplyKind;
  toolCall?: { name: string; arguments: Record<string, unknown> };
  /** A limit answer: its kind and reset time (ISO). */
  limit?: { kind: 'rate_limit' | 'usage_limit'; resetsAt: string };
  /** Only with `logBodies`. */
  body?: unknown;
}

export interface FakeModel {
  /** `http://127.0.0.1:PORT`, without `/v1` (Anthropic clients append `/v1/messages`; OpenAI ones need `${url}/v1`). */
  url: string;
  port: number;
  host: '127.0.0.1';
  /** The in-memory request log, oldest first, capped at `maxLogEntries`. */
  requests: FakeRequestEntry[];
  /** The caller rules in force; push or splice to change the script while the server runs. */
  rules: FakeRule[];
  /** Resolves with the first logged entry (already logged or future) that matches; rejects after `timeoutMs` (default 15000). */
  waitForRequest(predicate: (entry: FakeRequestEntry) => boolean, timeoutMs?: number): Promise<FakeRequestEntry>;
  /** Ends open streams, closes every connection, and resolves once the port is released. Idempotent. */
  close(): Promise<void>;
}

export declare const SHELL_TOOLS: readonly string[];
export declare const PERMISSION_COMMAND: string;

export function startFakeModel(options?: FakeModelOptions): Promise<FakeModel>;
