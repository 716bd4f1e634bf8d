import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listPending, pendingDir } from './pending.js';

describe('listPending', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reads tool and summary as one line without control characters (they are printed to a terminal)', () => {
    const runDir = mkdtempSync(path.join(tmpdir(), 'pending-'));
    dirs.push(runDir);
    mkdirSync(pendingDir(runDir, 'a'), { recursive: true });
    const request = {
      id: 'r1',
      runtime: 'stub',
      tool: 'Ba\u001b]0;title\u0007sh',
      summary: 'evil\u001b[31mred\nnext\r\tline\u009b2J ',
      created: '2026-01-01T00:00:00Z',
      expires: null,
      pid: null,
    };
    writeFileSync(path.join(pendingDir(runDir, 'a'), 'r1.json'), JSON.stringify(request));
    const [read] = listPending(runDir, 'a', new Date('2026-01-01T00:01:00Z'), () => true);
    expect(read).toMatchObject({ id: 'r1', tool: 'Ba ]0;title sh', summary: 'evil [31mred next line 2J' });
  });
});
