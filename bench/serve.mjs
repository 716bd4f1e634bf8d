// bench/serve: what a live dashboard costs. Whole processes, at 10 and 200 stub agents (built-in
// supervisor, private socket, own temp root and working_directory):
//   serve  `mosaic fleet serve --port 0` with one headless Chromium page connected (the dashboard,
//          one agent's terminal open) for the whole window;
//   naive  the naive live view, in the same run on the same fleet: `mosaic fleet ps --json` once a
//          second for the same window.
// Measured for each over the window: tmux calls per second (a PATH shim: a `tmux` script that appends a
// line to a counter file and execs the real tmux, first on PATH for the measured processes only; they run
// with MOSAIC_TMUX_WIRE=0, so every call is a tmux process the shim sees: over the wire, the default, the
// same calls start no process at all, decision 024) and CPU time as a share of one core:
//   serve: utime+stime+cutime+cstime from /proc/<pid>/stat of the serve process and of every
//          live descendant (the control-mode tmux client), sampled at both ends of the window;
//          children that exit inside the window are in the parent's cutime/cstime once reaped;
//   naive: each run goes through /usr/bin/time -f '%U %S' (getrusage of the waited child:
//          the node process and the tmux processes it reaped); without /usr/bin/time, POSIX sh's
//          `times` (the same RUSAGE_CHILDREN numbers).
// The tmux server's own CPU over each window is printed too (work both views make it do).
// Run: npm run build && node bench/serve.mjs [--seconds S]   (BENCH_SIZES=10,200; Chromium at
// /usr/bin/chromium or BENCH_CHROMIUM)
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, emitResult, stubAgents, treePids, world } from './lib.mjs';

const argv = process.argv.slice(2);
const secondsAt = argv.indexOf('--seconds');
const SECONDS = secondsAt >= 0 ? Number(argv[secondsAt + 1]) : 30;
if (!(SECONDS > 0)) throw new Error('--seconds takes a positive number');
const SIZES = (process.env.BENCH_SIZES ?? '10,200').split(',').map(Number);
const CHROMIUM = process.env.BENCH_CHROMIUM ?? '/usr/bin/chromium';
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const REAL_TMUX = spawnSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).stdout.trim();
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
if (!REAL_TMUX) throw new Error('tmux is not installed');
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);

// Everything this run started, stopped on the way out whatever happens.
const worlds = [];
const children = new Set();
function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }
  for (const w of worlds.splice(0)) {
    w.mosaic(['fleet', 'stop']);
    w.close(); // kill-server on the private socket, rm -rf the temp root
  }
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** A `tmux` that counts its starts: one line per invocation in `counter`, then the real tmux. */
function tmuxShim(dir, counter) {
  mkdirSync(dir, { recursive: true });
  const shim = path.join(dir, 'tmux');
  writeFileSync(shim, `#!/bin/sh\necho >>'${counter}'\nexec '${REAL_TMUX}' "$@"\n`);
  chmodSync(shim, 0o755);
  writeFileSync(counter, '');
  return dir;
}
const counted = (counter) => readFileSync(counter, 'utf8').length; // one "\n" per start

/** utime+stime+cutime+cstime (seconds) of a process, or 0 once it is gone. */
function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime..cstime are fields 14..17.
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICK;
  } catch {
    return 0;
  }
}

/** The CPU of a process and all its live descendants (see the header for why that is sound). */
function treeCpu(root) {
  return treePids([root]).reduce((total, pid) => total + cpuOf(pid), 0);
}

async function launchChromium(dir) {
  const { chromium } = await import('playwright-core');
  const root = path.join(dir, 'chromium');
  const dirs = {
    HOME: path.join(root, 'home'),
    TMPDIR: path.join(root, 'tmp'),
    XDG_CONFIG_HOME: path.join(root, 'config'),
    XDG_CACHE_HOME: path.join(root, 'cache'),
    XDG_DATA_HOME: path.join(root, 'data'),
  };
  for (const d of [...Object.values(dirs), path.join(root, 'artifacts')]) mkdirSync(d, { recursive: true });
  return chromium.launchPersistentContext(path.join(root, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
      '--disable-dev-shm-usage',
    ],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...dirs },
    artifactsDir: path.join(root, 'artifacts'),
    viewport: { width: 1280, height: 900 },
  });
}

/** `mosaic fleet serve --port 0` with `env`; resolves with its PID, URL and a stop() once it printed the URL. */
async function startServe(env) {
  const child = spawn(process.execPath, [CLI, 'fleet', 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const found = /^mosaic: serving (\S+)$/m.exec(stdout);
      if (found) resolve(found[1]);
    });
    exited.then((code) => reject(new Error(`fleet serve exited ${code}: ${stderr}`)));
  });
  return {
    pid: child.pid,
    url,
    stderr: () => stderr,
    stop: async () => {
      process.kill(child.pid, 'SIGTERM');
      const code = await exited;
      children.delete(child);
      return code;
    },
  };
}

async function waitFleetUp(w, size) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const run = w.mosaic(['fleet', 'ps', '--json']);
    const records = run.status === 0 ? JSON.parse(run.stdout) : [];
    if (records.length === size && records.every((r) => r.state === 'running' && r.heartbeat.health === 'healthy')) return;
    if (Date.now() > deadline) throw new Error(`${size} agents did not come up`);
    await sleep(250);
  }
}

/** The serve side: the dashboard open with a0's terminal, for SECONDS. */
async function measureServe(w, size) {
  const counter = path.join(w.dir, 'serve-tmux.count');
  const env = { ...w.env, MOSAIC_TMUX_WIRE: '0', PATH: `${tmuxShim(path.join(w.dir, 'shim-serve'), counter)}:${w.env.PATH}` };
  const serve = await startServe(env);
  // Playwright kills the browser if this process exits early (its exit and signal handlers).
  const browser = await launchChromium(w.dir);
  let result;
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(serve.url);
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30_000 });
    await page.waitForFunction((n) => globalThis.document.querySelectorAll('tr[data-agent]').length === n, size, { timeout: 30_000 });
    await page.locator('tr[data-agent="a0"]').click();
    await page.locator('#term-status[data-state="live"]').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => globalThis.document.querySelector('#terminal .xterm-rows')?.textContent.includes('stub>'), undefined, {
      timeout: 30_000,
    });
    const server = tmuxServerPid(w);
    const start = { at: performance.now(), spawns: counted(counter), cpu: treeCpu(serve.pid), server: cpuOf(server) };
    await sleep(SECONDS * 1000);
    const end = { at: performance.now(), spawns: counted(counter), cpu: treeCpu(serve.pid), server: cpuOf(server) };
    // Still a live view at the end: connected, terminal live.
    if ((await page.locator('#conn').getAttribute('data-state')) !== 'live') throw new Error('the page lost its connection');
    if ((await page.locator('#term-status').getAttribute('data-state')) !== 'live') throw new Error("the page's terminal is not live");
    const seconds = (end.at - start.at) / 1000;
    result = {
      spawns: (end.spawns - start.spawns) / seconds,
      cpu: ((end.cpu - start.cpu) / seconds) * 100,
      server: ((end.server - start.server) / seconds) * 100,
      setupSpawns: start.spawns,
    };
  } finally {
    await browser.close();
  }
  const code = await serve.stop();
  if (code !== 0) throw new Error(`fleet serve exited ${code} on SIGTERM: ${serve.stderr()}`);
  return result;
}

/** One `fleet ps --json` under /usr/bin/time (or sh's `times`): its CPU seconds, children included. */
function timedPs(env, dir) {
  const out = path.join(dir, 'time.out');
  if (GNU_TIME) {
    const run = spawnSync(GNU_TIME, ['-f', '%U %S', '-o', out, process.execPath, CLI, 'fleet', 'ps', '--json'], {
      env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.status !== 0) throw new Error(`fleet ps failed: ${run.stderr}`);
    const [user, system] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    return user + system;
  }
  const run = spawnSync('sh', ['-c', '"$@" >/dev/null || exit 1; times', 'sh', process.execPath, CLI, 'fleet', 'ps', '--json'], {
    env,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`fleet ps failed: ${run.stderr}`);
  // Second line: the children's user and system times, e.g. "0m0.412000s 0m0.104000s".
  const seconds = (t) => Number(/(\d+)m([\d.]+)s/.exec(t)[1]) * 60 + Number(/(\d+)m([\d.]+)s/.exec(t)[2]);
  const [user, system] = run.stdout.trim().split('\n').pop().split(/\s+/);
  return seconds(user) + seconds(system);
}

/** The naive side: `fleet ps --json` every second (on the second; back to back if one takes longer). */
async function measureNaive(w) {
  const counter = path.join(w.dir, 'naive-tmux.count');
  const env = { ...w.env, MOSAIC_TMUX_WIRE: '0', PATH: `${tmuxShim(path.join(w.dir, 'shim-naive'), counter)}:${w.env.PATH}` };
  const server = tmuxServerPid(w);
  const start = { at: performance.now(), server: cpuOf(server) };
  let cpu = 0;
  let runs = 0;
  while (performance.now() - start.at < SECONDS * 1000) {
    cpu += timedPs(env, w.dir);
    runs += 1;
    const next = start.at + runs * 1000;
    if (next > performance.now()) await sleep(next - performance.now());
  }
  const seconds = (performance.now() - start.at) / 1000;
  return { spawns: counted(counter) / seconds, cpu: (cpu / seconds) * 100, server: ((cpuOf(server) - start.server) / seconds) * 100, runs };
}

function tmuxServerPid(w) {
  const pid = Number(w.tmux(['display-message', '-p', '#{pid}']).stdout.trim());
  if (!pid) throw new Error('no tmux server');
  return pid;
}

async function measure(size) {
  const w = world(`serve${size}`);
  worlds.push(w);
  // Stub agents, their working directory inside the temp root (not ~/src).
  w.writeRoster(stubAgents(size), 'defaults:\n  working_directory: work\n');
  const started = w.mosaic(['fleet', 'start']);
  if (started.status !== 0) throw new Error(`fleet start failed: ${started.stderr}`);
  await waitFleetUp(w, size);
  const serve = await measureServe(w, size);
  const naive = await measureNaive(w);
  w.mosaic(['fleet', 'stop']);
  w.close();
  worlds.splice(worlds.indexOf(w), 1);
  return { size, serve, naive };
}

const pct = (n) => `${n.toFixed(2)} %`;
const rate = (n) => `${n.toFixed(2)}/s`;
const ratio = (a, b) => (b === 0 ? (a === 0 ? '1.00x' : 'inf') : `${(a / b).toFixed(2)}x`);
const cell = (text, width) => String(text).padStart(width);

console.log(
  `bench/serve: ${SECONDS} s windows; serve = fleet serve + 1 Chromium page with a terminal open; naive = fleet ps --json every second` +
    ` (CPU: serve /proc tree, naive ${GNU_TIME ? '/usr/bin/time' : 'sh times'}; % of one core; ${spawnSync('nproc').stdout.toString().trim()} cores)`,
);
const results = [];
for (const size of SIZES) results.push(await measure(size));
console.log(
  `${cell('agents', 6)}  ${cell('serve tmux', 11)}  ${cell('serve CPU', 9)}  ${cell('naive tmux', 11)}  ${cell('naive CPU', 9)}  ${cell('tmux/naive', 10)}  ${cell('CPU/naive', 9)}  ${cell('tmux server CPU: serve', 22)}  ${cell('naive', 7)}`,
);
for (const { size, serve, naive } of results) {
  console.log(
    `${cell(size, 6)}  ${cell(rate(serve.spawns), 11)}  ${cell(pct(serve.cpu), 9)}  ${cell(rate(naive.spawns), 11)}  ${cell(pct(naive.cpu), 9)}  ${cell(ratio(serve.spawns, naive.spawns), 10)}  ${cell(ratio(serve.cpu, naive.cpu), 9)}  ${cell(pct(serve.server), 22)}  ${cell(pct(naive.server), 7)}`,
  );
}
if (results.length >= 2) {
  const [small, large] = [results[0], results[results.length - 1]];
  console.log(
    `serve at ${large.size} vs ${small.size} agents: tmux calls/s ${ratio(large.serve.spawns, small.serve.spawns)}, CPU ${ratio(large.serve.cpu, small.serve.cpu)}` +
      `  (naive: tmux calls/s ${ratio(large.naive.spawns, small.naive.spawns)}, CPU ${ratio(large.naive.cpu, small.naive.cpu)})`,
  );
  emitResult({
    ...(small.size === 10 && large.size === 200
      ? { id: 'serve@200/10' }
      : { figure: `serve tmux calls/s, ${large.size} vs ${small.size} agents` }),
    mosaic: large.serve.spawns,
    baseline: small.serve.spawns,
    baseline_label: `at ${small.size} agents`,
    unit: '/s',
    ratio: small.serve.spawns === 0 ? (large.serve.spawns === 0 ? 1 : Infinity) : large.serve.spawns / small.serve.spawns,
    ratio_of: `${large.size}/${small.size}`,
  });
}
for (const { size, serve, naive } of results) {
  console.log(
    `  ${size} agents: serve started ${serve.setupSpawns} tmux processes before the window (page load, control client); naive made ${naive.runs} fleet ps runs`,
  );
}
for (const { size, serve, naive } of results) {
  emitResult({
    figure: `serve tmux calls/s at ${size} agents`,
    mosaic: serve.spawns,
    baseline: naive.spawns,
    baseline_label: 'fleet ps every 1 s',
    unit: '/s',
    ratio_of: 'naive/serve',
  });
}
