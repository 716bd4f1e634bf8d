import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../system/package.js';
import { hookAck } from './hook-ack.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Run the real reporter the way a runtime's prompt hook does, with the prompt JSON on stdin. */
function report(runDir: string, agent: string, prompt: string): void {
  const result = spawnSync('sh', [path.join(packageRoot(), 'framework', 'bin', 'mosaic-report'), 'busy', '--ack', 'UserPromptSubmit'], {
    input: JSON.stringify({ hook_event_name: 'UserPromptSubmit', prompt }),
    env: { ...process.env, MOSAIC_HEARTBEAT_FILE: path.join(runDir, `${agent}.hb`) },
  });
  expect(result.status).toBe(0);
}

describe('runtime hook acknowledgements', () => {
  it('accepts the send whose id the runtime reported, and only that one', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-ack-'));
    dirs.push(runDir);
    const source = hookAck(runDir, 'a');
    const send = { sendId: '0a1b2c3d', agent: 'a', text: '[h:operator -> a #0a1b2c3d] run the tests', pastedAt: Date.now() };
    expect(await source.check(send)).toBeUndefined(); // no report yet
    report(runDir, 'a', '[h:operator -> a #ffffffff] an older message');
    expect(await source.check(send)).toBeUndefined();
    report(runDir, 'a', send.text);
    expect(await source.check(send)).toMatchObject({ kind: 'accepted', detail: expect.stringMatching(/#0a1b2c3d.*busy/) });
    expect(await hookAck(runDir, 'b').check({ ...send, agent: 'b' })).toBeUndefined();
  });

  it('calls it queued when the runtime was mid-turn before the send (pi reports queued input at once)', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-ack-'));
    dirs.push(runDir);
    report(runDir, 'a', '[h:operator -> a #11111111] the turn in progress');
    const source = hookAck(runDir, 'a'); // taken before the paste, while busy
    const send = { sendId: '22222222', agent: 'a', text: '[h:operator -> a #22222222] next', pastedAt: Date.now() };
    report(runDir, 'a', send.text);
    expect(await source.check(send)).toMatchObject({ kind: 'queued', detail: expect.stringMatching(/during its current turn/) });
  });
});
