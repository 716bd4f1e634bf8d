import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { decide, listPending, pendingDir } from './pending.js';

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

  it('keeps an answer the waiter has not taken listed, with the answer; the same answer again, never the opposite', async () => {
    const runDir = mkdtempSync(path.join(tmpdir(), 'pending-'));
    dirs.push(runDir);
    mkdirSync(pendingDir(runDir, 'a'), { recursive: true });
    const request = { runtime: 'stub', tool: 'Bash', summary: 'ls', created: '2026-01-01T00:00:00Z', expires: null, pid: null };
    for (const id of ['r1', 'r2']) writeFileSync(path.join(pendingDir(runDir, 'a'), `${id}.json`), JSON.stringify({ ...request, id }));
    const now = new Date('2026-01-01T00:01:00Z');
    const list = () => listPending(runDir, 'a', now, () => true);
    const at = new Date('2026-01-01T00:00:30Z');
    await decide(runDir, list(), 'a', 'r1', 'allow', { by: 'vm:me', at });
    expect(list().map((r) => [r.id, r.answered])).toEqual([
      ['r1', { decision: 'allow', by: 'vm:me', at: at.toISOString() }],
      ['r2', null],
    ]);
    // No id: the only unanswered request.
    expect((await decide(runDir, list(), 'a', undefined, 'deny', { by: 'vm:me', at })).id).toBe('r2');
    const error = await decide(runDir, list(), 'a', 'r1', 'deny', { by: 'vm:me', at }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(/^request r1 of agent "a" was already approved by vm:me at .*not taken that answer yet$/);
    expect((await decide(runDir, list(), 'a', 'r1', 'allow', { by: 'vm:me', at })).id).toBe('r1');
    expect(list().map((r) => r.answered?.decision)).toEqual(['allow', 'deny']);
  });
});
