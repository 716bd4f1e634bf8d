// bench/scale: one big fleet on one box (target 5 of the performance issue): `mosaic fleet start`
// of 2,000 stub agents, `mosaic fleet ps --json` (median of a few runs), `mosaic fleet stop`, all
// whole processes of the built CLI. Also reports what the fleet costs the box: the tmux server's
// RSS/PSS and open fds (against its RLIMIT_NOFILE), the memory of every agent's process tree, the
// ptys in use, and checks that the holder (fleet watchdog) is alive and that `fleet ps` shows every
// agent running. Informational results only (no target id): BENCH-RESULT lines for start, ps, stop
// and the tmux server's memory.
// Diagnostics printed along the way: the heartbeat rate over the start (does creation slow down as
// the server fills?), the tmux server's time on/off a CPU (/proc/<pid>/schedstat) and its own vs
// reaped children's CPU during start and stop, the fleet's idle CPU, one profiled `fleet ps`, and
// how fast the agents' processes go after `fleet stop` (by pid AND start time: at 2,000 agents the
// heartbeats recycle pids within about a minute where pid_max is 32768).
// Run: node bench/scale.mjs   (BENCH_AGENTS=2000  BENCH_ROUNDS=5 (ps runs)  BENCH_HB_TIMEOUT_S=300
//      BENCH_HB_INTERVAL_S=<s> (the stubs' heartbeat interval; default: the roster's, 15 s)
//      BENCH_PS_PROFILE=0 to skip the profiled ps run)
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import {
  CLI,
  emitResult,
  fmt,
  machineBusyJiffies,
  machineJiffies,
  median,
  now,
  processStartTime,
  stubAgents,
  treeMemory,
  treePids,
  world,
} from './lib.mjs';

const COUNT = Number(process.env.BENCH_AGENTS ?? 2000);
const PS_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const HB_TIMEOUT_MS = Number(process.env.BENCH_HB_TIMEOUT_S ?? 300) * 1000;
/**
 * Each stub beat is three process starts (date, mv, sleep). On a VM where a process start costs ~7 ms
 * of CPU (2026-12-05), 2,000 idle stubs at 15 s need more than two cores for their beats alone; a longer
 * interval separates mosaic's own scaling from the stubs' cost.
 */
const HB_INTERVAL_S = process.env.BENCH_HB_INTERVAL_S ? Number(process.env.BENCH_HB_INTERVAL_S) : undefined;
/** A guard on each CLI process, well above anything sane: a hung command must not hang the bench. */
const CLI_TIMEOUT_MS = 15 * 60_000;
const HOLDER = '_holder';

const w = world('scale');
/** pid -> start time (field 22 of /proc/<pid>/stat) of every process of our fleet seen so far. */
const ours = new Map();
let closed = false;
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
/** Our fleet's processes still alive (same pid AND same start time: never a recycled pid). */
const oursAlive = () => [...ours].filter(([pid, started]) => processStartTime(pid) === started).map(([pid]) => pid);
const closeWorld = () => {
  if (closed) return;
  closed = true;
  w.killServer(); // kill-server on OUR socket only
  // 2,000 agents take a while to die; removing the directory while they write heartbeats fails (ENOTEMPTY).
  for (let waited = 0; waited < 20_000 && oursAlive().length > 0; waited += 100) sleepSync(100);
  const stragglers = oursAlive();
  if (stragglers.length > 0) {
    console.log(`  cleanup: ${stragglers.length} fleet processes outlived kill-server by 20 s; SIGKILL by pid`);
    for (const pid of stragglers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    sleepSync(500);
  }
  try {
    w.close();
  } catch {
    rmSync(w.dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  }
};
/** Remember every process under the tmux server (and the server) as ours, for the cleanup. */
const remember = (serverPid) => {
  for (const pid of treePids([serverPid])) {
    const started = processStartTime(pid);
    if (started) ours.set(pid, started);
  }
};
process.on('exit', closeWorld);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

/** Run the CLI as a whole process, asynchronously (the bench can watch meanwhile); killed after `timeoutMs`. */
function mosaic(args, { timeoutMs = CLI_TIMEOUT_MS, nodeArgs = [], onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { env: w.env, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, status, signal, timedOut, stdout, stderr });
    });
  });
}

const describe = (r) =>
  `exit ${r.status}${r.signal ? ` (signal ${r.signal})` : ''}${r.timedOut ? ` (killed by the bench after ${CLI_TIMEOUT_MS / 1000} s)` : ''}` +
  `${r.stderr.trim() ? `\n    stderr: ${r.stderr.trim().split('\n').slice(-8).join('\n            ')}` : ''}`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* ---------- what the box sees ---------- */

function serverPid() {
  const r = w.tmux(['display-message', '-p', '#{pid}']);
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

function serverMemory(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return { rss: Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0), pss: Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) };
}

/** The server's open fds, by kind (ptmx = a pane's pty, pipe, socket = clients/socketpairs, …). */
function serverFds(pid) {
  const kinds = {};
  let total = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    total += 1;
    const kind = target.startsWith('pipe:')
      ? 'pipe'
      : target.startsWith('socket:')
        ? 'socket'
        : target.startsWith('anon_inode:')
          ? target.slice('anon_inode:'.length)
          : target === '/dev/ptmx' || target.startsWith('/dev/pts/ptmx')
            ? 'ptmx'
            : target.startsWith('/dev/pts/')
              ? 'pts'
              : 'file';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return { total, kinds };
}

function limitOf(pid, name) {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name));
  const [soft, hard] = line ? line.slice(name.length).trim().split(/\s+/) : [];
  return { soft, hard };
}

/** utime+stime of a process, in clock ticks. */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** A process's CPU in seconds: its own (utime+stime) and its reaped children's (cutime+cstime). */
function cpuSplit(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return { own: (f[11] + f[12]) / 100, children: (f[13] + f[14]) / 100 };
  } catch {
    return null;
  }
}
const cpuDelta = (a, b) =>
  a && b ? `own ${(b.own - a.own).toFixed(1)} s CPU, its reaped children ${(b.children - a.children).toFixed(1)} s CPU` : 'n/a';

/** Runnable tasks on the machine now (/proc/stat procs_running). */
const procsRunning = () => Number(/^procs_running (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);

/** /proc/<pid>/schedstat: ns on a CPU, ns waiting on a run queue. */
function schedstat(pid) {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { run, wait };
  } catch {
    return null;
  }
}
const schedDelta = (a, b) =>
  a && b ? `on CPU ${((b.run - a.run) / 1e9).toFixed(2)} s, waiting for a CPU ${((b.wait - a.wait) / 1e9).toFixed(2)} s` : 'n/a';

/** CPU ticks (own + reaped children) of every process in a tree, by pid. */
function treeTicks(root) {
  const ticks = new Map();
  for (const pid of treePids([root])) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    } catch {
      /* gone */
    }
  }
  return ticks;
}

/** Whole-machine busy fraction over `ms` (from /proc/stat), and the server's share of one core. */
async function idleLoad(pid, ms) {
  const cpu = () => {
    const j = machineJiffies();
    return { busy: machineBusyJiffies(j), total: Object.values(j).reduce((a, b) => a + b, 0) };
  };
  const a = cpu();
  const s = cpuTicks(pid);
  const t1 = treeTicks(pid);
  await sleep(ms);
  const b = cpu();
  const s2 = cpuTicks(pid);
  const t2 = treeTicks(pid);
  let fleet = 0;
  for (const [p, ticks] of t2) if (t1.has(p)) fleet += ticks - t1.get(p);
  const ticksPerSecond = 100; // USER_HZ on Linux
  return {
    machineBusy: (b.busy - a.busy) / (b.total - a.total),
    serverCore: (s2 - s) / ticksPerSecond / (ms / 1000),
    fleetCores: fleet / ticksPerSecond / (ms / 1000),
  };
}

function panes() {
  const r = w.tmux(['list-panes', '-a', '-F', '#{session_name} #{pane_pid} #{pane_dead}']);
  if (r.status !== 0) return [];
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [session, pid, dead] = line.split(' ');
      return { session, pid: Number(pid), dead: dead === '1' };
    });
}

/** The holder's pane, and whether its process is the watchdog and still runs. */
function watchdog() {
  const holder = panes().find((pane) => pane.session === HOLDER);
  if (!holder) return { ok: false, why: `no "${HOLDER}" session on socket ${w.socket}` };
  if (holder.dead) return { ok: false, why: `the "${HOLDER}" pane is dead` };
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return { ok: false, why: `the holder's pane pid ${holder.pid} is gone` };
  }
  if (!cmdline.includes('mosaic-watchdog')) return { ok: false, why: `the holder runs "${cmdline}", not the watchdog` };
  return { ok: true, pid: holder.pid };
}

function tail(file, lines = 10) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n      ');
  } catch {
    return '(none)';
  }
}

/** The heaviest functions of a .cpuprofile by self time, as "name (file:line) ms". */
function topFunctions(profile, count = 8) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const dt = new Map();
  profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  for (const [id, us] of dt) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} (${url ? path.basename(url) : 'native'}:${lineNumber + 1})`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, us]) => `${key} ${(us / 1000).toFixed(0)} ms`)
    .join('; ');
}

/* ---------- the run ---------- */

const failures = [];
const fail = (message) => {
  failures.push(message);
  console.log(`  FAIL: ${message}`);
};
const runDir = path.join(w.home, 'run');
const hbFile = (i) => path.join(runDir, `a${i}.hb`);

console.log(
  `bench/scale: ${COUNT} stub agents on one box, heartbeat every ${HB_INTERVAL_S ?? "the roster's default"} s, whole processes of ${CLI}`,
);
console.log(
  `  box: ${readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ')} load, ` +
    `pty max ${readFileSync('/proc/sys/kernel/pty/max', 'utf8').trim()} (reserve ${readFileSync('/proc/sys/kernel/pty/reserve', 'utf8').trim()}, ` +
    `in use ${readFileSync('/proc/sys/kernel/pty/nr', 'utf8').trim()}), pid_max ${readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()}, ` +
    `our RLIMIT_NOFILE ${limitOf(process.pid, 'Max open files').soft}/${limitOf(process.pid, 'Max open files').hard}, ` +
    `RLIMIT_NPROC ${limitOf(process.pid, 'Max processes').soft}`,
);
w.writeRoster(
  stubAgents(COUNT),
  `${HB_INTERVAL_S === undefined ? '' : `heartbeat:\n  interval_seconds: ${HB_INTERVAL_S}\n`}defaults:\n  working_directory: work\n`,
);

const results = {};
try {
  /* start */
  const t0 = now();
  // While the start runs: heartbeats seen over time (the creation rate as the server fills up),
  // the CLI's own CPU, and the tmux server's time on and off a CPU.
  const pending = new Set(Array.from({ length: COUNT }, (_, i) => i));
  const marks = [0.25, 0.5, 0.75, 1].map((f) => Math.round(COUNT * f));
  const timeline = [];
  let startChild = null;
  let cliTicks = 0;
  let startServer = null;
  let startSched = null;
  let startCpu = null;
  let runnableMax = 0;
  let allAt;
  const seenAll = () => {
    while (marks.length && COUNT - pending.size >= marks[0]) timeline.push([marks.shift(), now() - t0]);
    if (pending.size === 0 && allAt === undefined) allAt = now() - t0;
  };
  const probe = setInterval(() => {
    for (const i of pending) if (existsSync(hbFile(i))) pending.delete(i);
    seenAll();
    if (startChild?.pid) {
      try {
        const f = readFileSync(`/proc/${startChild.pid}/stat`, 'utf8');
        const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
        cliTicks = Number(x[11]) + Number(x[12]) + Number(x[13]) + Number(x[14]);
      } catch {
        /* exited */
      }
    }
    if (!startServer) {
      startServer = serverPid();
      if (startServer) {
        startSched = schedstat(startServer);
        startCpu = cpuSplit(startServer);
      }
    }
    runnableMax = Math.max(runnableMax, procsRunning());
  }, 250);
  const started = await mosaic(['fleet', 'start'], { onSpawn: (child) => (startChild = child) });
  clearInterval(probe);
  results.startReturned = started.ms;
  console.log(`  fleet start returned        : ${fmt(started.ms)} (${describe(started)})`);
  if (started.status !== 0) fail(`fleet start failed: ${describe(started)}`);
  const notStarted = started.stdout.split('\n').filter((line) => /error|failed/i.test(line));
  if (notStarted.length) console.log(`    start reported ${notStarted.length} error line(s), e.g.: ${notStarted.slice(0, 3).join(' | ')}`);

  const pidNow = serverPid();
  if (pidNow) remember(pidNow);
  console.log(
    `    the start's CLI process: ${(cliTicks / 100).toFixed(1)} s CPU (own + its tmux clients); tmux server during the start: ` +
      `${startServer && startServer === pidNow ? `${schedDelta(startSched, schedstat(pidNow))}; ${cpuDelta(startCpu, cpuSplit(pidNow))}` : 'n/a'}` +
      ` (no pane exits during a start: the children it reaps are its helpers, e.g. utempter); at most ${runnableMax} runnable tasks`,
  );
  // Every agent's first heartbeat (remembering the ones seen, so the probe gets cheaper as they come).
  const deadline = Date.now() + HB_TIMEOUT_MS;
  while (pending.size && Date.now() < deadline) {
    for (const i of pending) if (existsSync(hbFile(i))) pending.delete(i);
    seenAll();
    if (pending.size) await sleep(20);
  }
  if (timeline.length) {
    let prev = [0, 0];
    const steps = timeline.map(([n, ms]) => {
      const rate = ((n - prev[0]) / ((ms - prev[1]) / 1000)).toFixed(0);
      prev = [n, ms];
      return `${n} by ${(ms / 1000).toFixed(1)} s (${rate}/s)`;
    });
    console.log(`    heartbeats over time: ${steps.join(', ')}`);
  }
  if (pending.size === 0) {
    results.startRunning = Math.max(allAt, started.ms);
    console.log(`  fleet start, all heartbeats : ${fmt(results.startRunning)}`);
  } else {
    fail(
      `${pending.size} of ${COUNT} agents wrote no heartbeat within ${HB_TIMEOUT_MS / 1000} s (e.g. ${[...pending]
        .slice(0, 5)
        .map((i) => `a${i}`)
        .join(', ')})`,
    );
  }

  /* the box with the fleet up */
  const all = panes();
  const agentPanes = all.filter((pane) => pane.session !== HOLDER);
  console.log(
    `  tmux panes                  : ${all.length} (${agentPanes.length} agents, ${agentPanes.filter((p) => p.dead).length} dead)`,
  );
  const pid = serverPid();
  if (!pid) {
    fail(`no tmux server answers on socket ${w.socket}`);
  } else {
    results.server = serverMemory(pid);
    results.fds = serverFds(pid);
    const nofile = limitOf(pid, 'Max open files');
    console.log(
      `  tmux server (pid ${pid})     : RSS ${(results.server.rss / 1024).toFixed(1)} MiB, PSS ${(results.server.pss / 1024).toFixed(1)} MiB ` +
        `(${((results.server.pss * 1024) / Math.max(agentPanes.length, 1) / 1024).toFixed(1)} KiB PSS per pane)`,
    );
    console.log(
      `  tmux server fds             : ${results.fds.total} open, RLIMIT_NOFILE ${nofile.soft}/${nofile.hard}; by kind ` +
        Object.entries(results.fds.kinds)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
    );
    results.nofile = nofile;
  }
  console.log(`  ptys in use (kernel)        : ${readFileSync('/proc/sys/kernel/pty/nr', 'utf8').trim()}`);
  const fleetMemory = treeMemory(agentPanes.map((pane) => pane.pid));
  results.fleet = fleetMemory;
  console.log(
    `  agents' process trees       : ${fleetMemory.processes} processes (${(fleetMemory.processes / Math.max(agentPanes.length, 1)).toFixed(1)} per agent), ` +
      `RSS ${(fleetMemory.rss / 1024).toFixed(0)} MiB, PSS ${(fleetMemory.pss / 1024).toFixed(0)} MiB; ` +
      `per agent RSS ${(fleetMemory.rss / COUNT / 1024).toFixed(2)} MiB, PSS ${(fleetMemory.pss / COUNT / 1024).toFixed(2)} MiB`,
  );
  if (pid) {
    // The server's whole tree: the server, every pane's tree, the holder, and the transcript `cat`s
    // (pipe-pane children of the server, not of the panes).
    results.whole = treeMemory([pid]);
    console.log(
      `  whole fleet (server's tree) : ${results.whole.processes} processes, RSS ${(results.whole.rss / 1024).toFixed(0)} MiB, ` +
        `PSS ${(results.whole.pss / 1024).toFixed(0)} MiB; per agent PSS ${(results.whole.pss / COUNT / 1024).toFixed(2)} MiB`,
    );
  }

  /* the watchdog */
  const dog = watchdog();
  if (dog.ok) console.log(`  watchdog (holder)           : alive, pid ${dog.pid}`);
  else fail(`the fleet watchdog is not running after start: ${dog.why}`);
  if (pid) {
    const load = await idleLoad(pid, 5000);
    results.idle = load;
    console.log(
      `  idle fleet, 5 s             : machine ${(load.machineBusy * 100).toFixed(0)}% busy (all users), the fleet's own processes ${load.fleetCores.toFixed(2)} cores, tmux server ${(load.serverCore * 100).toFixed(1)}% of a core; loadavg ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
  }

  /* ps */
  const psRuns = [];
  let lastCount = null;
  for (let round = 0; round <= PS_ROUNDS; round += 1) {
    const r = await mosaic(['fleet', 'ps', '--json']);
    if (r.status !== 0) {
      fail(`fleet ps --json failed: ${describe(r)}`);
      break;
    }
    let records;
    try {
      records = JSON.parse(r.stdout);
    } catch (error) {
      fail(`fleet ps --json printed no JSON (${error.message}); ${r.stdout.length} bytes of stdout`);
      break;
    }
    const running = records.filter((rec) => rec.state === 'running').length;
    lastCount = { records: records.length, running, states: {} };
    for (const rec of records) lastCount.states[rec.state] = (lastCount.states[rec.state] ?? 0) + 1;
    if (round > 0) psRuns.push(r.ms); // the first run warms caches
  }
  if (lastCount) {
    console.log(
      `  fleet ps --json             : ${lastCount.records} records, ${lastCount.running} running ` +
        `(${Object.entries(lastCount.states)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`,
    );
    if (lastCount.running !== COUNT || lastCount.records !== COUNT)
      fail(`fleet ps --json shows ${lastCount.running} of ${COUNT} agents running (${lastCount.records} records)`);
  }
  if (psRuns.length) {
    results.ps = median(psRuns);
    console.log(
      `  fleet ps --json, median     : ${fmt(results.ps)} of ${psRuns.length} runs (min ${fmt(Math.min(...psRuns))}, max ${fmt(Math.max(...psRuns))})`,
    );
  }
  if (process.env.BENCH_PS_PROFILE !== '0') {
    // One more, untimed run under the V8 profiler: where a 2,000-agent ps spends its time.
    const profDir = path.join(w.dir, 'prof');
    const r = await mosaic(['fleet', 'ps', '--json'], { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
    try {
      const file = readdirSync(profDir).find((name) => name.endsWith('.cpuprofile'));
      console.log(
        `    profiled fleet ps (${fmt(r.ms)}), self time by function: ${topFunctions(JSON.parse(readFileSync(path.join(profDir, file), 'utf8')))}`,
      );
    } catch (error) {
      console.log(`    profiled fleet ps: no profile (${error.message})`);
    }
  }
  const dogAfter = watchdog();
  if (!dogAfter.ok) fail(`the fleet watchdog died after the ps runs: ${dogAfter.why}`);
  else if (dog.ok && dogAfter.pid !== dog.pid) console.log(`  watchdog restarted meanwhile: pid ${dog.pid} -> ${dogAfter.pid}`);

  /* stop */
  // Identities, not bare pids: a 2,000-agent fleet's heartbeats churn through pid_max (32768 here)
  // in about a minute, so a pid seen alive after the stop may be somebody else's.
  const identities = (pids) => new Map(pids.map((p) => [p, processStartTime(p)]).filter(([, started]) => started !== undefined));
  const fleetIds = identities(treePids(all.map((pane) => pane.pid)));
  if (pid) remember(pid);
  const paneIds = identities(agentPanes.map((pane) => pane.pid));
  const stillAlive = (ids) => [...ids].filter(([p, started]) => processStartTime(p) === started).map(([p]) => p);
  const stopMarks = [0.25, 0.5, 0.75, 1].map((f) => Math.round(COUNT * f));
  const stopTimeline = [];
  const tStop = now();
  const stopSched = pid ? schedstat(pid) : null;
  let stopSchedEnd = stopSched;
  const stopCpu = pid ? cpuSplit(pid) : null;
  let stopCpuEnd = stopCpu;
  let stopRunnable = 0;
  const stopProbe = setInterval(() => {
    stopRunnable = Math.max(stopRunnable, procsRunning());
    const c = pid ? cpuSplit(pid) : null;
    if (c) stopCpuEnd = c;
    const dead = agentPanes.length - stillAlive(paneIds).length;
    while (stopMarks.length && dead >= stopMarks[0]) stopTimeline.push([stopMarks.shift(), now() - tStop]);
    const s2 = pid ? schedstat(pid) : null;
    if (s2) stopSchedEnd = s2;
  }, 250);
  const stopped = await mosaic(['fleet', 'stop']);
  console.log(`  fleet stop returned         : ${fmt(stopped.ms)} (${describe(stopped)})`);
  console.log(`    when it returned: ${panes().length} panes left on the socket, ${stillAlive(paneIds).length} agent pane processes alive`);
  results.stop = stopped.ms;
  if (stopped.status !== 0) {
    fail(`fleet stop failed: ${describe(stopped)}`);
    results.stopFailed = `exit ${stopped.status}: ${stopped.stderr.trim().split('\n').at(-1)}`;
  }
  const gone = Date.now() + 30_000;
  while (Date.now() < gone && (panes().length > 0 || stillAlive(fleetIds).length > 0)) await sleep(250);
  clearInterval(stopProbe);
  console.log(
    `    agent panes' processes gone: ${stopTimeline.map(([n, ms]) => `${n} by ${(ms / 1000).toFixed(1)} s`).join(', ') || 'none'}` +
      ` (${agentPanes.length - stillAlive(paneIds).length} of ${agentPanes.length} at ${((now() - tStop) / 1000).toFixed(1)} s); ` +
      `tmux server meanwhile: ${schedDelta(stopSched, stopSchedEnd)}; ${cpuDelta(stopCpu, stopCpuEnd)} (the reaped agents' whole-life CPU); at most ${stopRunnable} runnable tasks`,
  );
  const left = stillAlive(fleetIds);
  const sessionsLeft = panes().length;
  if (sessionsLeft > 0) fail(`${sessionsLeft} panes still on socket ${w.socket} 30 s after fleet stop`);
  if (left.length > 0)
    fail(`${left.length} processes of the fleet still alive 30 s after fleet stop (e.g. ${left.slice(0, 5).join(', ')})`);
  const serverStarted = pid ? ours.get(pid) : undefined;
  if (pid && serverStarted && processStartTime(pid) === serverStarted)
    console.log(`  note: the tmux server (pid ${pid}) still runs after fleet stop`);
} catch (error) {
  fail(`bench error: ${error.stack ?? error}`);
} finally {
  if (failures.length) {
    console.log(`  supervisor log: ${tail(path.join(w.home, 'logs', 'supervisor.log'))}`);
  }
  closeWorld();
}

if (results.startRunning !== undefined)
  emitResult({
    figure: `fleet start ${COUNT} (until all heartbeats)`,
    mosaic: results.startRunning,
    extra: { returned: Number(results.startReturned.toFixed(0)) },
  });
if (results.startReturned !== undefined) emitResult({ figure: `fleet start ${COUNT} (command returned)`, mosaic: results.startReturned });
if (results.ps !== undefined) emitResult({ figure: `fleet ps --json, ${COUNT} agents (median)`, mosaic: results.ps });
if (results.stop !== undefined)
  emitResult({
    figure: `fleet stop ${COUNT}`,
    mosaic: results.stop,
    ...(results.stopFailed ? { note: `FAILED (${results.stopFailed})` } : {}),
  });
if (results.server)
  emitResult({
    figure: `tmux server RSS, ${COUNT} agents`,
    mosaic: results.server.rss / 1024,
    unit: 'MiB',
    extra: { pss_mib: Number((results.server.pss / 1024).toFixed(1)), fds: results.fds.total, nofile_soft: results.nofile.soft },
  });
if (results.whole?.processes)
  emitResult({
    figure: `memory per agent at ${COUNT} (PSS, tmux server's whole tree)`,
    mosaic: results.whole.pss / COUNT / 1024,
    unit: 'MiB',
  });

if (failures.length) {
  console.error(`bench/scale: ${failures.length} failure(s) at ${COUNT} agents:\n  - ${failures.join('\n  - ')}`);
  process.exitCode = 1;
}
