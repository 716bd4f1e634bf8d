// How replies are cut into stream deltas, and the rough token counts every API reports.

/** Words with their trailing whitespace, so the deltas join back to the exact text. */
export function textChunks(text) {
  return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}

/** Tool-call arguments arrive as JSON fragments; cut them at a fixed width like real streams do. */
export function jsonChunks(json, width = 16) {
  const out = [];
  for (let i = 0; i < json.length; i += width) out.push(json.slice(i, i + width));
  return out;
}

export function tokens(text) {
  return Math.max(1, Math.ceil(text.length / 4));
}
