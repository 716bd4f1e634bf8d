import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ATTENTION_STATES } from '../attention/state.js';
import { ATTENTION_ORDER, byAttention, colKey, COLUMNS } from './ps-cells.js';

describe('ps-cells (shared by fleet ps and the dashboard page)', () => {
  it('imports nothing at run time: the browser loads the compiled file alone', () => {
    const source = readFileSync(new URL('./ps-cells.ts', import.meta.url), 'utf8');
    const imports = source.split('\n').filter((line) => /^import\b/.test(line));
    expect(imports.every((line) => line.startsWith('import type '))).toBe(true);
  });

  it('ranks needs-you as the attention rule does, then by name', () => {
    expect(ATTENTION_ORDER).toEqual(ATTENTION_STATES);
    const rows = ['none', 'done', 'permission', 'question'].map((state, i) => ({ agent: `a${3 - i}`, attention: { state } }));
    expect(byAttention(rows as never[]).map((r: { agent: string }) => r.agent)).toEqual(['a1', 'a0', 'a2', 'a3']);
    expect(COLUMNS.map(colKey)).toContain('pane-pid');
  });
});
