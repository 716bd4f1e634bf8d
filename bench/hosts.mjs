// bench/hosts: whole-process `mosaic fleet ps --json` across hosts. The issue's bar: over 3 hosts ×
// 100 agents, at most 2× one host × 100. In the same run, alternating in blocks:
//   (a) one local fleet of N stub agents, no hosts;
//   (b) N local agents + N on each of 2 other hosts: real OpenSSH sshd instances on loopback with
//       throwaway keys, an ssh_config of their own (the roster's ssh_config), their own HOME,
//       TMUX_TMPDIR and XDG dirs, and a `mosaic` on their non-interactive PATH running this dist/.
// (b) is measured with the ssh master connections warm (ps run once first); the cold time (no master
// open yet: masters closed before each of a few runs) is reported too. Medians, ratio b/a.
// Everything lives in one temp dir: fleets stopped on every host, tmux servers killed by socket, ssh
// masters closed, sshds killed by PID, leftovers in that dir killed by PID, the dir removed.
// Each run's CPU is counted too, machine-wide (/proc/stat), because the two hosts are on this machine:
// (b)'s three fleets share its cores, so b's CPU / cores is a floor under b's wall time here.
// Needs /usr/sbin/sshd (openssh-server) and ssh/ssh-keygen (openssh-client); as root, /run/sshd is created if missing.
// Run: npm run build && node bench/hosts.mjs   (BENCH_AGENTS=100  BENCH_ROUNDS=6  BENCH_BLOCK=3  BENCH_COLD=3)
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { clearTimeout } from 'node:timers';
import { CLI, emitResult, machineBusyJiffies, median, processStartTime, timed, treePids } from './lib.mjs';

// This dist's own ssh argv and master socket, for the breakdown rows (what one host's part costs alone).
const { controlDirectory, controlPath, sshArgv } = await import(path.join(path.dirname(CLI), '..', 'remote', 'ssh.js'));

const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 3);
const COLD = Number(process.env.BENCH_COLD ?? 5);
const HOSTS = ['alpha', 'beta'];
const SSHD = '/usr/sbin/sshd';
const uid = process.getuid?.() ?? 0;

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Jiffies per second in /proc/stat (USER_HZ: 100 on every Linux port but a few old alpha/ia64 ones). */
const USER_HZ = 100;
/** CPU time the whole machine has spent busy (bench/lib's machineBusyJiffies), in ms over all cores. */
const machineBusyMs = () => (machineBusyJiffies() * 1000) / USER_HZ;

function which(name) {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (d && existsSync(path.join(d, name))) return path.join(d, name);
  }
  return undefined;
}

function must(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}${result.error ?? ''}`);
  return result;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Alive and not a zombie. */
const alive = (pid) => processStartTime(pid) !== undefined;

function kill(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

/** Processes (not this one) whose environment points into `dir`: what the bench started, however deep. */
function processesUsing(dir) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(`${dir}/`)) found.push(Number(entry));
    } catch {
      /* gone, or not ours */
    }
  }
  return found;
}

function socketsUnder(dir) {
  const found = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry);
    try {
      const st = statSync(full);
      if (st.isSocket()) found.push(full);
      else if (st.isDirectory()) found.push(...socketsUnder(full));
    } catch {
      /* gone */
    }
  }
  return found;
}

/* ---------- the world: one temp root, the local side, two sshd hosts ---------- */

const root = mkdtempSync(path.join(os.tmpdir(), 'mosaic-bench-hosts-'));
if (/\s/.test(root) || /\s/.test(CLI)) throw new Error(`paths with whitespace are not supported: ${root}, ${CLI}`);
const daemons = []; // { name, pid, child }
let cleaned = false;

/** The local side: its own HOME, XDG dirs (the ssh masters live under XDG_RUNTIME_DIR), TMPDIR and TMUX_TMPDIR. */
const local = {
  HOME: path.join(root, 'local', 'home'),
  XDG_RUNTIME_DIR: path.join(root, 'local', 'run'),
  XDG_CONFIG_HOME: path.join(root, 'local', 'config'),
  XDG_STATE_HOME: path.join(root, 'local', 'state'),
  XDG_CACHE_HOME: path.join(root, 'local', 'cache'),
  XDG_DATA_HOME: path.join(root, 'local', 'data'),
  TMPDIR: path.join(root, 'local', 'tmp'),
  TMUX_TMPDIR: path.join(root, 'local', 'tmux'),
};
for (const dir of Object.values(local)) mkdirSync(dir, { recursive: true, mode: 0o700 });
const baseEnv = { ...process.env, ...local, NO_COLOR: '1' };
for (const key of ['TMUX', 'TMUX_PANE', 'MOSAIC_TMUX_SOCKET', 'MOSAIC_FLEET_HOME', 'MOSAIC_HOST_NAME', 'SSH_AUTH_SOCK'])
  delete baseEnv[key];

function fleetWorld(name) {
  const home = path.join(root, name);
  mkdirSync(home, { recursive: true });
  const socket = `mbh-${name}-${process.pid}`;
  const env = { ...baseEnv, MOSAIC_FLEET_HOME: home };
  return {
    name,
    home,
    socket,
    env,
    rosterPath: path.join(home, 'roster.yaml'),
    mosaic: (args) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }),
    ps: () => timed([process.execPath, CLI, 'fleet', 'ps', '--json'], env),
  };
}

async function startSshd(host) {
  const argv = [SSHD, '-D', '-e', '-f', host.config];
  for (let attempt = 1; ; attempt += 1) {
    writeFileSync(host.config, sshdConfig(host));
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
    const entry = { name: host.name, pid: child.pid, child };
    daemons.push(entry);
    let text = '';
    const outcome = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 10_000);
      child.stderr.on('data', (chunk) => {
        if (text.length < 20_000) text += chunk;
        if (text.includes(`Server listening on 127.0.0.1 port ${host.port}`)) {
          clearTimeout(timer);
          resolve('up');
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve('exit');
      });
    });
    if (outcome === 'up') {
      child.stderr.resume();
      return;
    }
    kill(child.pid);
    daemons.splice(daemons.indexOf(entry), 1);
    if (/Address already in use/.test(text) && attempt < 5) {
      host.port = await freePort();
      continue;
    }
    throw new Error(`sshd for ${host.name} did not start (${outcome}):\n${text}`);
  }
}

function sshdConfig(host) {
  const setEnv = Object.entries(host.env)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return [
    `# bench/hosts.mjs: fake host ${host.name}`,
    `Port ${host.port}`,
    'ListenAddress 127.0.0.1',
    'AddressFamily inet',
    `HostKey ${path.join(host.dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${path.join(host.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(host.dir, 'authorized_keys')}`,
    `AllowUsers ${os.userInfo().username}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'PermitUserEnvironment no',
    'PermitUserRC no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'X11Forwarding no',
    'MaxSessions 100',
    'MaxStartups 100',
    // INFO: its "Server listening" line says when it is up.
    'LogLevel INFO',
    // sshd honours only the first SetEnv line.
    `SetEnv ${setEnv}`,
    '',
  ].join('\n');
}

async function createHosts() {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server`);
  for (const tool of ['ssh', 'ssh-keygen', 'tmux']) if (!which(tool)) throw new Error(`${tool} is missing`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  if (uid === 0 && !existsSync('/run/sshd')) {
    // sshd run as root refuses to start without its privilege-separation directory.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    chmodSync('/run/sshd', 0o755);
  }
  const identityFile = path.join(root, 'client_ed25519');
  must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mosaic-bench-client', '-f', identityFile]);
  const nodeDir = path.dirname(process.execPath);
  const hosts = [];
  for (const name of HOSTS) {
    const dir = path.join(root, 'hosts', name);
    const home = path.join(dir, 'home');
    const env = {
      HOME: home,
      TMUX_TMPDIR: path.join(dir, 'tmux'),
      PATH: [path.join(home, 'bin'), nodeDir, '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_RUNTIME_DIR: path.join(dir, 'run'),
      TMPDIR: path.join(dir, 'tmp'),
      LANG: 'C.UTF-8',
    };
    for (const d of [
      path.join(home, 'bin'),
      env.TMUX_TMPDIR,
      env.XDG_CONFIG_HOME,
      env.XDG_STATE_HOME,
      env.XDG_CACHE_HOME,
      env.XDG_DATA_HOME,
      env.TMPDIR,
    ]) {
      mkdirSync(d, { recursive: true });
    }
    mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(home, 'bin', 'mosaic'), `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(CLI)} "$@"\n`, { mode: 0o755 });
    must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `mosaic-bench-${name}`, '-f', path.join(dir, 'ssh_host_ed25519_key')]);
    copyFileSync(`${identityFile}.pub`, path.join(dir, 'authorized_keys'));
    hosts.push({ name, dir, home, env, config: path.join(dir, 'sshd_config'), port: await freePort() });
  }
  for (const host of hosts) await startSshd(host);
  const knownHosts = path.join(root, 'known_hosts');
  writeFileSync(
    knownHosts,
    hosts
      .map(
        (h) => `${h.name} ${readFileSync(path.join(h.dir, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}`,
      )
      .join('\n') + '\n',
  );
  const common = [
    `  User ${os.userInfo().username}`,
    `  IdentityFile ${identityFile}`,
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    `  UserKnownHostsFile ${knownHosts}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  UpdateHostKeys no',
    '  CheckHostIP no',
    '  PasswordAuthentication no',
    '  KbdInteractiveAuthentication no',
  ];
  const sshConfig = path.join(root, 'ssh_config');
  writeFileSync(
    sshConfig,
    [
      '# bench/hosts.mjs: removed with the bench',
      ...hosts.map((h) => [`Host ${h.name}`, '  HostName 127.0.0.1', `  Port ${h.port}`, `  HostKeyAlias ${h.name}`, ...common].join('\n')),
      ['Host *', ...common].join('\n'),
      '',
    ].join('\n'),
  );
  return { hosts, sshConfig };
}

/* ---------- cleanup ---------- */

async function cleanup(worlds, hosts) {
  if (cleaned) return;
  cleaned = true;
  const problems = [];
  // 1. Stop the fleets (b's stop reaches every host over ssh while the sshds still run).
  for (const w of worlds.filter((world) => existsSync(world.rosterPath))) {
    const stopped = w.mosaic(['fleet', 'stop', '--json']);
    if (stopped.status !== 0) problems.push(`fleet stop (${w.name}) exit ${stopped.status}: ${stopped.stderr.trim().split('\n').at(-1)}`);
  }
  // 2. The ssh masters, by their sockets under the local XDG_RUNTIME_DIR.
  const masters = [];
  for (const socket of socketsUnder(local.XDG_RUNTIME_DIR)) {
    const check = spawnSync('ssh', ['-F', '/dev/null', '-S', socket, '-O', 'check', 'x'], { encoding: 'utf8', timeout: 5_000 });
    const pid = /pid=(\d+)/.exec(check.stderr ?? '')?.[1];
    if (pid) masters.push(Number(pid));
    spawnSync('ssh', ['-F', '/dev/null', '-S', socket, '-O', 'exit', 'x'], { stdio: 'ignore', timeout: 5_000 });
  }
  // 3. Every tmux server this bench started, by its socket (local and on each host).
  const tmuxEnv = { ...process.env };
  delete tmuxEnv.TMUX;
  for (const tmuxTmpdir of [local.TMUX_TMPDIR, ...hosts.map((h) => h.env.TMUX_TMPDIR)]) {
    for (const socket of socketsUnder(path.join(tmuxTmpdir, `tmux-${uid}`))) {
      spawnSync('tmux', ['-S', socket, 'kill-server'], { env: tmuxEnv, stdio: 'ignore', timeout: 5_000 });
    }
  }
  // 4. The sshds by PID, with their connections.
  for (const daemon of daemons.splice(0)) {
    const tree = treePids([daemon.pid]);
    for (const pid of tree) kill(pid, 'SIGSTOP');
    for (const pid of treePids([daemon.pid])) kill(pid);
    for (const pid of tree) kill(pid);
  }
  // 5. Anything else still pointing into the root (panes, supervisors, masters): wait, then kill by PID.
  const deadline = Date.now() + 10_000;
  while ((masters.some(alive) || processesUsing(root).length > 0) && Date.now() < deadline) await sleep(50);
  const leaked = [...new Set([...masters.filter(alive), ...processesUsing(root)])];
  for (const pid of leaked) kill(pid);
  if (leaked.length > 0) problems.push(`killed ${leaked.length} leftover process(es) after cleanup: ${leaked.join(', ')}`);
  rmSync(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  if (existsSync(root)) problems.push(`could not remove ${root}`);
  for (const problem of problems) console.error(`cleanup: ${problem}`);
}

/* ---------- the bench ---------- */

function check(run, expected, what) {
  if (run.status !== 0) throw new Error(`${what}: fleet ps exit ${run.status}: ${run.stderr}`);
  const rows = JSON.parse(run.stdout);
  if (rows.length !== expected) throw new Error(`${what}: ${rows.length} rows, expected ${expected}`);
  const bad = rows.filter((r) => r.state !== 'running' || r.reachable === false || r.flags.length > 0);
  if (bad.length > 0) throw new Error(`${what}: ${bad.length} rows not running/fresh, e.g. ${JSON.stringify(bad[0]).slice(0, 300)}`);
  return rows;
}

async function untilUp(w, expected) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const run = w.mosaic(['fleet', 'ps', '--json']);
    if (run.status === 0) {
      const rows = JSON.parse(run.stdout);
      if (rows.length === expected && rows.every((r) => r.pane === 'alive' && r.heartbeat.health === 'healthy' && r.flags.length === 0))
        return;
    }
    if (Date.now() > deadline) throw new Error(`${w.name}: ${expected} agents did not come up: ${run.stderr}`);
    await sleep(500);
  }
}

/** The one file called `name` under `dir` (the local record of a host's roster copy). */
function findFile(dir, name) {
  for (const entry of readdirSync(dir, { recursive: true })) if (path.basename(entry) === name) return path.join(dir, entry);
  throw new Error(`no ${name} under ${dir}`);
}

/** Close every ssh master of the local side and wait until they are gone (process and socket). */
async function closeMasters() {
  const dir = path.join(local.XDG_RUNTIME_DIR, 'mosaic', 'ssh');
  const pids = [];
  for (const socket of socketsUnder(dir)) {
    const check = spawnSync('ssh', ['-F', '/dev/null', '-S', socket, '-O', 'check', 'x'], { encoding: 'utf8', timeout: 5_000 });
    const pid = /pid=(\d+)/.exec(check.stderr ?? '')?.[1];
    if (pid) pids.push(Number(pid));
    spawnSync('ssh', ['-F', '/dev/null', '-S', socket, '-O', 'exit', 'x'], { stdio: 'ignore', timeout: 5_000 });
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) || socketsUnder(dir).length > 0) {
    if (Date.now() > deadline) throw new Error('an ssh master outlived ssh -O exit');
    await sleep(10);
  }
}

const agents = (prefix, extra = '') =>
  Array.from({ length: AGENTS }, (_, i) => `  - {name: ${prefix}${i}, runtime: stub${extra}}\n`).join('');

async function main() {
  const worlds = [];
  let hosts = [];
  const onSignal = () => {
    cleanup(worlds, hosts).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever goes wrong (even stdout closed under us), the sshds, masters and tmux servers go.
  process.stdout.on('error', () => {});
  process.on('uncaughtException', (error) => {
    console.error(error);
    cleanup(worlds, hosts).finally(() => process.exit(1));
  });
  try {
    const t0 = performance.now();
    const a = fleetWorld('one');
    const b = fleetWorld('three');
    worlds.push(a, b);
    const made = await createHosts();
    hosts = made.hosts;
    const header = (w) => `version: 1\ntransport: tmux\ntmux:\n  socket_name: ${w.socket}\ndefaults:\n  working_directory: "~"\n`;
    writeFileSync(a.rosterPath, `${header(a)}agents:\n${agents('l')}`);
    writeFileSync(
      b.rosterPath,
      `${header(b)}hosts:\n${HOSTS.map((h) => `  ${h}: {ssh: ${h}, ssh_config: ${JSON.stringify(made.sshConfig)}, timeout_seconds: 60}\n`).join('')}` +
        `agents:\n${agents('l')}${HOSTS.map((h) => agents(`${h[0]}`, `, host: ${h}`)).join('')}`,
    );
    for (const w of [a, b]) {
      const started = w.mosaic(['fleet', 'start', '--json']);
      if (started.status !== 0) throw new Error(`fleet start (${w.name}) failed: ${started.stderr}`);
    }
    await untilUp(a, AGENTS);
    await untilUp(b, AGENTS * 3);
    const setupSeconds = (performance.now() - t0) / 1000;

    // Warm: ps once each (b opens/keeps the masters), then alternate blocks, the order rotating every round.
    check(await a.ps(), AGENTS, 'a warm-up');
    check(await b.ps(), AGENTS * 3, 'b warm-up');
    // (c), for the breakdown: what b asks one host, alone: the same ssh argv (warm master) running that
    // host's mosaic `fleet ps --json` on its copy of the roster; (d) an empty command through the master.
    const spec = { name: HOSTS[0], ssh: HOSTS[0], mosaic: ['mosaic'], timeoutSeconds: 60, sshConfig: made.sshConfig };
    const sync = JSON.parse(readFileSync(findFile(b.home, `${HOSTS[0]}.json`), 'utf8'));
    const control = controlPath(controlDirectory(b.env, uid), spec);
    const overSsh = (remote) => sshArgv(spec, { remote, connectTimeoutSeconds: 60, control });
    const one = () =>
      timed(overSsh(['env', `MOSAIC_HOST_NAME=${HOSTS[0]}`, 'mosaic', '--roster', sync.file, 'fleet', 'ps', '--json']), b.env);
    check(await one(), AGENTS, 'c warm-up');
    const cases = {
      a: { run: () => a.ps(), rows: AGENTS },
      b: { run: () => b.ps(), rows: AGENTS * 3 },
      c: { run: one, rows: AGENTS },
    };
    const order = Object.keys(cases);
    const times = { a: [], b: [], c: [] };
    const cpu = { a: [], b: [], c: [] };
    /** Busy cores while nothing of ours runs, sampled once a round. */
    const background = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const key of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
        for (let i = 0; i < BLOCK; i += 1) {
          const busyBefore = machineBusyMs();
          const run = await cases[key].run();
          cpu[key].push(machineBusyMs() - busyBefore);
          check(run, cases[key].rows, `${key} round ${round}`);
          times[key].push(run.ms);
        }
      }
      // The machine's CPU with none of our commands running (the three idle fleets, both sshds, other users).
      const quietFrom = machineBusyMs();
      const quietStart = performance.now();
      await sleep(1000);
      background.push((machineBusyMs() - quietFrom) / (performance.now() - quietStart));
    }
    const empty = [];
    for (let i = 0; i < BLOCK * 3; i += 1) {
      const run = await timed(overSsh(['true']), b.env);
      if (run.status !== 0) throw new Error(`ssh true: ${run.stderr}`);
      empty.push(run.ms);
    }
    // Cold: no master open yet (closed before each run), the roster already on the hosts.
    const cold = [];
    for (let i = 0; i < COLD; i += 1) {
      await closeMasters();
      const run = await b.ps();
      check(run, AGENTS * 3, `b cold ${i}`);
      cold.push(run.ms);
    }

    const ma = median(times.a);
    const mb = median(times.b);
    const mc = median(cold);
    console.log(
      `bench/hosts: whole-process \`mosaic fleet ps --json\`, ${ROUNDS} rounds × ${BLOCK} runs each, alternating blocks (order rotating every round); ${os.cpus().length} CPUs; setup ${setupSeconds.toFixed(0)} s`,
    );
    console.log(
      `(b) = ${AGENTS} local + ${AGENTS} on each of ${HOSTS.length} hosts (real sshd on 127.0.0.1, own HOME/TMUX_TMPDIR, ssh -F roster ssh_config)`,
    );
    console.log('case                                   rows   median     min     max');
    const line = (label, rows, values) =>
      console.log(
        `${label.padEnd(38)} ${String(rows).padStart(4)} ${`${median(values).toFixed(0)} ms`.padStart(8)} ${`${Math.min(...values).toFixed(0)} ms`.padStart(7)} ${`${Math.max(...values).toFixed(0)} ms`.padStart(7)}`,
      );
    line(`(a) 1 host × ${AGENTS}`, AGENTS, times.a);
    line(`(b) 3 hosts × ${AGENTS}, master warm`, AGENTS * 3, times.b);
    line(`(b) 3 hosts × ${AGENTS}, cold (no master)`, AGENTS * 3, cold);
    line(`(c) ${HOSTS[0]}'s part alone (ssh + its ps)`, AGENTS, times.c);
    line(`(d) ssh ${HOSTS[0]} true, master warm`, 0, empty);
    console.log(`ratio b/a (warm): ${(mb / ma).toFixed(2)}x   (target ≤ 2x: ${mb / ma <= 2 ? 'met' : 'NOT met'})`);
    console.log(
      `ratio cold/a:     ${(mc / ma).toFixed(2)}x   (cold - warm: ${(mc - mb).toFixed(0)} ms for opening ${HOSTS.length} masters in parallel)`,
    );
    console.log(
      `breakdown: a + c = ${(ma + median(times.c)).toFixed(0)} ms, max(a, c) = ${Math.max(ma, median(times.c)).toFixed(0)} ms, vs b ${mb.toFixed(0)} ms (the hosts are asked while this host reads its own fleet)`,
    );
    const cores = os.cpus().length;
    const idle = median(background);
    // A run's own CPU: the machine's busy time during it, less what the background used in that time.
    const own = (key) => median(cpu[key].map((ms, i) => ms - idle * times[key][i]));
    const [ca, cb, cc] = [own('a'), own('b'), own('c')];
    const floorB = cb / (cores - idle);
    const fanOutFloor = ((HOSTS.length + 1) * ca) / (cores - idle); // this host and the remote ones
    console.log(
      `CPU per run, machine-wide less the background (${idle.toFixed(2)} cores busy between runs), medians: a ${ca.toFixed(0)} ms, b ${cb.toFixed(0)} ms, c ${cc.toFixed(0)} ms`,
    );
    console.log(
      `CPU floor under b here: ${cb.toFixed(0)} ms / ${(cores - idle).toFixed(2)} free cores = ${floorB.toFixed(0)} ms = ${(floorB / ma).toFixed(2)}x a's wall time ` +
        `(b's three fleets and both ssh ends share this machine's cores; hosts with their own CPUs would not)`,
    );
    console.log(
      `fan-out floor here: ${HOSTS.length + 1} × a's ${ca.toFixed(0)} ms of CPU / ${(cores - idle).toFixed(2)} free cores = ${fanOutFloor.toFixed(0)} ms = ${(fanOutFloor / ma).toFixed(2)}x a's wall time (no ssh, no merge)`,
    );
    emitResult({
      ...(AGENTS === 100 ? { id: 'hosts@3x100' } : { figure: `fleet ps --json, 3 hosts×${AGENTS} vs 1×${AGENTS}` }),
      mosaic: mb,
      baseline: ma,
      baseline_label: `1 host × ${AGENTS}`,
      ratio: mb / ma,
      ratio_of: '3 hosts/1 host',
      // A fan-out that costs nothing still runs three hosts' `fleet ps` on this machine's free cores.
      floor: fanOutFloor,
      floor_label: "3 × (a)'s CPU on the free cores",
      extra: { cpu_ms_a: ca, cpu_ms_b: cb, cpu_ms_c: cc, cpu_floor_ratio_b: Number((floorB / ma).toFixed(3)) },
    });
  } finally {
    await cleanup(worlds, hosts);
  }
}

await main();
