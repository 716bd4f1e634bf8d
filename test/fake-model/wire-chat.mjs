// OpenAI chat completions: `data: {chunk}` lines ending with `data: [DONE]`, or one chat.completion object.
import { jsonChunks, textChunks, tokens } from './chunks.mjs';

function usage(plan, ctx) {
  const completion = tokens(plan.text || JSON.stringify(plan.tool?.arguments ?? {}));
  return { prompt_tokens: ctx.inputTokens, completion_tokens: completion, total_tokens: ctx.inputTokens + completion };
}

function toolCall(plan, ctx) {
  return {
    id: `call_fake_${ctx.seq}`,
    type: 'function',
    function: { name: plan.tool.name, arguments: JSON.stringify(plan.tool.arguments) },
  };
}

export function chatFrames(plan, ctx) {
  const head = { id: `chatcmpl-fake-${ctx.seq}`, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model };
  const chunk = (delta, finish = null) => ({ data: { ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] } });
  const frames = [];
  if (plan.kind === 'tool_call') {
    const call = toolCall(plan, ctx);
    frames.push(
      chunk({
        role: 'assistant',
        content: null,
        tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }],
      }),
    );
    for (const part of jsonChunks(call.function.arguments))
      frames.push({ ...chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }), delta: true });
    frames.push(chunk({}, 'tool_calls'));
  } else {
    frames.push(chunk({ role: 'assistant', content: '' }));
    for (const part of textChunks(plan.text)) frames.push({ ...chunk({ content: part }), delta: true });
    frames.push(chunk({}, 'stop'));
  }
  if (ctx.includeUsage) frames.push({ data: { ...head, choices: [], usage: usage(plan, ctx) } });
  frames.push({ data: '[DONE]' });
  return frames;
}

export function chatBody(plan, ctx) {
  const message =
    plan.kind === 'tool_call'
      ? { role: 'assistant', content: null, tool_calls: [toolCall(plan, ctx)] }
      : { role: 'assistant', content: plan.text, refusal: null };
  return {
    id: `chatcmpl-fake-${ctx.seq}`,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: plan.kind === 'tool_call' ? 'tool_calls' : 'stop' }],
    usage: usage(plan, ctx),
  };
}
