// Reads the three request dialects (OpenAI chat, OpenAI Responses, Anthropic Messages) into one neutral shape:
// what the user last said, what the system prompt says, which tools were declared, and whether the
// conversation ends with a tool result. Everything else in a body is ignored.

const REMINDER = /<system-reminder>[\s\S]*?<\/system-reminder>/g;
const TOOL_RESULT_ITEM = /_call_output$/;

/** Text of a content value: a string, or an array of parts whose text parts are joined. */
function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part === 'string' ? part : part && typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text.length > 0)
    .join('\n');
}

/** Claude Code wraps context in <system-reminder> blocks inside the user turn; the prompt is what remains. */
function userText(content) {
  const raw = textOf(content);
  const stripped = raw.replace(REMINDER, '').trim();
  return stripped || raw.trim();
}

function lastUserText(messages, isUser) {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const message = messages[i];
    if (!message || !isUser(message)) continue;
    const text = userText(message.content);
    if (text) return text;
  }
  return '';
}

function schemaOf(value) {
  return value && typeof value === 'object' ? value : {};
}

function chat(body) {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = messages[messages.length - 1];
  const declared = Array.isArray(body.tools) ? body.tools : Array.isArray(body.functions) ? body.functions : [];
  const format = body.response_format;
  return {
    lastUserText: lastUserText(messages, (m) => m.role === 'user'),
    systemText: messages
      .filter((m) => m && (m.role === 'system' || m.role === 'developer'))
      .map((m) => textOf(m.content))
      .join('\n'),
    tools: declared
      .map((tool) => tool.function ?? tool)
      .filter((fn) => fn && typeof fn.name === 'string')
      .map((fn) => ({ name: fn.name, kind: 'function', schema: schemaOf(fn.parameters) })),
    endsWithToolResult: Boolean(last && (last.role === 'tool' || last.role === 'function')),
    jsonSchema: format?.type === 'json_schema' ? schemaOf(format.json_schema?.schema) : format?.type === 'json_object' ? {} : undefined,
  };
}

function responses(body) {
  const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
  const last = items[items.length - 1];
  const declared = Array.isArray(body.tools) ? body.tools : [];
  const format = body.text?.format;
  const isMessage = (item) => item && (item.type === undefined || item.type === 'message');
  return {
    lastUserText: lastUserText(items, (item) => isMessage(item) && item.role === 'user'),
    systemText: [
      typeof body.instructions === 'string' ? body.instructions : '',
      ...items
        .filter((item) => isMessage(item) && (item.role === 'system' || item.role === 'developer'))
        .map((item) => textOf(item.content)),
    ].join('\n'),
    tools: declared.map((tool) =>
      tool.type === 'local_shell'
        ? { name: 'local_shell', kind: 'local_shell', schema: {} }
        : {
            name: String(tool.name ?? tool.type),
            kind: tool.type === 'function' ? 'function' : String(tool.type),
            schema: schemaOf(tool.parameters),
          },
    ),
    endsWithToolResult: Boolean(last && typeof last.type === 'string' && TOOL_RESULT_ITEM.test(last.type)),
    jsonSchema: format?.type === 'json_schema' ? schemaOf(format.schema) : format?.type === 'json_object' ? {} : undefined,
  };
}

function messages(body) {
  const list = Array.isArray(body.messages) ? body.messages : [];
  const last = list[list.length - 1];
  const declared = Array.isArray(body.tools) ? body.tools : [];
  const format = body.output_format ?? body.output_config?.format;
  return {
    lastUserText: lastUserText(list, (m) => m.role === 'user'),
    systemText: textOf(body.system),
    tools: declared
      .filter((tool) => tool && typeof tool.name === 'string')
      .map((tool) => ({
        name: tool.name,
        kind: tool.type && tool.type !== 'custom' ? String(tool.type) : 'function',
        schema: schemaOf(tool.input_schema),
      })),
    endsWithToolResult: Boolean(
      last && last.role === 'user' && Array.isArray(last.content) && last.content.some((block) => block && block.type === 'tool_result'),
    ),
    jsonSchema: format?.type === 'json_schema' ? schemaOf(format.schema) : undefined,
  };
}

const READERS = { chat, responses, messages };

/**
 * @param {'chat'|'responses'|'messages'} api
 * @param {any} body parsed JSON body
 */
export function parseRequest(api, body) {
  const read = READERS[api](body);
  return { api, model: typeof body.model === 'string' ? body.model : '', stream: body.stream === true, ...read, body };
}
