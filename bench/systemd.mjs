// bench/systemd: start and stop 100 stub agents through a real `systemd --user` manager,
// batched (`mosaic fleet start` / `fleet stop`: one systemctl call for all units) vs naive
// (one `systemctl --user start|stop` per unit, in a loop) vs the built-in supervisor (same 100
// stubs, `supervisor: builtin` roster, own socket), same run, printed as ratios.
// Every figure is whole-process wall time of the commands; "started" means the command returned
// (the session count is checked afterwards, untimed, on every side). Rounds alternate the order
// of the sides; each figure is the median over rounds, after one untimed warm-up of both mosaic sides.
// Needs a reachable user manager (scripts/user-systemd starts one; bench/run.mjs does it for you). Cleans up its units,
// links and tmux servers whatever happens.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitResult } from './lib.mjs';
import { missingManagerUnitDirs, removeEmptyDirs } from '../test/manager-unit-dirs.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COUNT = Number(process.env.BENCH_AGENTS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const uid = process.getuid?.() ?? 0;
const managerEnv = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR || `/run/user/${uid}` };
if (process.env.DBUS_SESSION_BUS_ADDRESS) managerEnv.DBUS_SESSION_BUS_ADDRESS = process.env.DBUS_SESSION_BUS_ADDRESS;

// `systemctl --user link` makes ~/.config/systemd/user when it is missing: what this run made, it removes.
const madeUnitDirs = missingManagerUnitDirs();
const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-bench-systemd-'));
// A private copy of the built package: the units point at it, so a rebuild of the work tree
// during the run cannot pull dist/ from under 200 unit starts.
const pkg = path.join(dir, 'pkg');
mkdirSync(pkg);
for (const entry of ['dist', 'framework', 'package.json']) cpSync(path.join(ROOT, entry), path.join(pkg, entry), { recursive: true });
symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
const CLI = path.join(pkg, 'dist', 'cli', 'main.js');
const prefix = `mb${randomBytes(4).toString('hex')}`;
const socket = `mb-systemd-${randomBytes(3).toString('hex')}`;
const builtinSocket = `mb-builtin-${randomBytes(3).toString('hex')}`;
const home = path.join(dir, 'home');
// The built-in side: its own config root and socket, so the two fleets never meet.
const builtinHome = path.join(dir, 'home-builtin');
mkdirSync(home, { recursive: true });
mkdirSync(builtinHome, { recursive: true });
mkdirSync(path.join(dir, 'tmux'), { recursive: true });
const env = {
  ...process.env,
  ...managerEnv,
  MOSAIC_FLEET_HOME: home,
  TMUX_TMPDIR: path.join(dir, 'tmux'),
  XDG_CONFIG_HOME: path.join(dir, 'config'),
  MOSAIC_SYSTEMD_UNIT_PREFIX: prefix,
  NO_COLOR: '1',
};
delete env.TMUX;
delete env.TMUX_PANE;
delete env.MOSAIC_TMUX_SOCKET;

const run = (argv) => spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const mosaic = (args, extraEnv = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const builtinEnv = { MOSAIC_FLEET_HOME: builtinHome };
const systemctl = (args) => run(['systemctl', '--user', '--no-pager', ...args]);
const must = (result, what) => {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}): ${result.stderr}`);
  return result;
};
const agents = Array.from({ length: COUNT }, (_, i) => `a${i}`);
const units = agents.map((a) => `${prefix}-agent@${a}.service`);
const holder = `${prefix}-tmux-holder.service`;
const sessionCount = (on = socket) => {
  const r = run(['tmux', '-L', on, 'list-sessions', '-F', '#{session_name}']);
  return r.status === 0
    ? r.stdout
        .trim()
        .split('\n')
        .filter((s) => s !== '_holder').length
    : 0;
};
const time = (fn) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};

function batched() {
  const start = time(() => must(mosaic(['fleet', 'start']), 'mosaic fleet start'));
  if (sessionCount() !== COUNT) throw new Error(`batched start: ${sessionCount()} sessions, expected ${COUNT}`);
  const stop = time(() => must(mosaic(['fleet', 'stop']), 'mosaic fleet stop'));
  if (sessionCount() !== 0) throw new Error('batched stop left sessions behind');
  return { start, stop };
}

function builtin() {
  const start = time(() => must(mosaic(['fleet', 'start'], builtinEnv), 'built-in fleet start'));
  if (sessionCount(builtinSocket) !== COUNT) throw new Error(`built-in start: ${sessionCount(builtinSocket)} sessions, expected ${COUNT}`);
  const stop = time(() => must(mosaic(['fleet', 'stop'], builtinEnv), 'built-in fleet stop'));
  if (sessionCount(builtinSocket) !== 0) throw new Error('built-in stop left sessions behind');
  return { start, stop };
}

function naive() {
  // What a shell loop over `systemctl --user start mosaic-agent@$a` does (the first one pulls in the holder).
  const start = time(() => {
    for (const unit of units) must(systemctl(['start', unit]), `systemctl start ${unit}`);
  });
  if (sessionCount() !== COUNT) throw new Error(`naive start: ${sessionCount()} sessions, expected ${COUNT}`);
  const stop = time(() => {
    for (const unit of units) must(systemctl(['stop', unit]), `systemctl stop ${unit}`);
    must(systemctl(['stop', holder]), 'systemctl stop holder');
  });
  if (sessionCount() !== 0) throw new Error('naive stop left sessions behind');
  return { start, stop };
}

// Calibration: the same calls for units whose ExecStart and ExecStop are /bin/true, i.e. what batching saves
// in systemd itself, without the processes each real agent start creates (pane, launcher, stub, transcript pipe).
// Each has a stop process because an agent unit needs one: the agent's processes are the tmux server's children,
// in the holder's cgroup, so the manager can only end a session by running a command (100 stops: 0.1 s without
// ExecStop, 1.1 s with /bin/true on this VM).
// Then the batched calls once more for units whose start and stop each run one tmux client that asks an idle
// server for nothing: the least a unit that creates its agent's session when the manager starts it (at boot, by
// hand, after the holder restarted), and kills it when stopped, can cost over /bin/true. The tmux binary is the
// one the fleet uses; the idle server has a socket of its own.
const runtimeUnitDir = path.join(managerEnv.XDG_RUNTIME_DIR, 'systemd', 'user');
const noopTemplate = path.join(runtimeUnitDir, `${prefix}-noop@.service`);
const idleSocket = `${socket}-idle`;
const idleSocketPath = path.join(dir, 'tmux', `tmux-${uid}`, idleSocket);
function calibration() {
  mkdirSync(runtimeUnitDir, { recursive: true });
  const noops = agents.map((a) => `${prefix}-noop@${a}.service`);
  const template = (command) => {
    writeFileSync(noopTemplate, `[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=${command}\nExecStop=${command}\n`);
    must(systemctl(['daemon-reload']), 'daemon-reload');
  };
  template('/bin/true');
  const batchedMs = time(() => {
    must(systemctl(['start', ...noops]), 'noop start');
    must(systemctl(['stop', ...noops]), 'noop stop');
  });
  const naiveMs = time(() => {
    for (const unit of noops) must(systemctl(['start', unit]), 'noop start');
    for (const unit of noops) must(systemctl(['stop', unit]), 'noop stop');
  });
  const tmuxBinary = must(run(['sh', '-c', 'command -v tmux']), 'finding tmux').stdout.trim();
  must(run(['tmux', '-L', idleSocket, '-f', '/dev/null', 'new-session', '-d', '-s', 'idle']), 'idle tmux server');
  template(`${tmuxBinary} -S ${idleSocketPath} -f /dev/null display-message -p ok`);
  const tmuxClientMs = time(() => {
    must(systemctl(['start', ...noops]), 'tmux-client unit start');
    must(systemctl(['stop', ...noops]), 'tmux-client unit stop');
  });
  run(['tmux', '-L', idleSocket, 'kill-server']);
  rmSync(noopTemplate, { force: true });
  systemctl(['daemon-reload']);
  return { batchedMs, naiveMs, tmuxClientMs };
}

let cleanedUp = false;
function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  rmSync(noopTemplate, { force: true });
  mosaic(['fleet', 'uninstall-systemd']);
  systemctl(['stop', '--', `${prefix}-*`, `app-${prefix}*`]);
  // Links the uninstall could not remove (it failed half-way): by our unique prefix only.
  const unitPath = systemctl(['show', '--property=UnitPath', '--value']).stdout.trim().split(/\s+/).filter(Boolean);
  for (const d of unitPath) {
    for (const sub of ['', 'default.target.wants']) {
      const where = path.join(d, sub);
      if (!existsSync(where)) continue;
      for (const entry of readdirSync(where)) {
        if (entry.startsWith(`${prefix}-`) && lstatSync(path.join(where, entry)).isSymbolicLink()) unlinkSync(path.join(where, entry));
      }
    }
  }
  systemctl(['daemon-reload']);
  systemctl(['reset-failed', '--', `${prefix}-*`]);
  mosaic(['fleet', 'stop'], builtinEnv);
  run(['tmux', '-L', socket, 'kill-server']);
  run(['tmux', '-L', builtinSocket, 'kill-server']);
  run(['tmux', '-L', idleSocket, 'kill-server']);
  rmSync(dir, { recursive: true, force: true });
  removeEmptyDirs(madeUnitDirs);
}

// Interrupted (bench/run passes its SIGINT on), the run still removes its units, links and fleets. The run is
// synchronous, so node handles the signal only once its rounds are done: it finishes, then cleans up.
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (ms) => `${ms.toFixed(0)} ms`.padStart(9);

const probe = systemctl(['show-environment']);
if (probe.status !== 0 || probe.error) {
  console.error(`bench/systemd: no systemd user manager reachable (${probe.error?.message ?? probe.stderr.trim()})`);
  console.error('  start one: eval "$(scripts/user-systemd start)", or run it through node bench/run.mjs systemd');
  rmSync(dir, { recursive: true, force: true });
  cleanedUp = true; // nothing was installed: no unit or fleet to remove
  process.exit(1);
}

const roster = (supervisor, on) =>
  `version: 1\ntransport: tmux\nsupervisor: ${supervisor}\ntmux:\n  socket_name: ${on}\ndefaults:\n  working_directory: work\nagents:\n${agents.map((a) => `  - {name: ${a}, runtime: stub}\n`).join('')}`;
const total = (r) => r.start + r.stop;
const summary = (rows) => ({
  start: median(rows.map((r) => r.start)),
  stop: median(rows.map((r) => r.stop)),
  total: median(rows.map(total)),
});

try {
  writeFileSync(path.join(home, 'roster.yaml'), roster('systemd', socket));
  writeFileSync(path.join(builtinHome, 'roster.yaml'), roster('builtin', builtinSocket));
  must(mosaic(['fleet', 'install-systemd']), 'mosaic fleet install-systemd');
  // Warm-up, untimed: first runs of a fresh package copy pay cold caches that no later start pays.
  batched();
  builtin();
  const sides = { batched, builtin, naive };
  const results = { batched: [], builtin: [], naive: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate the order, so neither mosaic side always runs right after the other (or after naive).
    const order = round % 2 === 0 ? ['batched', 'builtin', 'naive'] : ['builtin', 'batched', 'naive'];
    for (const side of order) results[side].push(sides[side]());
    if (process.env.BENCH_VERBOSE)
      console.log(
        `  round ${round}: ${order.map((side) => `${side} ${fmt(results[side].at(-1).start).trim()}+${fmt(results[side].at(-1).stop).trim()}`).join(', ')}`,
      );
  }
  const b = summary(results.batched);
  const d = summary(results.builtin);
  const n = summary(results.naive);
  const row = (label, r) => console.log(`  ${label.padEnd(34)}${fmt(r.start)} ${fmt(r.stop)} ${fmt(r.total)}`);
  const ratio = (x, y) => `${(x / y).toFixed(2).padStart(8)}x`;
  console.log(`bench/systemd: ${COUNT} stub agents via systemd --user, ${ROUNDS} rounds each (median), ${os.cpus().length} CPUs`);
  console.log(`                                        start      stop     total`);
  row('mosaic fleet start/stop (systemd)', b);
  row('built-in supervisor start/stop', d);
  row('one systemctl call per unit', n);
  console.log(
    `  ratio naive / systemd             ${ratio(n.start, b.start)} ${ratio(n.stop, b.stop)} ${ratio(n.total, b.total)}   (target >= 3x)`,
  );
  console.log(
    `  ratio systemd / built-in          ${ratio(b.start, d.start)} ${ratio(b.stop, d.stop)} ${ratio(b.total, d.total)}   (target <= 1.5x)`,
  );
  const c = calibration();
  console.log(
    `  calibration, ExecStart=ExecStop=/bin/true: batched ${fmt(c.batchedMs).trim()}, per unit ${fmt(c.naiveMs).trim()}: ${(c.naiveMs / c.batchedMs).toFixed(2)}x` +
      ' (systemd alone; with mosaic each agent start also creates a pane, launcher, stub and transcript pipe: about ten processes that every side pays)',
  );
  const unitFloor = d.total + c.tmuxClientMs;
  console.log(
    `  calibration, one tmux client per unit start and stop: batched ${fmt(c.tmuxClientMs).trim()}; built-in + these ${fmt(unitFloor).trim()} = ${(unitFloor / d.total).toFixed(2)}x built-in` +
      ' (the least for units that create and kill their sessions themselves; mosaic adds its sh step, the holder unit and its checks)',
  );
  emitResult({
    ...(COUNT === 100 ? { id: 'systemd@100' } : { figure: `systemd start+stop ${COUNT}` }),
    mosaic: b.total,
    baseline: n.total,
    baseline_label: 'one systemctl per unit',
    ratio_of: 'per-unit/mosaic',
    // The least systemd supervision can add to the built-in run: 100 units, a start and a stop process each.
    floor: d.total + c.batchedMs,
    floor_label: 'built-in + no-op units',
    extra: {
      builtin: Number(d.total.toFixed(2)),
      builtin_ratio: Number((b.total / d.total).toFixed(3)),
      start: Number(b.start.toFixed(2)),
      stop: Number(b.stop.toFixed(2)),
      builtin_start: Number(d.start.toFixed(2)),
      builtin_stop: Number(d.stop.toFixed(2)),
      // built-in + units that run one tmux client at start and at stop: see calibration().
      tmux_client_units: Number(c.tmuxClientMs.toFixed(2)),
      tmux_client_floor_ratio: Number((unitFloor / d.total).toFixed(3)),
    },
    note: 'whole-process wall time; start = command returned; medians of start+stop per round',
  });
} finally {
  cleanup();
}
