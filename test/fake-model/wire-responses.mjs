// OpenAI Responses API: `event: <type>` + `data: {...}` pairs from response.created to response.completed,
// or one response object. Tool calls are `function_call` items (or `local_shell_call` for codex's built-in).
import { jsonChunks, textChunks, tokens } from './chunks.mjs';

function outputItem(plan, ctx, status) {
  if (plan.kind !== 'tool_call') {
    const content = status === 'completed' ? [{ type: 'output_text', text: plan.text, annotations: [], logprobs: [] }] : [];
    return { id: `msg_fake_${ctx.seq}`, type: 'message', status, role: 'assistant', content };
  }
  if (plan.tool.kind === 'local_shell') {
    const command = plan.tool.arguments.command ?? ['bash', '-lc', String(plan.tool.arguments.cmd ?? '')];
    const action = { type: 'exec', command, timeout_ms: null, working_directory: null, env: {}, user: null };
    return { id: `lsh_fake_${ctx.seq}`, type: 'local_shell_call', status: 'completed', call_id: `call_fake_${ctx.seq}`, action };
  }
  const args = status === 'completed' ? JSON.stringify(plan.tool.arguments) : '';
  return {
    id: `fc_fake_${ctx.seq}`,
    type: 'function_call',
    status,
    call_id: `call_fake_${ctx.seq}`,
    name: plan.tool.name,
    arguments: args,
  };
}

function response(plan, ctx, status) {
  const out = tokens(plan.text || JSON.stringify(plan.tool?.arguments ?? {}));
  return {
    id: `resp_fake_${ctx.seq}`,
    object: 'response',
    created_at: ctx.created,
    status,
    model: ctx.model,
    output: status === 'completed' ? [outputItem(plan, ctx, 'completed')] : [],
    usage:
      status === 'completed'
        ? {
            input_tokens: ctx.inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: out,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: ctx.inputTokens + out,
          }
        : null,
  };
}

export function responsesFrames(plan, ctx) {
  let sequence = 0;
  const frame = (type, fields, delta = false) => ({ event: type, data: { type, sequence_number: sequence++, ...fields }, delta });
  const item = outputItem(plan, ctx, 'in_progress');
  const at = { item_id: item.id, output_index: 0 };
  const frames = [frame('response.created', { response: response(plan, ctx, 'in_progress') })];
  frames.push(frame('response.output_item.added', { output_index: 0, item }));
  if (plan.kind !== 'tool_call') {
    const part = { type: 'output_text', text: '', annotations: [] };
    frames.push(frame('response.content_part.added', { ...at, content_index: 0, part }));
    for (const delta of textChunks(plan.text))
      frames.push(frame('response.output_text.delta', { ...at, content_index: 0, delta, logprobs: [] }, true));
    frames.push(frame('response.output_text.done', { ...at, content_index: 0, text: plan.text, logprobs: [] }));
    frames.push(frame('response.content_part.done', { ...at, content_index: 0, part: { ...part, text: plan.text } }));
  } else if (item.type === 'function_call') {
    const args = JSON.stringify(plan.tool.arguments);
    for (const delta of jsonChunks(args)) frames.push(frame('response.function_call_arguments.delta', { ...at, delta }, true));
    frames.push(frame('response.function_call_arguments.done', { ...at, name: plan.tool.name, arguments: args }));
  }
  frames.push(frame('response.output_item.done', { output_index: 0, item: outputItem(plan, ctx, 'completed') }));
  frames.push(frame('response.completed', { response: response(plan, ctx, 'completed') }));
  return frames;
}

export function responsesBody(plan, ctx) {
  const body = response(plan, ctx, 'completed');
  return plan.kind === 'tool_call' ? body : { ...body, output_text: plan.text };
}
