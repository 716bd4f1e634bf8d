// Shared helpers for whole-process benchmarks: private worlds, timing, cleanup.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * NODE_EXTRA_CA_CERTS makes every node process parse that certificate bundle as it starts, before
 * any of its code runs (this workplace sets it for every process: +40 ms and +40 ms CPU per node
 * start here, measured with `node -e ''`). mosaic opens no TLS connection on the paths measured, and
 * its baselines and peers (pm2) are node processes too, so the benches run every process without it,
 * as on a machine that does not set it; BENCH_KEEP_CA_CERTS=1 keeps it. machine() reports which.
 */
export const CA_CERTS_FROM_ENV = process.env.NODE_EXTRA_CA_CERTS ?? process.env.BENCH_REMOVED_CA_CERTS ?? null;
if (CA_CERTS_FROM_ENV !== null && process.env.BENCH_KEEP_CA_CERTS !== '1') {
  delete process.env.NODE_EXTRA_CA_CERTS;
  process.env.BENCH_REMOVED_CA_CERTS = CA_CERTS_FROM_ENV; // for a bench started by bench/run.mjs (npm needs it back)
}
/** The mosaic under test: `MOSAIC_BENCH_CLI` (bench/run.mjs points it at a private copy of the build), else this tree's dist/. */
export const CLI = process.env.MOSAIC_BENCH_CLI ? path.resolve(process.env.MOSAIC_BENCH_CLI) : path.join(ROOT, 'dist', 'cli', 'main.js');

/**
 * The argv of bench/ps-floor.mjs for world `w`: the least a Node program does for `fleet ps --json`'s answer,
 * given the pane fields the build under test lists (so the floor lists exactly what mosaic lists).
 */
export async function psFloorArgv(w) {
  const { PANE_FIELDS } = await import(pathToFileURL(path.join(path.dirname(CLI), '..', 'supervisor', 'panes.js')).href);
  return [process.execPath, path.join(ROOT, 'bench', 'ps-floor.mjs'), w.socket, path.join(w.home, 'run'), JSON.stringify(PANE_FIELDS)];
}

/** Throws unless a ps-floor run answered for all `size` agents and the holder. */
export function checkPsFloor(run, size) {
  if (run.status !== 0 || JSON.parse(run.stdout).length !== size + 1) throw new Error(`ps-floor failed: ${run.stderr}`);
}

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
  delete env.TMUX_PANE;
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
    /** The panes' processes and everything under them, each with its start time (see killSurvivors). */
    paneProcesses() {
      const listing = spawnSync('tmux', ['-L', socket, 'list-panes', '-a', '-F', '#{pane_pid}'], { env, encoding: 'utf8' });
      return processTree((listing.stdout ?? '').split('\n').filter(Boolean).map(Number));
    },
    close() {
      // A stub's heartbeat loop can outlive its pane for a while on a loaded box and kept writing into
      // the directory being removed (bench/start failed with ENOTEMPTY on 2026-12-05, after 20 retries).
      const ours = this.paneProcesses();
      this.killServer();
      killSurvivors(ours);
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    },
  };
}

/**
 * /proc/<pid>/stat's start time (field 22), or undefined once the process is gone (a zombie is as good as
 * gone). With the pid it names one process: pids are recycled within a minute at 2,000 agents.
 */
export function processStartTime(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return rest[0] === 'Z' ? undefined : rest[19];
  } catch {
    return undefined;
  }
}

/** The machine's CPU time so far, in jiffies (USER_HZ, 100 a second), from /proc/stat's first line. */
export function machineJiffies() {
  const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { user, nice, system, idle, iowait, irq, softirq, steal };
}

/**
 * The jiffies the whole machine spent busy: user, nice, system, irq and softirq. Not idle or iowait,
 * and not steal (time the hypervisor gave to another guest). bench/hosts and bench/scale both count so.
 */
export function machineBusyJiffies(j = machineJiffies()) {
  return j.user + j.nice + j.system + j.irq + j.softirq;
}

/**
 * SIGKILL, by PID, each process of `tree` that is still the one seen (same start time): ours, nothing else.
 * Returns once they are gone (5 s at most): a signal is delivered asynchronously, and a process still running
 * on the other core could write one more file into a directory about to be removed.
 */
export function killSurvivors(tree) {
  const killed = [];
  for (const [pid, started] of tree) {
    if (processStartTime(pid) !== started) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push([pid, started]);
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + 5000;
  while (killed.some(([pid, started]) => processStartTime(pid) === started) && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

/** `roots` and all their descendants that are alive, each with its start time. */
function processTree(roots) {
  const tree = new Map();
  for (const pid of treePids(roots)) {
    const started = processStartTime(pid);
    if (started !== undefined) tree.set(pid, started);
  }
  return tree;
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

/** Every pid in the process trees under `rootPids` (roots included), from one pass over /proc. */
export function treePids(rootPids) {
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
  const out = [];
  const stack = [...rootPids];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Resident and proportional memory of a process tree, from /proc (kB). */
export function treeMemory(rootPids) {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const pid of treePids(rootPids)) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      processes += 1;
    } catch {
      /* gone */
    }
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

/* ---------- machine-readable results (bench/run.mjs collects them into one table) ---------- */

/**
 * floorBound of a target with several parts, each `[missed, reason or false]` (reason: why the floor misses
 * that part too): the reasons of the missed parts when the floor misses each of them, else false.
 */
const partsFloorBound = (parts) => {
  const missed = parts.filter(([isMissed]) => isMissed);
  return missed.length > 0 && missed.every(([, bound]) => bound) && missed.map(([, bound]) => bound).join('; ');
};

/**
 * The performance targets, by result id: which bench measures each, what the figure is,
 * the target as printed, and `met(result)`: true, false, or null (not decidable from what was measured).
 * `ratio` is as each bench reports it (see `ratioOf`): baseline/mosaic for "≥ N×", mosaic/baseline for "≤ N×".
 * `floorBound(result)`: false, or which part of the target the same run's floor (`result.floor`, in the
 * result's unit: the same work with no mosaic in it, measured beside mosaic on this machine, see
 * `floor_label`) misses too, so that mosaic could not have met it in this run by cutting its own share.
 * Asked only for a missed target. A target with two parts is floor-bound only when every part mosaic
 * missed is: a part missed with the floor inside it is mosaic's own miss, whatever the other part says
 * (the systemd row, 2026-12-06: ≥ 3× per unit out of the floor's reach, ≤ 1.5× built-in missed at 1.56×
 * with the floor at 1.41×, was counted floor-bound before).
 */
export const TARGETS = {
  'ps@500': {
    bench: 'ps',
    figure: 'fleet ps --json, 500 agents (vs naive join)',
    target: '≤ 120 ms',
    met: (r) => r.mosaic <= 120,
    floorBound: (r) => r.floor > 120 && 'floor > 120 ms',
  },
  'peers.ps@500': {
    bench: 'peers',
    figure: 'fleet ps --json vs pm2 jlist, 500',
    target: '≤ 120 ms, ≥ 2× pm2',
    met: (r) => r.mosaic <= 120 && r.ratio >= 2,
    floorBound: (r) =>
      partsFloorBound([
        [r.mosaic > 120, r.floor > 120 && 'floor > 120 ms'],
        [!(r.ratio >= 2), r.baseline / r.floor < 2 && 'pm2 < 2× the floor'],
      ]),
  },
  'start@500': {
    bench: 'start',
    figure: 'fleet start 500 (until all heartbeats)',
    target: '≤ 1.5 s, ≥ 2.5× tmux loop',
    met: (r) => r.mosaic <= 1500 && r.ratio >= 2.5,
    floorBound: (r) =>
      partsFloorBound([
        [r.mosaic > 1500, r.floor > 1500 && 'floor > 1.5 s'],
        [!(r.ratio >= 2.5), r.baseline / r.floor < 2.5 && 'loop < 2.5× the floor'],
      ]),
  },
  'stop@500': {
    bench: 'start',
    figure: 'fleet stop 500 (vs its kill batch)',
    target: '≤ 0.5 s',
    met: (r) => r.mosaic <= 500,
    floorBound: (r) => r.floor > 500 && 'floor > 0.5 s',
  },
  'systemd@100': {
    bench: 'systemd',
    figure: 'systemd start+stop 100',
    target: '≥ 3× per-unit, ≤ 1.5× built-in',
    // The built-in side is only decidable when the bench measured it (extra.builtin, ms).
    met: (r) => {
      if (!(r.ratio >= 3)) return false;
      if (typeof r.extra?.builtin !== 'number') return null;
      return r.mosaic <= 1.5 * r.extra.builtin;
    },
    floorBound: (r) =>
      partsFloorBound([
        [!(r.ratio >= 3), r.baseline / r.floor < 3 && 'per-unit < 3× the floor'],
        [r.mosaic > 1.5 * r.extra.builtin, r.floor > 1.5 * r.extra.builtin && 'floor > 1.5× built-in'],
      ]),
  },
  send: {
    bench: 'send',
    figure: 'one agent send --verify (median)',
    target: '≤ 100 ms',
    met: (r) => r.mosaic <= 100,
    floorBound: (r) => r.floor > 100 && 'floor > 100 ms',
  },
  'send×50': {
    bench: 'send',
    figure: '50 concurrent agent send --verify',
    target: '≤ 2 s',
    met: (r) => r.mosaic <= 2000,
    floorBound: (r) => r.floor > 2000 && 'floor > 2 s',
  },
  'serve@200/10': {
    bench: 'serve',
    figure: 'serve tmux calls/s, 200 vs 10 agents',
    target: '≈ 1× (≤ 1.2×)',
    met: (r) => r.ratio !== null && r.ratio <= 1.2,
  },
  'hosts@3x100': {
    bench: 'hosts',
    figure: 'fleet ps --json, 3 hosts×100 vs 1×100',
    target: '≤ 2×',
    met: (r) => r.ratio <= 2,
    floorBound: (r) => r.floor / r.baseline > 2 && 'floor > 2× one host',
  },
};

const finite = (v, digits) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toFixed(digits)) : null);

/**
 * Print one `BENCH-RESULT {json}` line on stdout for bench/run.mjs's table; returns the record.
 * `id` names an entry of TARGETS (its figure, target and verdict are filled in); without one the
 * line is informational (give `figure`). `mosaic` and `baseline` are in `unit` (default ms);
 * `ratio` defaults to baseline/mosaic; `ratio_of` says what it divides ("pm2/mosaic"). `floor` (same unit)
 * and `floor_label`: the same run's floor for a target's figure, which decides `floor_bound` (see TARGETS).
 */
export function emitResult(fields) {
  const record = resultRecord(fields);
  process.stdout.write(`BENCH-RESULT ${JSON.stringify(record)}\n`);
  return record;
}

/** The record emitResult prints (also used by bench/run.mjs for output it has to parse). */
export function resultRecord({
  id,
  bench,
  figure,
  mosaic,
  baseline = null,
  ratio,
  ratio_of = '',
  unit = 'ms',
  baseline_label = '',
  floor = null,
  floor_label = '',
  extra,
  note,
}) {
  const spec = id ? TARGETS[id] : undefined;
  if (id && !spec) throw new Error(`emitResult: unknown target id ${id}`);
  const record = {
    id: id ?? null,
    bench: spec?.bench ?? bench ?? path.basename(process.argv[1] ?? '', '.mjs'),
    figure: figure ?? spec?.figure ?? id,
    mosaic: finite(mosaic, 2),
    baseline: finite(baseline, 2),
    baseline_label,
    unit,
    ratio: finite(ratio ?? (typeof baseline === 'number' && mosaic ? baseline / mosaic : null), 3),
    ratio_of,
    target: spec?.target ?? '',
    met: null,
    floor: finite(floor, 2),
    floor_label,
    floor_bound: null,
    ...(extra ? { extra } : {}),
    ...(note ? { note } : {}),
  };
  if (spec && record.mosaic !== null) record.met = spec.met(record);
  if (record.met === false && record.floor !== null && spec?.floorBound) record.floor_bound = spec.floorBound(record) || false;
  return record;
}

/** The machine as the result table heads it: cores, CPU, memory, load averages, node, tmux. */
export function machine() {
  const cpus = os.cpus();
  const tmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    load: os.loadavg().map((v) => Number(v.toFixed(2))),
    node: process.version,
    tmux: tmux.status === 0 ? tmux.stdout.trim() : 'no tmux',
    caCerts: CA_CERTS_FROM_ENV === null ? 'not set' : process.env.NODE_EXTRA_CA_CERTS ? 'kept' : 'removed',
  };
}

/** Median wall time of a bare `node -e ''`, with and without NODE_EXTRA_CA_CERTS (the cost every node process pays). */
export function nodeStartCost(rounds = 9) {
  const time = (env) =>
    median(
      Array.from({ length: rounds }, () => {
        const t0 = now();
        spawnSync(process.execPath, ['-e', ''], { env, stdio: 'ignore' });
        return now() - t0;
      }),
    );
  const without = { ...process.env };
  delete without.NODE_EXTRA_CA_CERTS;
  return {
    without: time(without),
    with: CA_CERTS_FROM_ENV === null ? null : time({ ...without, NODE_EXTRA_CA_CERTS: CA_CERTS_FROM_ENV }),
  };
}
