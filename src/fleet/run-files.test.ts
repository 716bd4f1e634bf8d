import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ownsRunFile, removeAgentRunFiles } from './run-files.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const FILES = (agent: string): string[] => [
  `${agent}.state.json`,
  `${agent}.state.fresh.json`,
  `${agent}.launch`,
  `${agent}.hb`,
  `${agent}.hb.status`,
  `${agent}.hb.limit`,
  `${agent}.hb.bell`,
  `${agent}.hb.4242`,
  `${agent}.hb.status.4242`,
  `${agent}.hb.main.tmp`,
  `${agent}.hb.status.tmp`,
  `${agent}.hb.loop`,
  `${agent}.kickstart`,
  `${agent}.system-prompt.md`,
  `${agent}.session`,
  `${agent}.session.start`,
  `${agent}.task`,
  `${agent}.unit-start`,
  `.${agent}.state.json.4242.0a1b2c3d.tmp`,
];

describe('an agent’s run files', () => {
  it('are exactly its own: never those of an agent whose name shares a prefix, or of the fleet', () => {
    for (const name of FILES('a')) expect([name, ownsRunFile('a', name)]).toEqual([name, true]);
    for (const other of ['ab', 'a.b', 'a-b', 'a.hb', 'xa', 'A']) {
      for (const name of FILES(other)) expect([other, name, ownsRunFile('a', name)]).toEqual([other, name, false]);
    }
    for (const name of ['fleet-crashes', 'roster-cache-0453620a.json', 'holder.unit-setup', 'pending', 'a', 'a.', 'a.hb.x', 'send-a.lock'])
      expect([name, ownsRunFile('a', name)]).toEqual([name, false]);
    expect(ownsRunFile('a.b', 'a.b.hb')).toBe(true);
    expect(ownsRunFile('a.b', 'aXb.hb')).toBe(false); // the dot is literal
  });

  it('go with removeAgentRunFiles, with its pending requests and its stale locks; a held lock stays', async () => {
    const run = mkdtempSync(path.join(os.tmpdir(), 'mosaic-run-files-'));
    dirs.push(run);
    for (const agent of ['a', 'ab', 'a.b']) for (const name of FILES(agent)) writeFileSync(path.join(run, name), 'x\n');
    writeFileSync(path.join(run, 'fleet-crashes'), '');
    for (const agent of ['a', 'ab']) {
      mkdirSync(path.join(run, 'pending', agent), { recursive: true });
      writeFileSync(path.join(run, 'pending', agent, 'req-1.json'), '{}');
    }
    const dead = spawnSync('true').pid!; // exited and reaped: a holder that is gone
    writeFileSync(path.join(run, 'send-a.lock'), `${dead} -\n`);
    writeFileSync(path.join(run, 'supervise-a.lock'), `${process.pid} -\n`); // held by a live process
    writeFileSync(path.join(run, 'send-ab.lock'), `${dead} -\n`);

    const removed = await removeAgentRunFiles(run, 'a');
    expect(removed.sort()).toEqual([...FILES('a'), 'pending/a', 'send-a.lock'].sort());
    expect(readdirSync(run).sort()).toEqual(
      [...FILES('ab'), ...FILES('a.b'), 'fleet-crashes', 'pending', 'send-ab.lock', 'supervise-a.lock'].sort(),
    );
    expect(readdirSync(path.join(run, 'pending'))).toEqual(['ab']);
    expect(await removeAgentRunFiles(path.join(run, 'absent'), 'a')).toEqual([]);
    // A name that is a directory's ('..', '.') or no agent's removes nothing: pending/.. is the run directory itself.
    const left = readdirSync(run).sort();
    for (const name of ['..', '.', '', 'a/../..', '*']) expect([name, await removeAgentRunFiles(run, name)]).toEqual([name, []]);
    expect(readdirSync(run).sort()).toEqual(left);
    expect(readdirSync(path.join(run, 'pending'))).toEqual(['ab']);
  });
});
