// Shared helpers for whole-process benchmarks: private worlds, timing, cleanup.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

/** A private config root, TMUX_TMPDIR and socket; `close()` kills the server by its socket. */
export function world(name) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mosaic-bench-${name}-`));
  const home = path.join(dir, 'home');
  const tmuxTmpdir = path.join(dir, 'tmux');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmuxTmpdir, { recursive: true });
  const socket = `mb-${name}-${randomBytes(3).toString('hex')}`;
  const env = { ...process.env, MOSAIC_FLEET_HOME: home, TMUX_TMPDIR: tmuxTmpdir, NO_COLOR: '1' };
  delete env.TMUX;
  delete env.MOSAIC_TMUX_SOCKET;
  return {
    dir,
    home,
    socket,
    env,
    rosterPath: path.join(home, 'roster.yaml'),
    writeRoster(agentsYaml, extra = '') {
      writeFileSync(
        path.join(home, 'roster.yaml'),
        `version: 1\ntransport: tmux\ntmux:\n  socket_name: ${socket}\n${extra}agents:\n${agentsYaml}`,
      );
    },
    mosaic(args) {
      return spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    },
    tmux(args) {
      return spawnSync('tmux', ['-L', socket, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    },
    killServer() {
      spawnSync('tmux', ['-L', socket, 'kill-server'], { env, stdio: 'ignore' });
    },
    close() {
      this.killServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const stubAgents = (count, prefix = 'a') =>
  Array.from({ length: count }, (_, i) => `  - {name: ${prefix}${i}, runtime: stub}\n`).join('');

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const now = () => performance.now();

export async function until(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resident and proportional memory of a process tree, from /proc (kB). */
export function treeMemory(rootPids) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      /* process went away */
    }
  }
  let rss = 0;
  let pss = 0;
  let processes = 0;
  const stack = [...rootPids];
  while (stack.length) {
    const pid = stack.pop();
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      processes += 1;
    } catch {
      /* gone */
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return { rss, pss, processes };
}

export const fmt = (ms) => `${ms.toFixed(0)} ms`;

/** Run a process to completion; resolve with its wall time (ms), status and output. */
export function timed(argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ ms: performance.now() - t0, status, stdout, stderr }));
  });
}
