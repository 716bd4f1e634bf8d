// bench/peers: mosaic against a peer process manager, pm2, on the same machine in the same run.
//   ps    whole-process `mosaic fleet ps --json` with N stub agents (built-in supervisor, private
//         socket) vs whole-process `pm2 jlist` with N pm2 apps, at 10 and 500; rounds run mosaic, pm2 and
//         bench/ps-floor.mjs (the Node floor) in turn, each round's ratio pm2/mosaic, the median of those
//         ratios printed (and the medians of each side).
//   stop  at the largest size: whole-process `mosaic fleet stop` vs `pm2 stop all`, A B per round,
//         both sides started again between rounds; also how long until every pane's process exited.
// The pm2 apps are idle processes (`sleep infinity`, interpreter none, all started at once from one
// JSON ecosystem file), the closest idle peer of an idle stub agent; pm2 runs with a minimal environment
// (its jlist prints each app's environment) and the same node as mosaic.
// pm2@7.0.4 is installed with npm into a private prefix (and npm cache) under this bench's temp root,
// with a private PM2_HOME and HOME there; at the end (also on failure or a signal) the fleets are
// stopped, `pm2 kill` stops the daemon and its apps, anything still running from the temp root is
// killed by PID, and the temp root is removed.
// Run: npm run build && node bench/peers.mjs   (BENCH_SIZES=10,500  BENCH_ROUNDS=11  BENCH_STOP_ROUNDS=3)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CA_CERTS_FROM_ENV, checkPsFloor, CLI, emitResult, median, psFloorArgv, stubAgents, timed, world } from './lib.mjs';

const SIZES = (process.env.BENCH_SIZES ?? '10,500').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const STOP_ROUNDS = Number(process.env.BENCH_STOP_ROUNDS ?? 3);
const PM2_VERSION = '7.0.4';
const SLEEP = realpathSync(spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim() || '/bin/sleep');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const root = mkdtempSync(path.join(os.tmpdir(), 'mosaic-bench-peers-'));
const pm2Prefix = path.join(root, 'pm2');
const pm2Bin = path.join(pm2Prefix, 'node_modules', 'pm2', 'bin', 'pm2');
const PM2_HOME = path.join(root, 'pm2-home');
const pm2Work = path.join(root, 'pm2-work');
for (const dir of [PM2_HOME, pm2Work, path.join(root, 'pm2-user')]) mkdirSync(dir, { recursive: true });
// Minimal: the daemon and every app inherit it, and `pm2 jlist` prints it once per app.
const pm2Env = {
  PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  HOME: path.join(root, 'pm2-user'),
  PM2_HOME,
  LANG: 'C.UTF-8',
  NO_COLOR: '1',
};
const pm2 = (args, timeout = 300_000) =>
  spawnSync(process.execPath, [pm2Bin, ...args], { env: pm2Env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout });
const pm2Must = (args, what) => {
  const r = pm2(args);
  if (r.status !== 0) throw new Error(`pm2 ${args.join(' ')} (${what}) failed (${r.status ?? r.signal}): ${r.stderr}${r.error ?? ''}`);
  return r;
};

/* ---------- cleanup: whatever happens ---------- */

const worlds = [];
let cleaned = false;
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
/** PIDs (not ours) whose command line names the temp root or whose environment has our PM2_HOME: the pm2 daemon and its apps. */
function processesUsingRoot() {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid || !alive(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(root)) found.push(Number(entry));
      else if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`PM2_HOME=${PM2_HOME}`)) found.push(Number(entry));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}
const commandOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '?';
  }
};
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const w of worlds.splice(0)) {
    w.mosaic(['fleet', 'stop']);
    w.close(); // kill-server on its private socket, its temp dir removed
  }
  if (existsSync(pm2Bin)) pm2(['kill'], 60_000);
  const pidFile = path.join(PM2_HOME, 'pm2.pid');
  const daemon = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
  const leftovers = [...new Set([...(daemon && alive(daemon) ? [daemon] : []), ...processesUsingRoot()])];
  const described = leftovers.map((pid) => `${pid} (${commandOf(pid).slice(0, 80)})`);
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (leftovers.length > 0) console.error(`cleanup: killed ${leftovers.length} leftover process(es) by PID: ${described.join(', ')}`);
  rmSync(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  if (existsSync(root)) console.error(`cleanup: could not remove ${root}`);
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/* ---------- the two sides ---------- */

function installPm2() {
  const t0 = performance.now();
  const r = spawnSync('npm', ['install', '--prefix', pm2Prefix, `pm2@${PM2_VERSION}`, '--no-audit', '--no-fund'], {
    env: {
      ...process.env,
      // npm does talk TLS: it gets the machine's CA bundle back (a registry behind a TLS proxy needs it).
      ...(CA_CERTS_FROM_ENV === null ? {} : { NODE_EXTRA_CA_CERTS: CA_CERTS_FROM_ENV }),
      npm_config_cache: path.join(root, 'npm-cache'),
      npm_config_update_notifier: 'false',
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0 || !existsSync(pm2Bin))
    throw new Error(`npm install pm2@${PM2_VERSION} failed (${r.status ?? r.signal}): ${r.stderr}${r.error ?? ''}`);
  const version = pm2Must(['--version'], 'version').stdout.trim().split('\n').pop();
  if (version !== PM2_VERSION) throw new Error(`pm2 --version says ${version}, expected ${PM2_VERSION}`);
  return performance.now() - t0;
}

/** `pm2 jlist`'s processes (its stdout may carry a notice before the JSON). */
function parseJlist(stdout) {
  const at = stdout.search(/^\[/m);
  if (at < 0) throw new Error(`pm2 jlist printed no JSON: ${stdout.slice(0, 300)}`);
  return JSON.parse(stdout.slice(at));
}
const jlist = () => parseJlist(pm2Must(['jlist'], 'jlist').stdout);

async function pm2Until(size, status, what) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const apps = jlist();
    if (apps.length === size && apps.every((a) => a.pm2_env.status === status && (status !== 'online' || a.pid > 0))) return apps;
    if (Date.now() > deadline)
      throw new Error(`pm2: ${what}: ${apps.filter((a) => a.pm2_env.status === status).length} of ${size} ${status}`);
    await sleep(250);
  }
}

/** N idle pm2 apps, started at once from one ecosystem file; resolves when all are online. */
async function pm2Apps(size) {
  pm2(['delete', 'all']); // the previous size's apps, if any (fails harmlessly on none)
  // `sleep infinity` under a name in the temp root (a symlink), so a leftover is recognisable by its
  // command line; one process that ends at pm2's first SIGINT, so `pm2 stop` never waits out its kill_timeout.
  const script = path.join(root, 'bin', 'idle-app');
  if (!existsSync(script)) {
    mkdirSync(path.dirname(script), { recursive: true });
    symlinkSync(SLEEP, script);
  }
  const ecosystem = path.join(root, `apps-${size}.json`);
  const apps = Array.from({ length: size }, (_, i) => ({
    name: `p${i}`,
    script,
    args: 'infinity',
    interpreter: 'none',
    cwd: pm2Work,
    autorestart: true,
  }));
  writeFileSync(ecosystem, JSON.stringify({ apps }, null, 1));
  const t0 = performance.now();
  pm2Must(['start', ecosystem], `start ${size} apps`);
  await pm2Until(size, 'online', `start ${size} apps`);
  return performance.now() - t0;
}

async function mosaicUp(w, size) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const run = w.mosaic(['fleet', 'ps', '--json']);
    const records = run.status === 0 ? JSON.parse(run.stdout) : [];
    if (records.length === size && records.every((r) => r.pane === 'alive' && r.heartbeat.health === 'healthy')) return records;
    if (Date.now() > deadline) throw new Error(`${size} stub agents did not come up: ${run.stderr}`);
    await sleep(200);
  }
}

async function mosaicFleet(w, size) {
  const t0 = performance.now();
  const started = w.mosaic(['fleet', 'start']);
  if (started.status !== 0) throw new Error(`fleet start failed: ${started.stderr}`);
  await mosaicUp(w, size);
  return performance.now() - t0;
}

/* ---------- measurements ---------- */

async function psPairs(w, size) {
  const ps = [process.execPath, CLI, 'fleet', 'ps', '--json'];
  const jl = [process.execPath, pm2Bin, 'jlist'];
  const checkMosaic = (run) => {
    if (run.status !== 0) throw new Error(`fleet ps failed: ${run.stderr}`);
    const records = JSON.parse(run.stdout);
    if (records.length !== size || records.some((r) => r.state !== 'running' || r.flags.length > 0))
      throw new Error('fleet ps gave a wrong answer');
  };
  const checkPm2 = (run) => {
    if (run.status !== 0) throw new Error(`pm2 jlist failed: ${run.stderr}`);
    const apps = parseJlist(run.stdout);
    if (apps.length !== size || apps.some((a) => a.pm2_env.status !== 'online')) throw new Error('pm2 jlist gave a wrong answer');
  };
  // The Node floor (bench/ps-floor.mjs: one tmux listing, the same reads, no mosaic) on the same fleet, in the
  // same rounds: it decides whether "≥ 2× pm2" was within reach of any Node program here.
  const floorArgv = await psFloorArgv(w);
  checkMosaic(await timed(ps, w.env)); // warm caches once each
  checkPm2(await timed(jl, pm2Env));
  checkPsFloor(await timed(floorArgv, w.env), size);
  const a = [];
  const b = [];
  const f = [];
  const ratios = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const ours = await timed(ps, w.env);
    checkMosaic(ours);
    const theirs = await timed(jl, pm2Env);
    checkPm2(theirs);
    const least = await timed(floorArgv, w.env);
    checkPsFloor(least, size);
    a.push(ours.ms);
    b.push(theirs.ms);
    f.push(least.ms);
    ratios.push(theirs.ms / ours.ms);
  }
  return { mosaic: median(a), mosaicMin: Math.min(...a), pm2: median(b), pm2Min: Math.min(...b), floor: median(f), ratio: median(ratios) };
}

async function stopRounds(w, size) {
  const a = [];
  const gone = [];
  const b = [];
  const ratios = [];
  for (let round = 0; round < STOP_ROUNDS; round += 1) {
    if (round > 0) {
      // Both up again, untimed; old heartbeats were removed with the run state by fleet stop.
      await mosaicFleet(w, size);
      pm2Must(['restart', 'all'], 'restart all');
      await pm2Until(size, 'online', 'restart all');
    }
    const pids = (await mosaicUp(w, size)).map((r) => r.pane_pid).filter((pid) => pid > 0);
    if (pids.length !== size) throw new Error(`fleet ps gave ${pids.length} pane PIDs of ${size}`);
    const stop = await timed([process.execPath, CLI, 'fleet', 'stop'], w.env);
    if (stop.status !== 0) throw new Error(`fleet stop failed: ${stop.stderr}`);
    const t0 = performance.now() - stop.ms;
    const sessions = w.tmux(['list-sessions', '-F', '#{session_name}']);
    if (sessions.status === 0 && sessions.stdout.trim())
      throw new Error(`fleet stop left sessions: ${sessions.stdout.trim().split('\n').length}`);
    const deadline = Date.now() + 60_000;
    while (pids.some(alive)) {
      if (Date.now() > deadline) throw new Error(`${pids.filter(alive).length} pane processes outlived fleet stop by 60 s`);
      await sleep(5);
    }
    gone.push(performance.now() - t0);

    const appPids = jlist().map((app) => app.pid);
    const theirs = await timed([process.execPath, pm2Bin, 'stop', 'all'], pm2Env);
    if (theirs.status !== 0) throw new Error(`pm2 stop all failed: ${theirs.stderr}`);
    await pm2Until(size, 'stopped', 'stop all');
    if (appPids.some(alive)) throw new Error(`${appPids.filter(alive).length} pm2 apps outlived pm2 stop all`);
    a.push(stop.ms);
    b.push(theirs.ms);
    ratios.push(theirs.ms / stop.ms);
  }
  return { mosaic: median(a), gone: median(gone), pm2: median(b), ratio: median(ratios) };
}

/* ---------- the run ---------- */

const fmt = (ms) => `${ms.toFixed(0)} ms`;
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
try {
  console.log(
    `bench/peers: mosaic vs pm2@${PM2_VERSION}, whole processes, same node (${process.version}), ${os.cpus().length} cores, load ${load()} at start`,
  );
  const installMs = installPm2();
  console.log(`  pm2@${PM2_VERSION} installed into a private prefix in ${(installMs / 1000).toFixed(1)} s`);
  const results = [];
  let stop = null;
  for (const size of SIZES) {
    const w = world(`peers${size}`);
    worlds.push(w);
    w.writeRoster(stubAgents(size), 'defaults:\n  working_directory: work\n');
    const mosaicSetup = await mosaicFleet(w, size);
    const pm2Setup = await pm2Apps(size);
    console.log(
      `  ${size}: setup (untimed for the figures) mosaic fleet start until healthy ${fmt(mosaicSetup)}, pm2 start ecosystem until online ${fmt(pm2Setup)}`,
    );
    const r = { size, ...(await psPairs(w, size)) };
    results.push(r);
    if (size === Math.max(...SIZES) && STOP_ROUNDS > 0) stop = await stopRounds(w, size);
    w.mosaic(['fleet', 'stop']);
    w.close();
    worlds.splice(worlds.indexOf(w), 1);
  }

  console.log(`\nps: ${ROUNDS} rounds (mosaic, pm2, Node floor) per size, in turn; medians; ratio = median of the rounds' pm2/mosaic`);
  console.log('agents  mosaic fleet ps --json (median / min)  pm2 jlist (median / min)  ratio pm2/mosaic  Node floor (pm2/floor)');
  for (const r of results) {
    console.log(
      `${String(r.size).padStart(6)}  ${`${fmt(r.mosaic)} / ${fmt(r.mosaicMin)}`.padStart(37)}  ${`${fmt(r.pm2)} / ${fmt(r.pm2Min)}`.padStart(24)}  ${`${r.ratio.toFixed(2)}x`.padStart(16)}  ${`${fmt(r.floor)} (${(r.pm2 / r.floor).toFixed(2)}x)`.padStart(22)}`,
    );
  }
  const big = results.find((r) => r.size === 500);
  if (big) {
    console.log(
      `at 500: pm2/mosaic ${big.ratio.toFixed(2)}x (target >= 2x: ${big.ratio >= 2 ? 'met' : 'MISSED'}); mosaic median ${fmt(big.mosaic)} (target <= 120 ms: ${big.mosaic <= 120 ? 'met' : 'MISSED'})`,
    );
  }
  if (stop) {
    const size = Math.max(...SIZES);
    console.log(`\nstop ${size}: ${STOP_ROUNDS} rounds (mosaic, pm2), medians`);
    console.log(
      `  mosaic fleet stop      ${fmt(stop.mosaic).padStart(8)}   (every pane process exited after ${fmt(stop.gone)}; target <= 500 ms)`,
    );
    console.log(`  pm2 stop all           ${fmt(stop.pm2).padStart(8)}`);
    console.log(`  ratio pm2/mosaic       ${`${stop.ratio.toFixed(2)}x`.padStart(8)}`);
  }
  console.log(`load ${load()} at end`);

  for (const r of results) {
    emitResult({
      ...(r.size === 500 ? { id: 'peers.ps@500' } : { figure: `fleet ps --json vs pm2 jlist, ${r.size}` }),
      mosaic: r.mosaic,
      baseline: r.pm2,
      baseline_label: 'pm2 jlist',
      ratio: r.ratio,
      ratio_of: 'pm2/mosaic',
      floor: r.floor,
      floor_label: 'bench/ps-floor.mjs',
    });
  }
  if (stop) {
    const size = Math.max(...SIZES);
    emitResult({
      figure: `fleet stop ${size} (vs pm2 stop all)`, // the stop@500 target row is bench/start's, beside its tmux floor
      mosaic: stop.mosaic,
      baseline: stop.pm2,
      baseline_label: 'pm2 stop all',
      ratio: stop.ratio,
      ratio_of: 'pm2/mosaic',
      extra: { panes_exited_ms: Number(stop.gone.toFixed(1)) },
    });
  }
} finally {
  cleanup();
}
