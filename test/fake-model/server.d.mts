// Types for server.mjs, so TypeScript tests import the fake model with checked options and results.

/** Which request dialect an entry came in as (absent for 404/405/400/413/429 entries). */
export type FakeApi = 'chat' | 'responses' | 'messages' | 'count_tokens' | 'models' | 'root';

/** What the server answered: plain text, a tool call, a title for a side request, or the reply after a tool result. */
export type FakeReplyKind = 'text' | 'tool_call' | 'title' | 'tool_done';

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
