// A usage or rate limit, answered the way each provider family answers it: HTTP 429, the error body its
// SDKs parse, and the reset headers the runtimes read. Anthropic: `retry-after` (claude retries up to
// 10 times, backing off at least that long, and gives up at once when it is over 60 s), the
// `anthropic-ratelimit-*-reset` headers and, for a usage limit, the subscription's `unified` headers.
// OpenAI: `retry-after(-ms)`, `x-ratelimit-reset-*`, and for a usage limit codex's own body
// (`usage_limit_reached` with `resets_at`, which codex shows as "Try again at …" and never retries) and
// its `x-codex-primary-*` headers.

/** Seconds as OpenAI writes its reset durations: `20s`, `6m0s`, `1h2m3s`. */
function duration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

/**
 * @param {'chat'|'responses'|'messages'} api
 * @param {{ kind: 'rate_limit'|'usage_limit', resetsAt: Date, retryAfterSeconds: number, message?: string, planType?: string }} limit
 * @param {Date} now
 * @returns {{ status: 429, headers: Record<string, string>, body: unknown }}
 */
export function limitResponse(api, limit, now) {
  const resetsAt = limit.resetsAt;
  const unix = Math.floor(resetsAt.getTime() / 1000);
  const seconds = Math.max(0, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
  const retryAfter = Math.max(0, Math.ceil(limit.retryAfterSeconds));
  const usage = limit.kind === 'usage_limit';
  if (api === 'messages') {
    const message =
      limit.message ??
      (usage
        ? `You have reached your usage limit. Your limit will reset at ${resetsAt.toISOString()}.`
        : `This request would exceed the rate limit for your organization of 50 requests per minute. Please try again in ${seconds}s.`);
    const headers = {
      'retry-after': String(retryAfter),
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': resetsAt.toISOString(),
      'anthropic-ratelimit-tokens-reset': resetsAt.toISOString(),
      ...(usage
        ? {
            'anthropic-ratelimit-unified-status': 'rejected',
            'anthropic-ratelimit-unified-reset': String(unix),
            'anthropic-ratelimit-unified-representative-claim': 'five_hour',
            'anthropic-ratelimit-unified-5h-status': 'rejected',
            'anthropic-ratelimit-unified-5h-reset': String(unix),
            'anthropic-ratelimit-unified-5h-utilization': '1.0',
          }
        : {}),
    };
    return { status: 429, headers, body: { type: 'error', error: { type: 'rate_limit_error', message } } };
  }
  const type = usage ? 'usage_limit_reached' : 'rate_limit_exceeded';
  const message =
    limit.message ??
    (usage
      ? 'The usage limit has been reached'
      : `Rate limit reached for fake-model on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${seconds}s.`);
  const headers = {
    'retry-after': String(retryAfter),
    'retry-after-ms': String(retryAfter * 1000),
    'x-ratelimit-limit-requests': '3',
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-reset-requests': duration(seconds),
    'x-ratelimit-reset-tokens': duration(seconds),
    ...(usage
      ? {
          'x-codex-primary-used-percent': '100',
          'x-codex-primary-window-minutes': '300',
          'x-codex-primary-reset-at': String(unix),
          'x-codex-primary-reset-after-seconds': String(seconds),
        }
      : {}),
  };
  const error = {
    message,
    type,
    param: null,
    code: type,
    ...(usage ? { resets_at: unix, resets_in_seconds: seconds, ...(limit.planType ? { plan_type: limit.planType } : {}) } : {}),
  };
  return { status: 429, headers, body: { error } };
}

/**
 * Headers that report usage on a successful reply: Anthropic's subscription (`unified`) headers, which
 * claude puts in its status line's `rate_limits`, and codex's `x-codex-primary-*`, which codex records
 * as `token_count` rate limits.
 * @param {'chat'|'responses'|'messages'} api
 * @param {{ usedPercent: number, resetsAt: Date, window: 'five_hour'|'seven_day' }} usage
 * @returns {Record<string, string>}
 */
export function usageHeaders(api, usage) {
  const unix = String(Math.floor(usage.resetsAt.getTime() / 1000));
  if (api === 'messages') {
    const claim = usage.window === 'seven_day' ? '7d' : '5h';
    // A reply that went through is "allowed" (a warning when close); the next request would be refused.
    const status = usage.usedPercent >= 80 ? 'allowed_warning' : 'allowed';
    return {
      'anthropic-ratelimit-unified-status': status,
      'anthropic-ratelimit-unified-reset': unix,
      'anthropic-ratelimit-unified-representative-claim': usage.window,
      [`anthropic-ratelimit-unified-${claim}-status`]: status,
      [`anthropic-ratelimit-unified-${claim}-utilization`]: String(usage.usedPercent / 100),
      [`anthropic-ratelimit-unified-${claim}-reset`]: unix,
    };
  }
  const which = usage.window === 'seven_day' ? 'secondary' : 'primary';
  return {
    [`x-codex-${which}-used-percent`]: String(usage.usedPercent),
    [`x-codex-${which}-window-minutes`]: usage.window === 'seven_day' ? '10080' : '300',
    [`x-codex-${which}-reset-at`]: unix,
  };
}
