import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTRACT_FILES, CONTRACT_MAX_LINES, contractBudgetProblems, countLines } from '../src/launch/contract.js';

// The agent contract is resident in every agent's system prompt: each shipped file must exist and
// stay within the line budget. A missing file fails here (it is never skipped).
const SHIPPED = path.resolve(import.meta.dirname, '..', 'framework', 'contract');

describe('the agent contract budget', () => {
  it(`framework/contract/{${CONTRACT_FILES.join(',')}} exist and are at most ${CONTRACT_MAX_LINES} lines each`, async () => {
    expect(await contractBudgetProblems(SHIPPED)).toEqual([]);
  });

  it.each(CONTRACT_FILES)('%s is real text, not a stub', (name) => {
    const text = readFileSync(path.join(SHIPPED, name), 'utf8');
    expect(countLines(text)).toBeGreaterThan(20);
    expect(countLines(text)).toBeLessThanOrEqual(CONTRACT_MAX_LINES);
  });
});
