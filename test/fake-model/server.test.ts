import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeModel, type FakeModel, type FakeModelOptions } from './server.mjs';

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.mjs');

async function start(options: FakeModelOptions = {}): Promise<FakeModel> {
  const model = await startFakeModel(options);
  onTestFinished(() => model.close());
  return model;
}

function post(model: FakeModel, route: string, body: unknown): Promise<Response> {
  return fetch(`${model.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

interface Frame {
  event?: string;
  data: string;
}

/** Splits an SSE body into its frames, checking each is well formed (`event:` optional, exactly one `data:`). */
function sse(text: string): Frame[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const frame: Frame = { data: '' };
      let dataLines = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) frame.event = line.slice(7);
        else if (line.startsWith('data: ')) {
          frame.data = line.slice(6);
          dataLines += 1;
        } else throw new Error(`unexpected SSE line: ${line}`);
      }
      expect(dataLines).toBe(1);
      return frame;
    });
}

async function stream(model: FakeModel, route: string, body: Record<string, unknown>): Promise<Frame[]> {
  const res = await post(model, route, { ...body, stream: true });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return sse(await res.text());
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const json = (frame: Frame): Json => JSON.parse(frame.data) as Json;

// Tool declarations shaped like the ones each runtime sends.
const stringProp = { type: 'string' };
const claudeBash = {
  name: 'Bash',
  input_schema: {
    type: 'object',
    properties: { command: stringProp, timeout: { type: 'number' }, description: stringProp },
    required: ['command'],
  },
};
const claudeRead = { name: 'Read', input_schema: { type: 'object', properties: { file_path: stringProp }, required: ['file_path'] } };
const piBash = {
  type: 'function',
  function: {
    name: 'bash',
    parameters: { type: 'object', properties: { command: stringProp, timeout: { type: 'number' } }, required: ['command'] },
  },
};
const opencodeBash = {
  type: 'function',
  function: {
    name: 'bash',
    parameters: {
      type: 'object',
      properties: { command: stringProp, timeout: { type: 'number' }, description: stringProp },
      required: ['command', 'description'],
    },
  },
};
const codexShell = {
  type: 'function',
  name: 'shell',
  parameters: { type: 'object', properties: { command: { type: 'array', items: stringProp }, workdir: stringProp }, required: ['command'] },
};
// codex 0.171 declares exec_command (no `shell`); escalation fields make it ask for approval under on-request.
const codexExec = {
  type: 'function',
  name: 'exec_command',
  parameters: {
    type: 'object',
    properties: {
      cmd: stringProp,
      justification: stringProp,
      sandbox_permissions: { type: 'string', enum: ['use_default', 'require_escalated'] },
    },
    required: ['cmd'],
  },
};
const codexPlan = { type: 'function', name: 'update_plan', parameters: { type: 'object', properties: {} } };

const userMessage = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });

describe('fake model: OpenAI chat completions', () => {
  it('streams chunks ending with [DONE]; the text is FAKE-OK plus the joined last user text', async () => {
    const model = await start();
    const frames = await stream(model, '/v1/chat/completions', {
      model: 'fake-model',
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'be helpful' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'an answer' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hello' },
            { type: 'image_url', image_url: { url: 'x' } },
            { type: 'text', text: 'world' },
          ],
        },
      ],
    });
    expect(frames.every((f) => f.event === undefined)).toBe(true);
    expect(frames.at(-1)?.data).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map(json);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'fake-model')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('FAKE-OK: hello\nworld');
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(1);
    const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
    expect(finishes).toEqual(['stop']);
    // include_usage: a last chunk with no choices and the usage.
    expect(chunks.at(-1).choices).toEqual([]);
    expect(chunks.at(-1).usage.total_tokens).toBeGreaterThan(0);
  });

  it('answers non-stream requests with one chat.completion', async () => {
    const model = await start();
    const res = await post(model, '/v1/chat/completions', { model: 'm1', messages: [{ role: 'user', content: 'plain please' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message).toMatchObject({ role: 'assistant', content: 'FAKE-OK: plain please' });
    expect(body.choices[0].finish_reason).toBe('stop');
  });

  it('"permission" streams a bash tool call (pi and opencode shapes), then "tool done" after the tool result', async () => {
    const model = await start();
    for (const [tool, expected] of [
      [piBash, { command: 'touch mosaic-permission-probe' }],
      [opencodeBash, { command: 'touch mosaic-permission-probe', description: expect.any(String) }],
    ] as const) {
      const messages = [{ role: 'user', content: 'ask me for permission' }];
      const frames = await stream(model, '/v1/chat/completions', { model: 'fake-model', tools: [tool], messages });
      const chunks = frames.slice(0, -1).map(json);
      const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
      expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'bash', arguments: '' } });
      const id = calls[0].id as string;
      expect(id).toBeTruthy();
      const args = JSON.parse(calls.map((c) => c.function?.arguments ?? '').join('')) as unknown;
      expect(args).toEqual(expected);
      expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(['tool_calls']);

      const followUp = [
        ...messages,
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id, type: 'function', function: { name: 'bash', arguments: JSON.stringify(args) } }],
        },
        { role: 'tool', tool_call_id: id, content: '' },
      ];
      const res = await post(model, '/v1/chat/completions', { model: 'fake-model', tools: [tool], messages: followUp });
      expect(((await res.json()) as Json).choices[0].message.content).toBe('FAKE-OK: tool done');
    }
    expect(model.requests.map((r) => r.reply)).toEqual(['tool_call', 'tool_done', 'tool_call', 'tool_done']);
  });

  it('a non-stream tool call carries tool_calls and finish_reason "tool_calls"', async () => {
    const model = await start();
    const res = await post(model, '/v1/chat/completions', { tools: [piBash], messages: [{ role: 'user', content: 'permission please' }] });
    const body = (await res.json()) as Json;
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    expect(body.choices[0].message.content).toBeNull();
    expect(JSON.parse(body.choices[0].message.tool_calls[0].function.arguments as string)).toEqual({
      command: 'touch mosaic-permission-probe',
    });
  });
});

describe('fake model: OpenAI Responses API', () => {
  const TEXT_ORDER = [
    'response.created',
    'response.output_item.added',
    'response.content_part.added',
    'response.output_text.delta',
    'response.output_text.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.completed',
  ];

  it('streams the events in the real order, with event: lines naming each data type', async () => {
    const model = await start();
    const frames = await stream(model, '/v1/responses', {
      model: 'fake-model',
      instructions: 'you are codex',
      input: [userMessage('<environment_context>cwd</environment_context>'), userMessage('hello codex')],
    });
    const events = frames.map((f) => f.event);
    expect(frames.every((f) => json(f).type === f.event)).toBe(true);
    const collapsed = events.filter((e, i) => e !== 'response.output_text.delta' || events[i - 1] !== e);
    expect(collapsed).toEqual(TEXT_ORDER);
    expect(events.filter((e) => e === 'response.output_text.delta').length).toBeGreaterThan(1);
    const deltas = frames.filter((f) => f.event === 'response.output_text.delta').map((f) => json(f).delta as string);
    expect(deltas.join('')).toBe('FAKE-OK: hello codex');
    expect(json(frames.find((f) => f.event === 'response.output_text.done')!).text).toBe('FAKE-OK: hello codex');
    const sequence = frames.map((f) => json(f).sequence_number as number);
    expect(sequence).toEqual(sequence.map((_, i) => i));
    const completed = json(frames.at(-1)!).response;
    expect(completed.status).toBe('completed');
    expect(completed.output[0].content[0].text).toBe('FAKE-OK: hello codex');
    expect(completed.usage.total_tokens).toBeGreaterThan(0);
  });

  it('answers non-stream requests with one response object (string input too)', async () => {
    const model = await start();
    const res = await post(model, '/v1/responses', { model: 'fake-model', input: 'just a string' });
    const body = (await res.json()) as Json;
    expect(body.object).toBe('response');
    expect(body.status).toBe('completed');
    expect(body.output[0].content[0].text).toBe('FAKE-OK: just a string');
  });

  it('"permission" picks codex shell (argv) or exec_command (cmd), streams function_call events, then "tool done"', async () => {
    const model = await start();
    for (const [tool, expected] of [
      [codexShell, { command: ['bash', '-lc', 'touch mosaic-permission-probe'] }],
      [codexExec, { cmd: 'touch mosaic-permission-probe', sandbox_permissions: 'require_escalated', justification: expect.any(String) }],
    ] as const) {
      const input = [userMessage('needs permission')];
      const frames = await stream(model, '/v1/responses', { model: 'fake-model', tools: [codexPlan, tool], input });
      const events = frames.map((f) => f.event);
      expect(events[0]).toBe('response.created');
      expect(events[1]).toBe('response.output_item.added');
      expect(events.slice(-3)).toEqual(['response.function_call_arguments.done', 'response.output_item.done', 'response.completed']);
      const added = json(frames[1]!).item;
      expect(added).toMatchObject({ type: 'function_call', name: tool.name, arguments: '' });
      expect(added.call_id).toBeTruthy();
      const deltas = frames.filter((f) => f.event === 'response.function_call_arguments.delta').map((f) => json(f));
      expect(deltas.every((d) => d.item_id === added.id)).toBe(true);
      expect(JSON.parse(deltas.map((d) => d.delta as string).join(''))).toEqual(expected);
      const done = json(frames.find((f) => f.event === 'response.output_item.done')!).item;
      expect(done).toMatchObject({ type: 'function_call', status: 'completed', call_id: added.call_id, name: tool.name });
      expect(JSON.parse(done.arguments as string)).toEqual(expected);

      const next = [
        ...input,
        { type: 'function_call', call_id: added.call_id, name: tool.name, arguments: done.arguments },
        { type: 'function_call_output', call_id: added.call_id, output: 'ok' },
      ];
      const res = await post(model, '/v1/responses', { model: 'fake-model', tools: [codexPlan, tool], input: next });
      expect(((await res.json()) as Json).output_text).toBe('FAKE-OK: tool done');
    }
  });

  it('codex built-in local_shell gets a local_shell_call item with an exec action', async () => {
    const model = await start();
    const frames = await stream(model, '/v1/responses', { tools: [{ type: 'local_shell' }], input: [userMessage('permission')] });
    const done = json(frames.find((f) => f.event === 'response.output_item.done')!).item;
    expect(done).toMatchObject({
      type: 'local_shell_call',
      action: { type: 'exec', command: ['bash', '-lc', 'touch mosaic-permission-probe'] },
    });
    expect(done.call_id).toBeTruthy();
    expect(model.requests[0]?.toolNames).toEqual(['local_shell']);
  });
});

describe('fake model: Anthropic Messages API', () => {
  it('streams message_start → content_block_start → ping → deltas → stop events; accepts ?beta=true', async () => {
    const model = await start();
    const frames = await stream(model, '/v1/messages?beta=true', {
      model: 'claude-opus-4-8',
      system: [{ type: 'text', text: 'You are Claude Code' }],
      tools: [claudeRead, claudeBash],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '<system-reminder>context the user did not type</system-reminder>' },
            { type: 'text', text: 'hello from tmux' },
          ],
        },
      ],
    });
    const events = frames.map((f) => f.event);
    expect(frames.every((f) => json(f).type === f.event)).toBe(true);
    const collapsed = events.filter((e, i) => e !== 'content_block_delta' || events[i - 1] !== e);
    expect(collapsed).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(json(frames[0]!).message).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-opus-4-8', content: [] });
    const deltas = frames.filter((f) => f.event === 'content_block_delta').map((f) => json(f).delta);
    expect(deltas.every((d) => d.type === 'text_delta')).toBe(true);
    expect(deltas.map((d) => d.text as string).join('')).toBe('FAKE-OK: hello from tmux');
    expect(json(frames.find((f) => f.event === 'message_delta')!).delta.stop_reason).toBe('end_turn');
    expect(model.requests[0]).toMatchObject({ path: '/v1/messages', query: '?beta=true', toolNames: ['Read', 'Bash'], isTitle: false });
  });

  it('"permission" streams a Bash tool_use block with input_json_delta, then "tool done" after the tool_result', async () => {
    const model = await start();
    const messages = [{ role: 'user', content: 'check the permission prompt' }];
    const frames = await stream(model, '/v1/messages', { model: 'claude-opus-4-8', tools: [claudeRead, claudeBash], messages });
    const startBlock = json(frames.find((f) => f.event === 'content_block_start')!).content_block;
    expect(startBlock).toMatchObject({ type: 'tool_use', name: 'Bash', input: {} });
    expect(startBlock.id).toMatch(/^toolu_/);
    const deltas = frames.filter((f) => f.event === 'content_block_delta').map((f) => json(f).delta);
    expect(deltas.every((d) => d.type === 'input_json_delta')).toBe(true);
    const input = JSON.parse(deltas.map((d) => d.partial_json as string).join('')) as unknown;
    expect(input).toEqual({ command: 'touch mosaic-permission-probe' });
    expect(json(frames.find((f) => f.event === 'message_delta')!).delta.stop_reason).toBe('tool_use');

    const followUp = [
      ...messages,
      { role: 'assistant', content: [{ type: 'tool_use', id: startBlock.id, name: 'Bash', input }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: startBlock.id, content: '' }] },
    ];
    const res = await post(model, '/v1/messages', { model: 'claude-opus-4-8', tools: [claudeRead, claudeBash], messages: followUp });
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ type: 'message', stop_reason: 'end_turn', content: [{ type: 'text', text: 'FAKE-OK: tool done' }] });
  });

  it('answers non-stream requests, tool_use included', async () => {
    const model = await start();
    const text = (await (await post(model, '/v1/messages', { messages: [{ role: 'user', content: 'hi' }] })).json()) as Json;
    expect(text).toMatchObject({
      type: 'message',
      role: 'assistant',
      stop_reason: 'end_turn',
      content: [{ type: 'text', text: 'FAKE-OK: hi' }],
    });
    const tool = (await (
      await post(model, '/v1/messages', { tools: [claudeBash], messages: [{ role: 'user', content: 'permission' }] })
    ).json()) as Json;
    expect(tool.stop_reason).toBe('tool_use');
    expect(tool.content[0]).toMatchObject({ type: 'tool_use', name: 'Bash', input: { command: 'touch mosaic-permission-probe' } });
  });

  it('count_tokens answers input_tokens', async () => {
    const model = await start();
    const res = await post(model, '/v1/messages/count_tokens?beta=true', { model: 'x', messages: [{ role: 'user', content: 'count me' }] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).input_tokens).toBeGreaterThan(0);
  });
});

describe('fake model: titles', () => {
  // The request shapes below are the ones Claude Code 2.1.197, codex 0.171.0 and opencode 1.18.33 sent (trimmed).
  it('answers title side requests with a title and never applies rules to them', async () => {
    const model = await start();
    // Claude Code: a haiku call, no tools, a system prompt asking for a JSON title, output_config with a schema.
    const titleSchema = { type: 'object', properties: { title: stringProp }, required: ['title'], additionalProperties: false };
    const claude = await stream(model, '/v1/messages?beta=true', {
      model: 'claude-haiku-4-5-20251001',
      system: [
        { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." },
        {
          type: 'text',
          text: 'Generate a concise, sentence-case title (3-7 words) that captures the main topic. Return JSON with a single "title" field.',
        },
      ],
      output_config: { format: { type: 'json_schema', schema: titleSchema } },
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'text',
              text: '<session>\nplease ask for permission\n</session>\n\nWrite the title in the language the user wrote in.',
            },
          ],
        },
      ],
    });
    const claudeText = claude
      .filter((f) => f.event === 'content_block_delta')
      .map((f) => json(f).delta.text as string)
      .join('');
    expect(JSON.parse(claudeText)).toEqual({ title: 'Fake title' });

    // Older Claude Code: JSON asked for in words only, with extra fields named in the prompt.
    const worded = (await (
      await post(model, '/v1/messages', {
        system: 'Come up with a succinct title and git branch name. Return a JSON object with "title" and "branch" fields.',
        messages: [{ role: 'user', content: 'slow permission' }],
      })
    ).json()) as Json;
    expect(JSON.parse(worded.content[0].text as string)).toEqual({ title: 'Fake title', branch: 'fake/title' });

    // codex: the title turn's user text asks for it, with a json_schema text format.
    const codex = (await (
      await post(model, '/v1/responses', {
        tools: [],
        text: { format: { type: 'json_schema', strict: true, name: 'codex_output_schema', schema: titleSchema } },
        input: [
          userMessage('You are a coding agent running in the Codex CLI.'),
          userMessage('Generate a concise, single-line task title of at most 36 characters: permission slow'),
        ],
      })
    ).json()) as Json;
    expect(JSON.parse(codex.output_text as string)).toEqual({ title: 'Fake title' });

    // opencode: the title agent's system prompt, then the user text.
    const opencode = (await (
      await post(model, '/v1/chat/completions', {
        messages: [
          { role: 'system', content: 'You are a title generator. You output ONLY a thread title. Nothing else.' },
          { role: 'user', content: 'Generate a title for this conversation:\n' },
          { role: 'user', content: 'fix the permission bug' },
        ],
      })
    ).json()) as Json;
    expect(opencode.choices[0].message.content).toBe('Fake title');

    expect(model.requests.map((r) => [r.isTitle, r.reply])).toEqual(Array(4).fill([true, 'title']));
  });

  it('a main request that declares tools is not a title even if its system prompt mentions titles', async () => {
    const model = await start();
    const res = await post(model, '/v1/messages', {
      system: 'When you create a PR, write a short title.',
      tools: [claudeBash],
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(((await res.json()) as Json).content[0].text).toBe('FAKE-OK: hello');
    expect(model.requests[0]?.isTitle).toBe(false);
  });
});

describe('fake model: scripted rules', () => {
  it('caller rules come first: string and RegExp matches, reply text, tool calls with explicit arguments', async () => {
    const model = await start({
      rules: [
        { match: 'Weather', reply: 'sunny', delayMs: 5 },
        { match: /^deploy (\w+)$/, name: 'deploy', toolCall: { prefer: ['Deploy', 'bash'], arguments: { target: 'prod' } } },
      ],
    });
    const chat = (text: string, tools: unknown[] = []) =>
      post(model, '/v1/chat/completions', { tools, messages: [{ role: 'user', content: text }] }).then((r) => r.json() as Promise<Json>);

    expect((await chat('what is the weather?')).choices[0].message.content).toBe('sunny');
    const deployTool = { type: 'function', function: { name: 'deploy', parameters: { type: 'object', properties: {} } } };
    const call = (await chat('deploy api', [piBash, deployTool])).choices[0].message.tool_calls[0];
    expect(call.function.name).toBe('deploy');
    expect(JSON.parse(call.function.arguments as string)).toEqual({ target: 'prod' });
    // No preferred tool declared: the rule answers in text instead.
    expect((await chat('deploy api')).choices[0].message.content).toMatch(/^FAKE-OK: no tool to call/);
    // Rules can change while the server runs.
    model.rules.push({ match: 'later', reply: 'added later' });
    expect((await chat('later on')).choices[0].message.content).toBe('added later');
    expect(model.requests.map((r) => r.rule)).toEqual(['rule:0', 'deploy', 'deploy', 'rule:2']);
  });

  it('"slow" streams over slowMs (recorded as the slow rule, text intact); builtinRules:false turns it off', async () => {
    const model = await start({ slowMs: 200 });
    const frames = await stream(model, '/v1/messages', { messages: [{ role: 'user', content: 'be slow now' }] });
    const text = frames
      .filter((f) => f.event === 'content_block_delta')
      .map((f) => json(f).delta.text as string)
      .join('');
    expect(text).toBe('FAKE-OK: be slow now');
    expect(model.requests[0]?.rule).toBe('slow');

    const plain = await start({ builtinRules: false });
    const res = await post(plain, '/v1/messages', { tools: [claudeBash], messages: [{ role: 'user', content: 'slow permission' }] });
    expect(((await res.json()) as Json).content[0]).toEqual({ type: 'text', text: 'FAKE-OK: slow permission' });
  });

  it('holdUntil keeps a reply pending until released (a deterministic busy agent)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = await start({ rules: [{ match: 'hold', holdUntil: gate }] });
    let settled = false;
    const pending = post(model, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hold on' }] }).then((r) => {
      settled = true;
      return r.json() as Promise<Json>;
    });
    await model.waitForRequest((r) => r.lastUserText === 'hold on');
    // Another request goes through while the first is held.
    const other = await post(model, '/v1/chat/completions', { messages: [{ role: 'user', content: 'other' }] });
    expect(((await other.json()) as Json).choices[0].message.content).toBe('FAKE-OK: other');
    expect(settled).toBe(false);
    release();
    expect((await pending).choices[0].message.content).toBe('FAKE-OK: hold on');
  });
});

describe('fake model: usage and rate limits', () => {
  const near = (actual: number, expected: number, slackMs = 2000): void => {
    expect(Math.abs(actual - expected)).toBeLessThanOrEqual(slackMs);
  };

  it('Anthropic Messages: 429 rate_limit_error with retry-after and the anthropic-ratelimit reset headers; logged', async () => {
    const model = await start({ rules: [{ match: 'limit me', name: 'lim', limit: { resetsInSeconds: 90 } }] });
    const before = Date.now();
    const res = await post(model, '/v1/messages', { stream: true, messages: [{ role: 'user', content: 'please limit me' }] });
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as Json;
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('rate_limit_error');
    expect(body.error.message).toMatch(/try again in 9\ds/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(89);
    near(Date.parse(res.headers.get('anthropic-ratelimit-requests-reset')!), before + 90_000);
    expect(res.headers.get('anthropic-ratelimit-unified-status')).toBeNull();
    const entry = model.requests[0]!;
    expect(entry).toMatchObject({ status: 429, api: 'messages', rule: 'lim', reply: 'limit', lastUserText: 'please limit me' });
    expect(entry.limit?.kind).toBe('rate_limit');
    near(Date.parse(entry.limit!.resetsAt), before + 90_000);
  });

  it('Anthropic usage_limit adds the unified (subscription) headers with the reset in unix seconds', async () => {
    const resetsAt = new Date(Date.now() + 2 * 3600_000);
    const model = await start({ rules: [{ match: '', limit: { kind: 'usage_limit', resetsAt, retryAfterSeconds: 1 } }] });
    const res = await post(model, '/v1/messages', { messages: [{ role: 'user', content: 'anything' }] });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('anthropic-ratelimit-unified-status')).toBe('rejected');
    expect(res.headers.get('anthropic-ratelimit-unified-reset')).toBe(String(Math.floor(resetsAt.getTime() / 1000)));
    expect(((await res.json()) as Json).error.type).toBe('rate_limit_error');
  });

  it('OpenAI Responses usage_limit: codex usage_limit_reached body with resets_at, x-codex-primary-* and x-ratelimit headers', async () => {
    const model = await start({ rules: [{ match: 'quota', limit: { kind: 'usage_limit', resetsInSeconds: 3723, planType: 'plus' } }] });
    const before = Date.now();
    const res = await post(model, '/v1/responses', { stream: true, input: 'over quota' });
    expect(res.status).toBe(429);
    const { error } = (await res.json()) as Json;
    expect(error).toMatchObject({ type: 'usage_limit_reached', code: 'usage_limit_reached', plan_type: 'plus' });
    near(error.resets_at * 1000, before + 3_723_000);
    expect(error.resets_in_seconds).toBeGreaterThanOrEqual(3722);
    expect(res.headers.get('x-codex-primary-used-percent')).toBe('100');
    expect(res.headers.get('x-codex-primary-reset-at')).toBe(String(error.resets_at));
    expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(/^1h2m\d+s$/);
    expect(res.headers.get('retry-after-ms')).toBe(String(Number(res.headers.get('retry-after')) * 1000));
  });

  it('OpenAI chat rate_limit: rate_limit_exceeded with "try again in Ns"; `times` limits only the first N, then normal replies', async () => {
    const model = await start({ rules: [{ match: 'hi', limit: { resetsInSeconds: 20, times: 2 } }] });
    const chat = () => post(model, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] });
    for (let i = 0; i < 2; i++) {
      const res = await chat();
      expect(res.status).toBe(429);
      const { error } = (await res.json()) as Json;
      expect(error).toMatchObject({ type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' });
      expect(error.message).toMatch(/Please try again in (19|20)s\.$/);
      expect(error.resets_at).toBeUndefined();
      expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(/^(19|20)s$/);
      expect(res.headers.get('x-codex-primary-used-percent')).toBeNull();
    }
    const third = await chat();
    expect(third.status).toBe(200);
    expect(((await third.json()) as Json).choices[0].message.content).toBe('FAKE-OK: hi');
    expect(model.requests.map((r) => [r.status, r.reply])).toEqual([
      [429, 'limit'],
      [429, 'limit'],
      [200, 'text'],
    ]);
  });

  it('a limit rule never answers title side requests or tool results, and honours a custom message', async () => {
    const model = await start({ rules: [{ match: '', limit: { message: 'slow down' } }] });
    const title = await post(model, '/v1/messages', {
      system: 'Generate a concise title for this conversation.',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(title.status).toBe(200);
    const limited = await post(model, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hello' }] });
    expect(((await limited.json()) as Json).error.message).toBe('slow down');
  });
});

describe('fake model: bounds, errors and lifecycle', () => {
  it('listens on 127.0.0.1 only: refused on 127.0.0.2, ::1 and every non-loopback address', async () => {
    const model = await start();
    expect(model.url).toBe(`http://127.0.0.1:${model.port}`);
    const connect = (host: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect({ host, port: model.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
    expect(await connect('127.0.0.1')).toBe('connected');
    // A server bound to 0.0.0.0 would accept on every 127/8 address and every interface.
    expect(await connect('127.0.0.2')).toBe('ECONNREFUSED');
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    for (const address of ['::1', ...others]) expect(await connect(address)).not.toBe('connected');
    await expect(startFakeModel({ host: '0.0.0.0' } as FakeModelOptions)).rejects.toThrow(/127\.0\.0\.1 only/);
  });

  it('413 for a body over the default 8 MiB bound (logged), then still serves', async () => {
    const model = await start();
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(8 * 1024 * 1024) }] });
    const res = await fetch(`${model.url}/v1/messages`, { method: 'POST', body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as Json).error.type).toBe('request_too_large');
    const ok = await post(model, '/v1/messages', { messages: [{ role: 'user', content: 'small' }] });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    expect(model.requests.map((r) => r.status)).toEqual([413, 200]);
  });

  it('honours a smaller maxBodyBytes, on count_tokens too', async () => {
    const model = await start({ maxBodyBytes: 1024 });
    const body = { messages: [{ role: 'user', content: 'y'.repeat(2000) }] };
    expect((await post(model, '/v1/chat/completions', body)).status).toBe(413);
    expect((await post(model, '/v1/messages/count_tokens', body)).status).toBe(413);
    expect((await post(model, '/v1/chat/completions', { messages: [{ role: 'user', content: 'fits' }] })).status).toBe(200);
  });

  it('404 JSON for unknown paths, 405 for a wrong method, 400 for bad JSON; all logged', async () => {
    const model = await start();
    const missing = await fetch(`${model.url}/v1/completions`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Json).error.type).toBe('not_found_error');
    const wrong = await fetch(`${model.url}/v1/messages`);
    expect(wrong.status).toBe(405);
    await wrong.arrayBuffer();
    const bad = await fetch(`${model.url}/v1/responses`, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
    expect(model.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', '/v1/completions', 404],
      ['GET', '/v1/messages', 405],
      ['POST', '/v1/responses', 400],
    ]);
  });

  it('GET /v1/models lists the models; HEAD / and GET / answer 200', async () => {
    const model = await start({ models: ['fake-model', 'other'] });
    const list = (await (await fetch(`${model.url}/v1/models`)).json()) as Json;
    expect(list.object).toBe('list');
    expect(list.data.map((m: Json) => m.id)).toEqual(['fake-model', 'other']);
    expect(list.data[0]).toMatchObject({ object: 'model', type: 'model', display_name: 'fake-model' });
    expect(list.has_more).toBe(false);
    const head = await fetch(`${model.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const root = await fetch(`${model.url}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toBe('ok\n');
  });

  it('429 beyond maxConcurrent replies in flight', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = await start({ maxConcurrent: 1, rules: [{ match: 'hold', holdUntil: gate }] });
    const held = post(model, '/v1/messages', { messages: [{ role: 'user', content: 'hold' }] });
    await model.waitForRequest((r) => r.lastUserText === 'hold');
    const refused = await post(model, '/v1/messages', { messages: [{ role: 'user', content: 'second' }] });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as Json).error.type).toBe('rate_limit_error');
    release();
    expect((await held).status).toBe(200);
  });

  it('records every request (no bodies by default), caps the in-memory log, appends JSONL to a file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-model-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const logFile = path.join(dir, 'requests.jsonl');
    const model = await start({ maxLogEntries: 3, logFile });
    for (const text of ['one', 'two', 'three', 'four']) {
      await (
        await post(model, '/v1/chat/completions', { model: 'fake-model', tools: [piBash], messages: [{ role: 'user', content: text }] })
      ).json();
    }
    await (await fetch(`${model.url}/nope`)).arrayBuffer();
    expect(model.requests.map((r) => r.lastUserText)).toEqual(['three', 'four', '']);
    const entry = model.requests[0]!;
    expect(Object.keys(entry)).toEqual(
      expect.arrayContaining(['ts', 'method', 'path', 'model', 'stream', 'lastUserText', 'isTitle', 'toolNames']),
    );
    expect(entry).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      model: 'fake-model',
      stream: false,
      isTitle: false,
      toolNames: ['bash'],
    });
    expect(entry.body).toBeUndefined();
    expect(Number.isNaN(Date.parse(entry.ts))).toBe(false);
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as Json).lastUserText)).toEqual(['one', 'two', 'three', 'four', '']);

    await expect(startFakeModel({ logFile: path.join(dir, 'missing', 'x.jsonl') })).rejects.toThrow(/ENOENT/);

    const verbose = await start({ logBodies: true });
    await (await post(verbose, '/v1/chat/completions', { messages: [{ role: 'user', content: 'keep me' }] })).json();
    expect(verbose.requests[0]?.body).toMatchObject({ messages: [{ content: 'keep me' }] });
  });

  it('close() ends open streams and releases the port', async () => {
    const model = await startFakeModel({ slowMs: 600_000 });
    const res = await post(model, '/v1/chat/completions', {
      stream: true,
      messages: [{ role: 'user', content: 'very slow reply please' }],
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
    await model.close();
    await model.close(); // idempotent
    // The stream ends (cut short) instead of hanging for ten minutes.
    const rest = await (async () => {
      try {
        for (;;) if ((await reader.read()).done) return 'ended';
      } catch {
        return 'ended';
      }
    })();
    expect(rest).toBe('ended');
    const again = await startFakeModel({ port: model.port });
    expect(again.port).toBe(model.port);
    await again.close();
  });

  it('CLI: prints the URL, serves, logs JSONL, exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-model-cli-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const logFile = path.join(dir, 'cli.jsonl');
    const child = spawn(process.execPath, [SERVER, '--port', '0', '--log', logFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', () => reject(new Error(`CLI exited before printing its URL: ${out}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'cli' }] }),
    });
    expect(((await res.json()) as Json).choices[0].message.content).toBe('FAKE-OK: cli');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((JSON.parse(readFileSync(logFile, 'utf8').trim()) as Json).lastUserText).toBe('cli');
  });

  it('CLI: a bad argument is a usage error (exit 2)', async () => {
    const child = spawn(process.execPath, [SERVER, '--bogus'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toMatch(/usage: server\.mjs/);
  });
});
