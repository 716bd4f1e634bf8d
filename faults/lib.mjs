// Shared helpers of the fault-injection suite (plain Node ESM, no test framework).
// A "world" is one cell's private universe: one temp root holding MOSAIC_FLEET_HOME, HOME, XDG_*,
// TMPDIR and TMUX_TMPDIR, one unique tmux socket, and (systemd) one unique unit prefix. Its
// cleanup stops exactly what it started (by socket, by unit prefix, by PID) and removes the root.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const STUB = path.join(ROOT, 'framework', 'bin', 'mosaic-stub-agent');
const UID = process.getuid?.() ?? 0;
// The temp dir the suite itself was started with (the worlds' TMPDIR is inside their own root).
const BASE_TMP = os.tmpdir();

/** A failed assertion: the cell is a miss, `message` is the evidence. */
export class Miss extends Error {}

export function check(condition, evidence) {
  if (!condition) throw new Miss(typeof evidence === 'function' ? evidence() : evidence);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll until probe returns a truthy value; a Miss naming `what` (and the last value) after the deadline. */
export async function eventually(probe, { timeoutMs = 15_000, what = 'condition', intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Miss(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Poll until probe is truthy; returns the value, or undefined after the deadline (no throw). */
export async function within(probe, timeoutMs, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(intervalMs);
  }
}

export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Process state letter (R, S, T, Z…) or undefined when gone. */
export function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Number of processes on the machine (one /proc listing). */
export function processCount() {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
}

/** PIDs (other than ours) whose environment mentions `dir`: processes a world started. */
export function processesUsing(dir) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(`${dir}/`)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

// ---------------------------------------------------------------- systemd user manager --

let manager; // { available, reason, env, unitPath, startedBySuite }

/**
 * Reach the systemd user manager the way CI does: `scripts/user-systemd start` prints the env
 * lines (and starts a manager only when none answers). Called once by the runner.
 */
export function probeManager() {
  if (manager) return manager;
  const helper = process.env.MOSAIC_USER_SYSTEMD || path.join(ROOT, 'scripts', 'user-systemd');
  const before = spawnSync(helper, ['status'], { encoding: 'utf8', timeout: 30_000 });
  const out = spawnSync(
    'bash',
    ['-c', 'out=$("$0" start) || exit $?; eval "$out"; printf "%s\\0%s" "$XDG_RUNTIME_DIR" "${DBUS_SESSION_BUS_ADDRESS:-}"', helper],
    { encoding: 'utf8', timeout: 90_000 },
  );
  if (out.status !== 0) {
    manager = {
      available: false,
      reason: `scripts/user-systemd start failed: ${out.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      env: {},
      unitPath: [],
    };
    return manager;
  }
  const [runtimeDir, bus] = out.stdout.split('\0');
  const env = { XDG_RUNTIME_DIR: runtimeDir };
  if (bus) env.DBUS_SESSION_BUS_ADDRESS = bus;
  const show = spawnSync('systemctl', ['--user', 'show', '--property=UnitPath', '--value'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (show.status !== 0) {
    manager = { available: false, reason: `systemctl --user does not answer: ${show.stderr.trim()}`, env, unitPath: [] };
    return manager;
  }
  manager = {
    available: true,
    reason: '',
    env,
    unitPath: show.stdout.trim().split(/\s+/),
    startedBySuite: before.status !== 0,
    helper,
  };
  return manager;
}

export function stopManagerIfOurs() {
  if (manager?.available && manager.startedBySuite) spawnSync(manager.helper, ['stop'], { stdio: 'ignore', timeout: 60_000 });
}

// ------------------------------------------------------------------------------ worlds --

/** A roster on the world's socket: `body` is the YAML after the tmux section. */
export function rosterYaml(world, body, { supervisor = world.systemd ? 'systemd' : 'builtin', heartbeat = 1, restart = '' } = {}) {
  return (
    `version: 1\ntransport: tmux\nsupervisor: ${supervisor}\ntmux:\n  socket_name: ${world.socket}\n` +
    `heartbeat:\n  interval_seconds: ${heartbeat}\n` +
    (restart ? `restart:\n${restart}` : '') +
    body
  );
}

/**
 * One cell's world. `systemd: true` adds a unique unit prefix and the manager's env; the
 * units live in the world's XDG_CONFIG_HOME (install-systemd links them into the manager).
 */
export function createWorld(name, { systemd = false } = {}) {
  const dir = mkdtempSync(path.join(BASE_TMP, `mosaic-faults-${name.replace(/[^a-z0-9]+/gi, '-')}-`));
  const home = path.join(dir, 'home');
  const fleetHome = path.join(dir, 'fleet');
  const tmuxTmpdir = path.join(dir, 'tmux');
  const tmp = path.join(dir, 'tmp');
  const xdg = {
    XDG_CONFIG_HOME: path.join(dir, 'xdg', 'config'),
    XDG_DATA_HOME: path.join(dir, 'xdg', 'data'),
    XDG_STATE_HOME: path.join(dir, 'xdg', 'state'),
    XDG_CACHE_HOME: path.join(dir, 'xdg', 'cache'),
    XDG_RUNTIME_DIR: path.join(dir, 'xdg', 'runtime'),
  };
  for (const d of [home, fleetHome, tmuxTmpdir, tmp, ...Object.values(xdg)]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const socket = `mf-${process.pid}-${randomBytes(4).toString('hex')}`;
  const env = { ...process.env, HOME: home, MOSAIC_FLEET_HOME: fleetHome, TMUX_TMPDIR: tmuxTmpdir, TMPDIR: tmp, NO_COLOR: '1', ...xdg };
  for (const k of ['TMUX', 'TMUX_PANE', 'MOSAIC_TMUX_SOCKET', 'MOSAIC_SYSTEMD_UNIT_PREFIX', 'DBUS_SESSION_BUS_ADDRESS', 'MOSAIC_ROSTER'])
    delete env[k];
  let prefix;
  if (systemd) {
    const m = probeManager();
    if (!m.available) throw new Miss(`no systemd user manager: ${m.reason}`);
    prefix = `mf${randomBytes(5).toString('hex')}`;
    Object.assign(env, m.env, { MOSAIC_SYSTEMD_UNIT_PREFIX: prefix });
  }
  const undo = []; // restorations (chattr -i, chmod, SIGCONT) run first at cleanup
  const children = new Set(); // CLI processes this world spawned
  const world = {
    name,
    dir,
    home,
    fleetHome,
    runDir: path.join(fleetHome, 'run'),
    rosterPath: path.join(fleetHome, 'roster.yaml'),
    socket,
    env,
    systemd,
    prefix,
    children,
    onCleanup(fn) {
      undo.push(fn);
    },
    writeRoster(yaml) {
      writeFileSync(world.rosterPath, yaml, { mode: 0o600 });
    },
    /** Run the built CLI as a user would. Resolves { status, signal, stdout, stderr, pid, ms }. */
    mosaic(args, { input = '', timeoutMs = 120_000, onSpawn, extraEnv } = {}) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const child = spawn(process.execPath, [CLI, ...args], {
          env: extraEnv ? { ...env, ...extraEnv } : env,
          stdio: ['pipe', 'pipe', 'pipe'],
          cwd: home,
        });
        children.add(child.pid);
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('close', (status, signal) => {
          clearTimeout(timer);
          children.delete(child.pid);
          resolve({ status, signal, stdout, stderr, pid: child.pid, ms: Date.now() - started });
        });
        child.stdin.on('error', () => undefined);
        child.stdin.end(input);
        onSpawn?.(child);
      });
    },
    /** `mosaic … --json`, parsed; a Miss (with stderr) when no JSON came out. */
    async json(args, options) {
      const r = await world.mosaic([...args, '--json'], options);
      try {
        return { ...r, data: JSON.parse(r.stdout) };
      } catch {
        throw new Miss(`mosaic ${args.join(' ')} --json printed no JSON (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
      }
    },
    async must(args, options) {
      const r = await world.mosaic(args, options);
      check(r.status === 0, () => `mosaic ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(0, 800)}`);
      return r;
    },
    tmux(args) {
      const r = spawnSync('tmux', ['-u', '-L', socket, '-f', '/dev/null', ...args], { env, encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    /** session → pane PID, and which are dead. */
    panes() {
      const r = world.tmux(['list-panes', '-a', '-F', '#{session_name}\t#{pane_pid}\t#{pane_dead}']);
      const pids = {};
      const dead = {};
      if (r.status !== 0) return { pids, dead, up: false };
      for (const line of r.stdout.split('\n').filter(Boolean)) {
        const [s, pid, d] = line.split('\t');
        pids[s] = Number(pid);
        dead[s] = d === '1';
      }
      return { pids, dead, up: true };
    },
    /** Live pane PIDs of these sessions, once all are up (alive and not dead). */
    async livePanes(sessions, { timeoutMs = 20_000, what } = {}) {
      return eventually(
        () => {
          const { pids, dead } = world.panes();
          return sessions.every((s) => pids[s] && !dead[s] && isAlive(pids[s])) ? pids : undefined;
        },
        { timeoutMs, what: what ?? `sessions ${sessions.join(', ')} to be up` },
      );
    },
    serverPid() {
      const r = world.tmux(['display-message', '-p', '#{pid}']);
      return r.status === 0 ? Number(r.stdout.trim()) : undefined;
    },
    systemctl(args) {
      const r = spawnSync('systemctl', ['--user', '--no-pager', ...args], { env, encoding: 'utf8', timeout: 120_000 });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    show(unit, property) {
      return world.systemctl(['show', `--property=${property}`, '--value', '--', unit]).stdout.trim();
    },
    holderUnit: prefix && `${prefix}-tmux-holder.service`,
    agentUnit: (agent) => `${prefix}-agent@${agent}.service`,
    async cleanup() {
      const notes = [];
      for (const fn of undo.reverse()) {
        try {
          await fn();
        } catch (error) {
          notes.push(`undo: ${error.message}`);
        }
      }
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      const panePids = Object.values(world.panes().pids);
      if (systemd) cleanupUnits(world);
      spawnSync('tmux', ['-L', socket, '-f', '/dev/null', 'kill-server'], { env, stdio: 'ignore', timeout: 20_000 });
      // Panes' processes and hooks end by themselves once the server is gone: wait for them.
      await within(() => !panePids.some(isAlive) && processesUsing(dir).length === 0, 15_000, 100);
      const leaked = processesUsing(dir);
      for (const pid of leaked) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      if (leaked.length) notes.push(`killed ${leaked.length} leftover process(es) of this cell: ${leaked.join(' ')}`);
      const sockDir = path.join(tmuxTmpdir, `tmux-${UID}`);
      if (existsSync(sockDir) && readdirSync(sockDir).includes('default'))
        notes.push('a "default" tmux socket appeared in the cell\'s TMUX_TMPDIR');
      spawnSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
      return notes;
    },
  };
  return world;
}

function listDir(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Stop, disable and unlink every unit with the world's prefix (whatever state the cell left). */
export function cleanupUnits(world) {
  const pattern = `${world.prefix}-*`;
  world.systemctl(['stop', '--', pattern, `app-${world.prefix}*`]);
  let files = [];
  try {
    files = JSON.parse(world.systemctl(['list-unit-files', '--output=json', '--', pattern]).stdout || '[]');
  } catch {
    files = [];
  }
  const names = files.map((f) => f.unit_file).filter((n) => !n.includes('@') || n.endsWith('@.service'));
  if (names.length) world.systemctl(['disable', '--', ...names]);
  for (const dir of probeManager().unitPath) {
    for (const sub of ['', ...listDir(dir).filter((e) => /\.(wants|requires)$/.test(e))]) {
      for (const entry of listDir(path.join(dir, sub))) {
        if (!entry.startsWith(`${world.prefix}-`)) continue;
        const file = path.join(dir, sub, entry);
        try {
          if (lstatSync(file).isSymbolicLink() || readFileSync(file, 'utf8').includes('mosaic-fingerprint')) unlinkSync(file);
        } catch {
          // gone
        }
      }
    }
  }
  world.systemctl(['daemon-reload']);
  world.systemctl(['reset-failed', '--', pattern]);
}

/** Rows of `fleet ps --json` / `fleet status --json` keyed by agent. */
export async function rows(world, verb = 'ps') {
  const r = await world.json(['fleet', verb]);
  check(Array.isArray(r.data), () => `fleet ${verb} --json is not an array (exit ${r.status}): ${r.stdout.slice(0, 300)}`);
  return Object.fromEntries(r.data.filter((row) => row.agent).map((row) => [row.agent, row]));
}

/** A cell runs in its own world; its result is { outcome, evidence, notes, ms }. */
export async function runInWorld(name, options, body) {
  const started = Date.now();
  let world;
  let result;
  try {
    world = createWorld(name, options);
    const outcome = await body(world);
    result = { ok: true, outcome: outcome ?? 'survived', evidence: '' };
  } catch (error) {
    result = { ok: false, outcome: 'MISS', evidence: error instanceof Miss ? error.message : `${error.stack ?? error}` };
  }
  let notes = [];
  if (world) {
    try {
      notes = await world.cleanup();
    } catch (error) {
      notes = [`cleanup failed: ${error.message}`];
    }
  }
  return { ...result, notes, ms: Date.now() - started };
}
