// bench/run: runs the benchmarks (all, or those named) from a PRIVATE COPY of the build, and prints
// one table at the end: figure, mosaic, peer or naive baseline, ratio, the same run's floor, target,
// met/missed ("missed, floor-bound" when the floor misses the target too), headed by the date and the
// machine (cores, load averages at start and end).
//
// The copy (a temp dir: dist/, framework/, web/, package.json, bench/, test/manager-unit-dirs.mjs, and a symlink to node_modules)
// is taken when dist/ is complete and quiet (unchanged for a few seconds and during the copy, its CLI
// answering --version), so a rebuild of the work tree during a run cannot break it. Each bench runs
// from that copy, with MOSAIC_BENCH_CLI (bench/lib.mjs) pointing at it.
// bench/ is copied too because some benches import ../dist/ modules directly.
// Each bench prints its own report as it goes (passed through here) and one `BENCH-RESULT {json}`
// line per figure (bench/lib.mjs emitResult); the targets live in bench/lib.mjs TARGETS.
//
// Run: npm run build && node bench/run.mjs [BENCH [--bench-option value…]]… [--json FILE]
//      e.g. node bench/run.mjs ps peers      node bench/run.mjs serve --seconds 10
//      Benches' own env knobs (BENCH_ROUNDS, BENCH_SIZES, …) pass through to every bench.
// Exit status: 1 if a bench failed (missed targets are reported, not failures), 2 on bad usage.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TARGETS, machine, nodeStartCost, resultRecord } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORK = path.resolve(here, '..');
const ORDER = ['ps', 'peers', 'start', 'scale', 'send', 'systemd', 'serve', 'hosts'];
const NOT_BENCHES = new Set(['run', 'lib', 'report', 'compare-builds', 'ps-floor', 'send-floor']); // the floors' programs (ps, send)
const available = readdirSync(here)
  .filter((name) => name.endsWith('.mjs'))
  .map((name) => name.replace(/\.mjs$/, ''))
  .filter((name) => !NOT_BENCHES.has(name))
  .sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));

/* ---------- arguments ---------- */

const usage = `usage: node bench/run.mjs [BENCH [--option value…]]… [--json FILE]
benches: ${available.join(', ')} (default: all; compare-builds when named, with BENCH_OLD_CLI)`;
const selected = []; // { name, args }
let jsonFile = null;
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    } else if (arg === '--json') {
      jsonFile = argv[++i];
      if (!jsonFile) {
        console.error(usage);
        process.exit(2);
      }
    } else if (arg.startsWith('-')) {
      // An option of the bench named before it (e.g. serve --seconds 10).
      if (selected.length === 0) {
        console.error(`${arg}: name a bench before its options\n${usage}`);
        process.exit(2);
      }
      selected.at(-1).args.push(arg);
      if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('-') && !available.includes(argv[i + 1]))
        selected.at(-1).args.push(argv[++i]);
    } else {
      const name = arg.replace(/\.mjs$/, '').replace(/^bench\//, '');
      if (!available.includes(name) && name !== 'compare-builds') {
        console.error(`unknown bench: ${arg}\n${usage}`);
        process.exit(2);
      }
      selected.push({ name, args: [] });
    }
  }
  if (selected.length === 0) for (const name of available) selected.push({ name, args: [] });
}

/* ---------- the private copy of the build ---------- */

const copyRoot = mkdtempSync(path.join(os.tmpdir(), 'mosaic-bench-run-'));
const pkg = path.join(copyRoot, 'pkg');
const CLI = path.join(pkg, 'dist', 'cli', 'main.js');
let current = null; // the running bench's child process
let removed = false;
function removeCopy() {
  if (removed) return;
  removed = true;
  rmSync(copyRoot, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
process.on('exit', removeCopy);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    // The bench cleans up its own world on a signal: pass it on, wait for it, then go.
    if (current && current.exitCode === null && current.signalCode === null) {
      try {
        process.kill(current.pid, signal);
      } catch {
        /* gone */
      }
      current.once('close', () => process.exit(130));
      setTimeout(() => process.exit(130), 60_000).unref();
    } else {
      process.exit(130);
    }
  });
}

/** relative path → "mtime size" for every file under dir. */
function snapshot(dir) {
  const files = new Map();
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const st = statSync(full);
        files.set(path.relative(dir, full), `${st.mtimeMs} ${st.size}`);
      }
    }
  };
  walk(dir);
  return files;
}
const sameSnapshot = (a, b) => a.size === b.size && [...a].every(([file, stamp]) => b.get(file) === stamp);
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Copy the build once dist/ is complete and has been quiet for QUIET ms (a rebuild may be running). */
function copyBuild() {
  const QUIET = 3000;
  const dist = path.join(WORK, 'dist');
  let why = '';
  for (let attempt = 1; attempt <= 40; attempt += 1) {
    if (attempt > 1) sleepSync(3000);
    let before;
    try {
      if (!existsSync(path.join(dist, 'cli', 'main.js')))
        throw new Error('dist/cli/main.js is missing (npm run build first, or a build is running)');
      before = snapshot(dist);
      const newest = Math.max(...[...before.values()].map((stamp) => Number(stamp.split(' ')[0])));
      if (Date.now() - newest < QUIET) throw new Error('dist/ changed in the last seconds (a build is running?)');
      rmSync(pkg, { recursive: true, force: true });
      // bench/systemd.mjs removes the manager's unit directories it made with the tests' helper.
      for (const entry of ['dist', 'framework', 'web', 'package.json', 'bench', 'test/manager-unit-dirs.mjs']) {
        if (existsSync(path.join(WORK, entry))) cpSync(path.join(WORK, entry), path.join(pkg, entry), { recursive: true });
      }
      symlinkSync(path.join(WORK, 'node_modules'), path.join(pkg, 'node_modules'));
      const after = snapshot(dist);
      if (!sameSnapshot(before, after)) throw new Error('dist/ changed during the copy');
      if (snapshot(path.join(pkg, 'dist')).size !== before.size) throw new Error('the copy of dist/ is incomplete');
      const version = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', timeout: 30_000 });
      if (version.status !== 0) throw new Error(`the copied CLI does not start: ${version.stderr.trim().split('\n').pop()}`);
      return {
        files: before.size,
        version: version.stdout.trim(),
        built: new Date(Math.max(...[...before.values()].map((s) => Number(s.split(' ')[0])))),
      };
    } catch (error) {
      why = error.message;
      if (attempt === 1 || attempt % 5 === 0) console.error(`bench/run: waiting for a complete build: ${why}`);
    }
  }
  throw new Error(`no stable build to copy after 2 minutes: ${why}`);
}

/* ---------- benches that print no BENCH-RESULT lines: read their report ---------- */

// Used only when a bench printed no BENCH-RESULT line (bench/hosts.mjs is being changed by others;
// the lines to add to it are in the comment below). Parses the report that bench prints today.
//   hosts: after its "ratio cold/a" line,
//     emitResult({ ...(AGENTS === 100 ? { id: 'hosts@3x100' } : { figure: `fleet ps --json, 3 hosts×${AGENTS} vs 1×${AGENTS}` }),
//       mosaic: mb, baseline: ma, baseline_label: `1 host × ${AGENTS}`, ratio: mb / ma, ratio_of: '3 hosts/1 host' });
//     (and `emitResult` added to its import from './lib.mjs')
const FALLBACK = {
  hosts(stdout) {
    const a = /^\(a\) 1 host × (\d+)\s+\d+\s+(\d+) ms/m.exec(stdout);
    const b = /^\(b\) 3 hosts × (\d+), master warm\s+\d+\s+(\d+) ms/m.exec(stdout);
    const ratio = /^ratio b\/a \(warm\):\s+([\d.]+)x/m.exec(stdout);
    if (!a || !b) return [];
    const agents = Number(a[1]);
    return [
      resultRecord({
        ...(agents === 100 ? { id: 'hosts@3x100' } : { figure: `fleet ps --json, 3 hosts×${agents} vs 1×${agents}`, bench: 'hosts' }),
        mosaic: Number(b[2]),
        baseline: Number(a[2]),
        baseline_label: `1 host × ${agents}`,
        ratio: ratio ? Number(ratio[1]) : Number(b[2]) / Number(a[2]),
        ratio_of: '3 hosts/1 host',
        note: 'parsed from its report',
      }),
    ];
  },
};

/* ---------- a user manager for bench/systemd ---------- */

/** Extra environment for the benches: the user manager's, when bench/systemd runs and none answered. */
const benchEnv = {};
let startedManager = false;
const managerScript = path.join(WORK, 'scripts', 'user-systemd');
const managerAnswers = () => spawnSync('systemctl', ['--user', 'show-environment'], { stdio: 'ignore', timeout: 10_000 }).status === 0;

/**
 * bench/systemd needs `systemctl --user`. Where none answers (no login session, PID 1 not systemd), start a
 * private one with scripts/user-systemd, as .ci/run does, and stop it when the run ends; one that was
 * already there is left alone. Without it the full run had no systemd row.
 */
function ensureUserManager() {
  if (!selected.some((s) => s.name === 'systemd') || managerAnswers()) return;
  const wasRunning = spawnSync(managerScript, ['status'], { stdio: 'ignore' }).status === 0;
  // The script prints `export` lines for eval; a fixed bash program evaluates them and prints the values.
  const result = spawnSync(
    'bash',
    [
      '-c',
      'out=$("$1" start) && eval "$out" && printf "%s\\0%s" "$XDG_RUNTIME_DIR" "${DBUS_SESSION_BUS_ADDRESS-}"',
      'bench-run',
      managerScript,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
  );
  if (result.status !== 0) {
    console.log(`bench/run: no systemd user manager, and ${managerScript} could not start one: ${result.stderr.trim().split('\n').at(-1)}`);
    return;
  }
  const [runtimeDir, bus] = result.stdout.split('\0');
  benchEnv.XDG_RUNTIME_DIR = runtimeDir;
  if (bus) benchEnv.DBUS_SESSION_BUS_ADDRESS = bus;
  startedManager = !wasRunning;
  console.log(`bench/run: started a systemd user manager for bench/systemd (XDG_RUNTIME_DIR=${runtimeDir}); stopped at the end`);
}
function stopUserManager() {
  if (!startedManager) return;
  startedManager = false;
  spawnSync(managerScript, ['stop'], { stdio: 'ignore', env: { ...process.env, ...benchEnv }, timeout: 60_000 });
}
process.on('exit', stopUserManager);

/* ---------- running one bench ---------- */

function runBench({ name, args }) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const env = { ...process.env, ...benchEnv, MOSAIC_BENCH_CLI: CLI };
    const child = spawn(process.execPath, [path.join(pkg, 'bench', `${name}.mjs`), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    current = child;
    const results = [];
    const errTail = [];
    let pending = '';
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      if (stdout.length < 4 * 1024 * 1024) stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        if (!line.startsWith('BENCH-RESULT ')) continue;
        try {
          results.push(JSON.parse(line.slice('BENCH-RESULT '.length)));
        } catch {
          console.error(`bench/run: unreadable result line from ${name}: ${line}`);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      process.stderr.write(chunk);
      errTail.push(...chunk.split('\n').filter((line) => line.trim()));
      errTail.splice(0, Math.max(0, errTail.length - 20));
    });
    child.on('close', (status, signal) => {
      current = null;
      if (results.length === 0 && FALLBACK[name]) results.push(...FALLBACK[name](stdout));
      const reason = errTail.find((line) => /Error|error:|failed|missing|no systemd/.test(line)) ?? errTail.at(-1) ?? '';
      resolve({ name, status, signal, seconds: (performance.now() - t0) / 1000, results, reason: reason.trim() });
    });
  });
}

/* ---------- the table ---------- */

function value(v, unit) {
  if (v === null || v === undefined) return '—';
  if (unit === 'ms') return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`;
  if (unit === '/s') return `${v.toFixed(2)}/s`;
  return `${v.toFixed(2)} ${unit}`;
}
function verdict(r) {
  if (!r.target) return '';
  if (r.met === true) return 'met';
  // The same run's floor (this work with no mosaic in it: bare node, a bare tmux loop, no-op units) misses it too.
  if (r.met === false) return r.floor_bound ? `missed, floor-bound (${r.floor_bound})` : 'MISSED';
  return 'undecided';
}
/** A row with nothing measured in it. */
const unmeasured = (figure, target, verdict) => ({ figure, mosaic: '—', baseline: '—', ratio: '—', floor: '—', target, verdict });
function rowsOf(runs) {
  const rows = [];
  for (const run of runs) {
    for (const r of run.results) {
      rows.push({
        figure: r.figure,
        mosaic: value(r.mosaic, r.unit),
        baseline: r.baseline === null ? '—' : `${value(r.baseline, r.unit)}${r.baseline_label ? ` (${r.baseline_label})` : ''}`,
        ratio: r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×${r.ratio_of ? ` ${r.ratio_of}` : ''}`,
        floor: r.floor === null || r.floor === undefined ? '—' : `${value(r.floor, r.unit)}${r.floor_label ? ` (${r.floor_label})` : ''}`,
        target: r.target || '—',
        verdict: verdict(r) + (r.note ? ` (${r.note})` : ''),
      });
    }
    const failed = run.status !== 0;
    const emitted = new Set(run.results.map((r) => r.id).filter(Boolean));
    const missing = Object.entries(TARGETS).filter(([id, t]) => t.bench === run.name && !emitted.has(id));
    const why = failed
      ? `bench/${run.name} ${run.signal ? `killed by ${run.signal}` : `exit ${run.status}`}: ${run.reason}`.slice(0, 160)
      : '';
    for (const [, t] of missing) rows.push(unmeasured(t.figure, t.target, failed ? 'not measured (bench failed)' : 'not measured'));
    if (failed) rows.push(unmeasured(`bench/${run.name}`, '—', `FAILED: ${why}`));
    else if (run.results.length === 0 && missing.length === 0) rows.push(unmeasured(`bench/${run.name}`, '—', 'no BENCH-RESULT lines'));
  }
  return rows;
}
function printTable(rows) {
  const columns = [
    ['figure', 'figure'],
    ['mosaic', 'mosaic'],
    ['baseline', 'peer / naive baseline'],
    ['ratio', 'ratio'],
    ['floor', 'floor (same run)'],
    ['target', 'target'],
    ['verdict', 'met / missed'],
  ];
  const width = columns.map(([key, title]) => Math.max(title.length, ...rows.map((row) => row[key].length)));
  const line = (cells) => `| ${cells.map((cell, i) => cell.padEnd(width[i])).join(' | ')} |`;
  console.log(line(columns.map(([, title]) => title)));
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(columns.map(([key]) => row[key])));
}

/* ---------- main ---------- */

const started = new Date();
const atStart = machine();
let build;
try {
  build = copyBuild();
} catch (error) {
  console.error(`bench/run: ${error.message}`);
  process.exit(1);
}
console.log(
  `bench/run: ${selected.map((s) => [s.name, ...s.args].join(' ')).join(', ')} from a private copy of the build (${build.files} files in dist/, built ${build.built.toISOString()}, mosaic ${build.version})`,
);
ensureUserManager();
const runs = [];
for (const bench of selected) {
  console.log(
    `\n== bench/${bench.name}.mjs${bench.args.length ? ` ${bench.args.join(' ')}` : ''}   (load ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')})`,
  );
  const run = await runBench(bench);
  runs.push(run);
  console.log(
    `== bench/${bench.name}: ${run.status === 0 ? 'done' : `FAILED (${run.signal ?? `exit ${run.status}`})`} in ${run.seconds.toFixed(0)} s`,
  );
}
const atEnd = machine();
const nodeStart = nodeStartCost();

const rows = rowsOf(runs);
const load = (l) => l.map((v) => v.toFixed(2)).join(' ');
console.log(
  `\n# mosaic benchmarks, ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)`,
);
console.log(
  `machine: ${atStart.cores} cores (${atStart.cpu}), ${atStart.memoryGiB} GiB, node ${atStart.node}, ${atStart.tmux}; load average (1/5/15 min) at start ${load(atStart.load)}, at end ${load(atEnd.load)}`,
);
console.log(
  `node start-up (bare \`node -e ''\`): ${nodeStart.without.toFixed(0)} ms` +
    (nodeStart.with === null
      ? ''
      : `; ${nodeStart.with.toFixed(0)} ms with this machine's NODE_EXTRA_CA_CERTS, which every bench process ran ${atStart.caCerts === 'kept' ? 'with (BENCH_KEEP_CA_CERTS=1)' : 'without (bench/lib.mjs says why)'}`),
);
console.log(`build: mosaic ${build.version}, dist/ built ${build.built.toISOString()}, run from a private copy\n`);
printTable(rows);
const all = runs.flatMap((run) => run.results).filter((r) => r.target);
const count = (v) => all.filter((r) => r.met === v).length;
const failed = runs.filter((run) => run.status !== 0);
const floorBound = all.filter((r) => r.met === false && r.floor_bound).length;
console.log(
  `\ntargets: ${count(true)} met, ${count(false)} missed (${floorBound} of them floor-bound: the same run's floor misses the target too), ${count(null)} undecided` +
    `${failed.length ? `; benches failed: ${failed.map((run) => run.name).join(', ')}` : ''}`,
);
if (jsonFile) {
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ date: started.toISOString(), machine: { ...atStart, loadStart: atStart.load, loadEnd: atEnd.load, nodeStart }, build, runs }, null, 2)}\n`,
  );
  console.log(`results written to ${jsonFile}`);
}
removeCopy();
stopUserManager();
process.exitCode = failed.length > 0 ? 1 : 0;
