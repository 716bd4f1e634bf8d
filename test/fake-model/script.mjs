// Decides what the fake model answers: a title for side requests, "tool done" after a tool result,
// otherwise the first matching rule (caller's rules first, then the built-in "slow" and "permission").

/** Shell tools as the runtimes name them: Claude Code `Bash`, pi and opencode `bash`, codex one of the rest. */
export const SHELL_TOOLS = ['bash', 'shell_command', 'exec_command', 'shell', 'local_shell'];
export const PERMISSION_COMMAND = 'touch mosaic-permission-probe';

// Side requests that ask for a conversation title (Claude Code's haiku call, codex's title turn, opencode's
// title agent). Checked on the system prompt only when no tools are declared: a main agent prompt is long
// and could mention titles, a title request never declares tools.
const TITLE_IN_USER_TEXT = /generate a (?:concise|short|brief)\b[^\n]{0,80}\btitle\b/i;
const TITLE_IN_SYSTEM = /\btitle generator\b|\bisNewTopic\b|\b(?:generate|create|write|come up with)\b[^\n]{0,80}\btitle\b/i;

export function isTitleRequest(request) {
  if (TITLE_IN_USER_TEXT.test(request.lastUserText)) return true;
  return request.tools.length === 0 && TITLE_IN_SYSTEM.test(request.systemText);
}

/** A JSON value that satisfies a (simple) JSON schema: titles get the title text, the rest a plain placeholder. */
function sample(schema, key, title) {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'object' || (type === undefined && schema.properties)) {
    const out = {};
    for (const [name, sub] of Object.entries(schema.properties ?? {})) out[name] = sample(sub ?? {}, name, title);
    return out;
  }
  if (type === 'array') return [];
  if (type === 'boolean') return true;
  if (type === 'number' || type === 'integer') return 0;
  if (key === 'branch') return 'fake/title';
  return key === 'title' || key === undefined ? title : 'fake';
}

function titleText(request, title) {
  if (request.jsonSchema && Object.keys(request.jsonSchema).length > 0) return JSON.stringify(sample(request.jsonSchema, undefined, title));
  const prompt = `${request.systemText}\n${request.lastUserText}`;
  if (request.jsonSchema || /\bJSON\b/.test(prompt)) {
    const out = { title };
    if (/isNewTopic/.test(prompt)) Object.assign(out, { isNewTopic: true });
    if (/"branch"/.test(prompt)) Object.assign(out, { branch: 'fake/title' });
    return JSON.stringify(out);
  }
  return title;
}

/** Arguments for the chosen shell tool, shaped by its declared schema (string vs argv array, required fields). */
export function shellArguments(tool, command, escalate = true) {
  if (tool.kind === 'local_shell') return { command: ['bash', '-lc', command] };
  const properties = tool.schema.properties ?? {};
  const required = Array.isArray(tool.schema.required) ? tool.schema.required : [];
  const key =
    ['command', 'cmd'].find((name) => name in properties) ?? required.find((name) => properties[name]?.type === 'string') ?? 'command';
  const args = { [key]: properties[key]?.type === 'array' ? ['bash', '-lc', command] : command };
  // codex runs workspace writes without asking; asking for escalation is what makes it prompt (on-request).
  // An unattended codex (approvals bypassed) rejects a call that asks for escalation: `escalate: false`.
  if (escalate && properties.sandbox_permissions?.enum?.includes('require_escalated')) args.sandbox_permissions = 'require_escalated';
  else if (escalate && properties.with_escalated_permissions?.type === 'boolean') args.with_escalated_permissions = true;
  if ((args.sandbox_permissions || args.with_escalated_permissions) && 'justification' in properties) {
    args.justification = 'Mosaic permission probe: may I create a file?';
  }
  for (const name of required) {
    if (name in args) continue;
    const type = properties[name]?.type;
    if (type === 'string') args[name] = name === 'description' ? 'Create the Mosaic permission probe file' : 'fake';
    else if (type === 'boolean') args[name] = false;
    else if (type === 'number' || type === 'integer') args[name] = 10_000;
  }
  return args;
}

function pickTool(request, prefer) {
  for (const wanted of prefer) {
    const tool = request.tools.find((t) => t.name.toLowerCase() === String(wanted).toLowerCase());
    if (tool) return tool;
  }
  return undefined;
}

function matches(rule, text) {
  if (rule.match instanceof RegExp) {
    rule.match.lastIndex = 0;
    return rule.match.test(text);
  }
  return text.toLowerCase().includes(String(rule.match).toLowerCase());
}

// How many requests each limit rule has answered with a limit (keyed by the caller's rule object).
const limitedCount = new WeakMap();

function limitSpent(rule) {
  const times = rule.limit?.times;
  return times !== undefined && (limitedCount.get(rule.source) ?? 0) >= times;
}

/** The reset time is fixed by `resetsAt`, or `resetsInSeconds` after this request (default 3600 s). */
function limitPlan(rule, now) {
  const limit = rule.limit;
  limitedCount.set(rule.source, (limitedCount.get(rule.source) ?? 0) + 1);
  const resetsAt =
    limit.resetsAt !== undefined ? new Date(limit.resetsAt) : new Date(now.getTime() + (limit.resetsInSeconds ?? 3600) * 1000);
  const untilReset = Math.max(0, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
  return {
    kind: limit.kind ?? 'rate_limit',
    resetsAt,
    retryAfterSeconds: limit.retryAfterSeconds ?? untilReset,
    ...(limit.message !== undefined ? { message: limit.message } : {}),
    ...(limit.planType !== undefined ? { planType: limit.planType } : {}),
  };
}

function usagePlan(usage, now) {
  const resetsAt =
    usage.resetsAt !== undefined ? new Date(usage.resetsAt) : new Date(now.getTime() + (usage.resetsInSeconds ?? 3600) * 1000);
  return { usedPercent: usage.usedPercent, resetsAt, window: usage.window ?? 'five_hour' };
}

function builtinRules(options) {
  return [
    { name: 'slow', match: /slow/i, streamMs: options.slowMs },
    { name: 'permission', match: /permission/i, toolCall: { prefer: SHELL_TOOLS, command: PERMISSION_COMMAND } },
  ];
}

/**
 * The answer plan for one request.
 * @returns {{ kind: 'text'|'tool_call'|'title'|'tool_done'|'limit', rule: string, text: string,
 *   tool?: { name: string, kind: string, arguments: Record<string, unknown> }, delayMs: number, streamMs: number,
 *   holdUntil?: Promise<unknown>, usage?: { usedPercent: number, resetsAt: Date, window: 'five_hour'|'seven_day' },
 *   limit?: { kind: 'rate_limit'|'usage_limit', resetsAt: Date, retryAfterSeconds: number, message?: string, planType?: string } }}
 */
export function planReply(request, options, rules, now = new Date()) {
  const base = { delayMs: 0, streamMs: 0 };
  if (isTitleRequest(request)) return { ...base, kind: 'title', rule: 'title', text: titleText(request, options.titleReply) };
  if (request.endsWithToolResult) return { ...base, kind: 'tool_done', rule: 'tool_done', text: 'FAKE-OK: tool done' };

  const all = [
    ...rules.map((rule, i) => ({ name: `rule:${i}`, ...rule, source: rule })),
    ...(options.builtinRules ? builtinRules(options) : []),
  ];
  // A limit rule that has limited its `times` requests lets the next ones through to the later rules.
  const rule = all.find((r) => r.match !== undefined && !limitSpent(r) && matches(r, request.lastUserText));
  const timing = {
    delayMs: rule?.delayMs ?? 0,
    streamMs: rule?.streamMs ?? 0,
    holdUntil: rule?.holdUntil,
    ...(rule?.usage ? { usage: usagePlan(rule.usage, now) } : {}),
  };
  const text = rule?.reply ?? `FAKE-OK: ${request.lastUserText}`;
  if (!rule) return { ...base, kind: 'text', rule: 'default', text };
  if (rule.limit) return { ...timing, kind: 'limit', rule: rule.name, text: '', limit: limitPlan(rule, now) };
  if (rule.toolCall) {
    const tool = pickTool(request, rule.toolCall.prefer ?? SHELL_TOOLS);
    if (tool) {
      const args =
        rule.toolCall.arguments ?? shellArguments(tool, rule.toolCall.command ?? PERMISSION_COMMAND, rule.toolCall.escalate ?? true);
      return { ...timing, kind: 'tool_call', rule: rule.name, text: '', tool: { name: tool.name, kind: tool.kind, arguments: args } };
    }
    // Nothing to call (a side request without tools): answer in text so the client still completes.
    return { ...timing, kind: 'text', rule: rule.name, text: `FAKE-OK: no tool to call for: ${request.lastUserText}` };
  }
  return { ...timing, kind: 'text', rule: rule.name, text };
}
