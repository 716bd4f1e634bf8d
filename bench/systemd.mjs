// bench/systemd: start and stop 100 stub agents through a real `systemd --user` manager,
// batched (`mosaic fleet start` / `fleet stop`: one systemctl call for all units) vs naive
// (one `systemctl --user start|stop` per unit, in a loop), same run, printed as ratios.
// Needs a reachable user manager (see ../shared/scripts/user-systemd). Cleans up its units,
// links and tmux server whatever happens.
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

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COUNT = Number(process.env.BENCH_AGENTS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

const uid = process.getuid?.() ?? 0;
const managerEnv = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR || `/run/user/${uid}` };
if (process.env.DBUS_SESSION_BUS_ADDRESS) managerEnv.DBUS_SESSION_BUS_ADDRESS = process.env.DBUS_SESSION_BUS_ADDRESS;

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
const home = path.join(dir, 'home');
mkdirSync(home, { recursive: true });
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
const mosaic = (args) => run([process.execPath, CLI, ...args]);
const systemctl = (args) => run(['systemctl', '--user', '--no-pager', ...args]);
const must = (result, what) => {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}): ${result.stderr}`);
  return result;
};
const agents = Array.from({ length: COUNT }, (_, i) => `a${i}`);
const units = agents.map((a) => `${prefix}-agent@${a}.service`);
const holder = `${prefix}-tmux-holder.service`;
const sessionCount = () => {
  const r = run(['tmux', '-L', socket, 'list-sessions', '-F', '#{session_name}']);
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

// Calibration: the same calls for units whose ExecStart is /bin/true, i.e. what batching saves
// in systemd itself, without the processes each real agent start creates (pane, launcher, stub, transcript pipe).
const runtimeUnitDir = path.join(managerEnv.XDG_RUNTIME_DIR, 'systemd', 'user');
const noopTemplate = path.join(runtimeUnitDir, `${prefix}-noop@.service`);
function calibration() {
  mkdirSync(runtimeUnitDir, { recursive: true });
  writeFileSync(noopTemplate, '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n');
  must(systemctl(['daemon-reload']), 'daemon-reload');
  const noops = agents.map((a) => `${prefix}-noop@${a}.service`);
  const batchedMs = time(() => {
    must(systemctl(['start', ...noops]), 'noop start');
    must(systemctl(['stop', ...noops]), 'noop stop');
  });
  const naiveMs = time(() => {
    for (const unit of noops) must(systemctl(['start', unit]), 'noop start');
    for (const unit of noops) must(systemctl(['stop', unit]), 'noop stop');
  });
  rmSync(noopTemplate, { force: true });
  systemctl(['daemon-reload']);
  return { batchedMs, naiveMs };
}

function cleanup() {
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
  run(['tmux', '-L', socket, 'kill-server']);
  rmSync(dir, { recursive: true, force: true });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (ms) => `${ms.toFixed(0)} ms`.padStart(9);

const probe = systemctl(['show-environment']);
if (probe.status !== 0 || probe.error) {
  console.error(`bench/systemd: no systemd user manager reachable (${probe.error?.message ?? probe.stderr.trim()})`);
  console.error('  start one: eval "$(../shared/scripts/user-systemd start)"');
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}

try {
  writeFileSync(
    path.join(home, 'roster.yaml'),
    `version: 1\ntransport: tmux\nsupervisor: systemd\ntmux:\n  socket_name: ${socket}\ndefaults:\n  working_directory: work\nagents:\n${agents.map((a) => `  - {name: ${a}, runtime: stub}\n`).join('')}`,
  );
  must(mosaic(['fleet', 'install-systemd']), 'mosaic fleet install-systemd');
  const results = { batched: [], naive: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    results.batched.push(batched());
    results.naive.push(naive());
  }
  const b = { start: median(results.batched.map((r) => r.start)), stop: median(results.batched.map((r) => r.stop)) };
  const n = { start: median(results.naive.map((r) => r.start)), stop: median(results.naive.map((r) => r.stop)) };
  console.log(`bench/systemd: ${COUNT} stub agents via systemd --user, ${ROUNDS} rounds each (median), ${os.cpus().length} CPUs`);
  console.log(`                                        start      stop     total`);
  console.log(`  mosaic fleet start/stop (batched) ${fmt(b.start)} ${fmt(b.stop)} ${fmt(b.start + b.stop)}`);
  console.log(`  one systemctl call per unit       ${fmt(n.start)} ${fmt(n.stop)} ${fmt(n.start + n.stop)}`);
  console.log(
    `  ratio naive / batched             ${(n.start / b.start).toFixed(2).padStart(8)}x ${(n.stop / b.stop).toFixed(2).padStart(8)}x ${((n.start + n.stop) / (b.start + b.stop)).toFixed(2).padStart(8)}x   (target >= 3x)`,
  );
  const c = calibration();
  console.log(
    `  calibration, ExecStart=/bin/true: batched ${fmt(c.batchedMs).trim()}, per unit ${fmt(c.naiveMs).trim()}: ${(c.naiveMs / c.batchedMs).toFixed(2)}x` +
      ' (systemd alone; with mosaic each agent start also creates a pane, launcher, stub and transcript pipe: about ten processes that both sides pay)',
  );
  emitResult({
    ...(COUNT === 100 ? { id: 'systemd@100' } : { figure: `systemd start+stop ${COUNT}` }),
    mosaic: b.start + b.stop,
    baseline: n.start + n.stop,
    baseline_label: 'one systemctl per unit',
    ratio_of: 'per-unit/mosaic',
    note: 'built-in side not measured',
  });
} finally {
  cleanup();
}
