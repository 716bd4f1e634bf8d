// Anthropic Messages: `event: <type>` + `data: {...}` from message_start to message_stop, or one message object.
// Tool calls are a `tool_use` block streamed as input_json_delta fragments, with stop_reason "tool_use".
import { jsonChunks, textChunks, tokens } from './chunks.mjs';

function block(plan, ctx) {
  return plan.kind === 'tool_call'
    ? { type: 'tool_use', id: `toolu_fake_${ctx.seq}`, name: plan.tool.name, input: plan.tool.arguments }
    : { type: 'text', text: plan.text };
}

function message(plan, ctx, content, stopReason, outputTokens) {
  return {
    id: `msg_fake_${ctx.seq}`,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: ctx.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens },
  };
}

const stopReason = (plan) => (plan.kind === 'tool_call' ? 'tool_use' : 'end_turn');
const outputTokens = (plan) => tokens(plan.text || JSON.stringify(plan.tool?.arguments ?? {}));

export function messagesFrames(plan, ctx) {
  const frame = (type, fields, delta = false) => ({ event: type, data: { type, ...fields }, delta });
  const full = block(plan, ctx);
  const start = plan.kind === 'tool_call' ? { ...full, input: {} } : { ...full, text: '' };
  const deltas =
    plan.kind === 'tool_call'
      ? jsonChunks(JSON.stringify(plan.tool.arguments)).map((partial_json) => ({ type: 'input_json_delta', partial_json }))
      : textChunks(plan.text).map((text) => ({ type: 'text_delta', text }));
  return [
    frame('message_start', { message: message(plan, ctx, [], null, 1) }),
    frame('content_block_start', { index: 0, content_block: start }),
    frame('ping', {}),
    ...deltas.map((delta) => frame('content_block_delta', { index: 0, delta }, true)),
    frame('content_block_stop', { index: 0 }),
    frame('message_delta', { delta: { stop_reason: stopReason(plan), stop_sequence: null }, usage: { output_tokens: outputTokens(plan) } }),
    frame('message_stop', {}),
  ];
}

export function messagesBody(plan, ctx) {
  return message(plan, ctx, [block(plan, ctx)], stopReason(plan), outputTokens(plan));
}
