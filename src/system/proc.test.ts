import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessTable, parseCmdline, parseStat } from './proc.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fake /proc: pid → [comm, state, ppid, argv]. */
function fakeProc(processes: Record<number, [string, string, number, string[]]>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mosaic-proc-'));
  dirs.push(root);
  for (const [pid, [comm, state, ppid, argv]] of Object.entries(processes)) {
    mkdirSync(path.join(root, pid));
    writeFileSync(path.join(root, pid, 'stat'), `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194560 1 2 3 4\n`);
    writeFileSync(path.join(root, pid, 'cmdline'), `${argv.join('\0')}\0`);
  }
  mkdirSync(path.join(root, 'self'));
  writeFileSync(path.join(root, 'uptime'), '1.0 1.0\n');
  return root;
}

describe('parseStat', () => {
  it('reads pid, comm, state and ppid, also when comm holds spaces and parentheses', () => {
    expect(parseStat('42 (pi) S 7 42 42 0 -1')).toEqual({ pid: 42, comm: 'pi', state: 'S', ppid: 7 });
    expect(parseStat('43 (a b) c)) R 1 43 43 0 -1')).toEqual({ pid: 43, comm: 'a b) c)', state: 'R', ppid: 1 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('parses the real stat of this process', () => {
    const table = new ProcessTable();
    expect(table.stat(process.pid)).toMatchObject({ pid: process.pid, ppid: process.ppid });
    expect(table.alive(process.pid)).toBe(true);
    expect(path.basename(table.argv(process.pid)![0]!)).toMatch(/node/);
  });
});

describe('parseCmdline', () => {
  it('splits on NUL and drops the trailing one', () => {
    expect(parseCmdline('node\0/usr/bin/pi\0--flag\0')).toEqual(['node', '/usr/bin/pi', '--flag']);
    expect(parseCmdline('pi')).toEqual(['pi']); // a process that rewrote its title
  });
});

describe('ProcessTable', () => {
  const root = (): string =>
    fakeProc({
      1: ['init', 'S', 0, ['/sbin/init']],
      10: ['tmux: server', 'S', 1, ['tmux']],
      20: ['sh', 'S', 10, ['sh', '/x/mosaic-launch']],
      21: ['node', 'S', 20, ['node', '/usr/bin/pi']],
      22: ['sleep', 'Z', 21, []],
      23: ['bash', 'S', 21, ['bash']],
      30: ['sh', 'S', 10, ['sh']],
    });

  it('knows a writer runs under a pane only when its parent chain reaches the pane (a reused pid elsewhere does not count)', () => {
    const table = new ProcessTable(root());
    expect(table.aliveUnder(20, 20)).toBe(true);
    expect(table.aliveUnder(23, 20)).toBe(true);
    expect(table.aliveUnder(30, 20)).toBe(false); // alive, but another pane's
    expect(table.aliveUnder(22, 20)).toBe(false); // a zombie
    expect(table.aliveUnder(99, 20)).toBe(false); // gone
    expect(table.aliveUnder(21, null)).toBe(false); // no pane
    expect(table.fullyScanned).toBe(false);
  });

  it('answers single processes without scanning the whole table', () => {
    const table = new ProcessTable(root());
    expect(table.stat(21)?.comm).toBe('node');
    expect(table.argv(21)).toEqual(['node', '/usr/bin/pi']);
    expect(table.alive(22)).toBe(false); // a zombie is not alive
    expect(table.alive(99)).toBe(false);
    expect(table.fullyScanned).toBe(false);
  });

  it('walks descendants breadth first, scanning once', () => {
    const table = new ProcessTable(root());
    expect(table.descendants(10)).toEqual([20, 30, 21, 22, 23]);
    expect(table.fullyScanned).toBe(true);
    expect(table.descendants(21)).toEqual([22, 23]);
    expect(table.descendants(23)).toEqual([]);
  });
});
