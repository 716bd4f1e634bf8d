import { describe, expect, it } from 'vitest';
import { chunkGroups } from './group-batch.js';

describe('chunkGroups', () => {
  it('joins groups with ";" and never splits one across tmux calls', () => {
    const group = (i: number): string[][] => [
      ['new-session', '-d', '-s', `agent${i}`, '--', 'sh', 'x'.repeat(100)],
      ['pipe-pane', '-o', '-t', `=agent${i}:0.0`, 'exec cat;'],
    ];
    const groups = Array.from({ length: 40 }, (_, i) => group(i));
    const chunks = chunkGroups(groups, 1000);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      expect(Buffer.byteLength(chunk.join(' '))).toBeLessThan(1000);
      // Each chunk holds whole groups: as many pipe-panes as new-sessions, in order.
      const sessions = chunk.filter((arg) => arg === 'new-session').length;
      expect(chunk.filter((arg) => arg === 'pipe-pane')).toHaveLength(sessions);
    }
    const all = chunks.flat();
    expect(all.filter((arg) => arg === 'new-session')).toHaveLength(40);
    expect(all).toContain('exec cat\\;'); // a trailing ";" inside an argument stays literal
    expect(chunkGroups([[], [['a']], [['b']]])).toEqual([['a', ';', 'b']]);
  });
});
