import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
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
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { ProcessTable } from '../../src/system/proc.js';
import { CLI, isAlive, processesUsing, ROOT, type CliResult } from './harness.js';

/*
 * Fake remote hosts for the multi-host tests: one real OpenSSH sshd per host on loopback, each
 * with its own host key, HOME, TMUX_TMPDIR, XDG dirs and TMPDIR (all under the world's private
 * temp dir), and a `mosaic` on the non-interactive PATH that runs this checkout's dist/. A host
 * may live in its own network namespace (reached through test/e2e/ns-proxy.cjs as ProxyCommand).
 * The local side reaches them with `ssh -F <world.sshConfig> <alias>`; host key checking stays on
 * (known_hosts is pre-populated). A finaliser stops everything by PID and removes the world dir.
 *
 * Needs: openssh-server (/usr/sbin/sshd), openssh-client, iproute2 (`ip`, for netns hosts), and
 * root for network namespaces; as root, sshd also needs /run/sshd, which is created (0755) and left.
 */

export const SSHD = '/usr/sbin/sshd';
export const NS_PROXY = path.join(ROOT, 'test', 'e2e', 'ns-proxy.cjs');

export interface FakeHost {
  /** The host's name, which is also its alias in the world's ssh config. */
  name: string;
  /** What to pass to `ssh -F <sshConfig>`: the alias (`name`). */
  sshTarget: string;
  /** The TCP port sshd listens on at 127.0.0.1 (inside the namespace for a netns host). */
  port: number;
  /** Everything of this host lives here (keys, sshd_config, sshd.log, home, tmux, run, tmp). */
  dir: string;
  /** The remote HOME (the remote XDG_CONFIG_HOME etc. are under it). */
  home: string;
  tmuxTmpdir: string;
  /** The environment sshd gives every session (its one SetEnv line). */
  remoteEnv: Record<string, string>;
  /** Network namespace name, for a `netns: true` host. */
  netns?: string;
  /** PID of the running sshd listener, undefined while stopped. */
  readonly pid: number | undefined;
  /** Kill this sshd (and its live connections) by PID; resolves once the port refuses connections. */
  stop(): Promise<void>;
  /** Start it again after stop(): same port, same host key. Resolves once it listens. */
  start(): Promise<void>;
}

export interface SshWorld {
  dir: string;
  /** An ssh_config (`ssh -F`) with a Host block per fake host. */
  sshConfig: string;
  knownHosts: string;
  /** The client's private key (its public half is in every host's authorized_keys). */
  identityFile: string;
  /** `<dir>/bin`, holding an `ssh` wrapper that adds `-F <sshConfig>` (first on env.PATH). */
  binDir: string;
  hosts: FakeHost[];
  /** For the local side: XDG_RUNTIME_DIR, XDG_*, TMPDIR, TMUX_TMPDIR under dir; PATH starts with binDir. */
  env: NodeJS.ProcessEnv;
  host(name: string): FakeHost;
  /** `ssh -F <sshConfig> -o BatchMode=yes [...sshOptions] <alias> <command>` with world.env. */
  ssh(
    host: FakeHost | string,
    command: string,
    options?: { sshOptions?: string[]; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<CliResult & { ms: number }>;
}

export interface SshWorldOptions {
  hosts: { name: string; netns?: boolean }[];
}

const uid = process.getuid?.() ?? 0;
const isRoot = uid === 0;
/** sshd listener PIDs still running: killed on an abrupt exit of the worker too. */
const liveDaemons = new Set<number>();
let exitHookInstalled = false;

export async function createSshWorld(options: SshWorldOptions): Promise<SshWorld> {
  checkPrerequisites(options);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-ssh-'));
  if (/\s/.test(dir) || /\s/.test(ROOT)) throw new Error(`paths with whitespace are not supported: ${dir}, ${ROOT}`);
  const hosts: HostImpl[] = [];
  // Registered before anything is started, so that a failure half-way is cleaned up too.
  onTestFinished(() => finalise(dir, hosts, local));

  const local = {
    XDG_RUNTIME_DIR: path.join(dir, 'local', 'run'),
    XDG_CONFIG_HOME: path.join(dir, 'local', 'config'),
    XDG_STATE_HOME: path.join(dir, 'local', 'state'),
    XDG_CACHE_HOME: path.join(dir, 'local', 'cache'),
    XDG_DATA_HOME: path.join(dir, 'local', 'data'),
    TMPDIR: path.join(dir, 'local', 'tmp'),
    TMUX_TMPDIR: path.join(dir, 'local', 'tmux'),
  };
  for (const d of Object.values(local)) mkdirSync(d, { recursive: true, mode: 0o700 });

  const identityFile = path.join(dir, 'client_ed25519');
  keygen(identityFile, 'mosaic-test-client');
  const user = os.userInfo().username;
  const ip = which('ip');

  if (isRoot && !existsSync('/run/sshd')) {
    // sshd run as root refuses to start without its privilege-separation directory.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    chmodSync('/run/sshd', 0o755);
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const pid of liveDaemons) signal(pid, 'SIGKILL');
    });
  }

  const ports = new Set<number>();
  for (const spec of options.hosts) {
    const hostDir = path.join(dir, 'hosts', spec.name);
    const home = path.join(hostDir, 'home');
    const tmuxTmpdir = path.join(hostDir, 'tmux');
    const remoteEnv: Record<string, string> = {
      HOME: home,
      TMUX_TMPDIR: tmuxTmpdir,
      PATH: remotePath(home),
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_RUNTIME_DIR: path.join(hostDir, 'run'),
      TMPDIR: path.join(hostDir, 'tmp'),
      LANG: 'C.UTF-8',
    };
    for (const d of [
      home,
      path.join(home, 'bin'),
      tmuxTmpdir,
      remoteEnv.XDG_CONFIG_HOME!,
      remoteEnv.XDG_STATE_HOME!,
      remoteEnv.XDG_CACHE_HOME!,
      remoteEnv.XDG_DATA_HOME!,
      remoteEnv.TMPDIR!,
    ]) {
      mkdirSync(d, { recursive: true });
    }
    mkdirSync(remoteEnv.XDG_RUNTIME_DIR!, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(home, 'bin', 'mosaic'), `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(CLI)} "$@"\n`, { mode: 0o755 });
    keygen(path.join(hostDir, 'ssh_host_ed25519_key'), `mosaic-test-${spec.name}`);
    copyFileSync(`${identityFile}.pub`, path.join(hostDir, 'authorized_keys'));
    let port = await freePort();
    while (ports.has(port)) port = await freePort();
    ports.add(port);
    const host = new HostImpl(spec.name, hostDir, home, tmuxTmpdir, remoteEnv, port, user);
    hosts.push(host);
    if (spec.netns) {
      if (!ip) throw new Error('`ip` (iproute2) is needed for a netns host');
      const ns = `mt-${randomBytes(4).toString('hex')}`;
      run(ip, ['netns', 'add', ns]);
      host.netns = ns;
      host.ip = ip;
      run(ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }
  await Promise.all(hosts.map((host) => host.start({ pickPortOnConflict: true })));

  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(
    knownHosts,
    hosts
      .flatMap((host) => {
        const key = readFileSync(path.join(host.dir, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
        // Under the alias (HostKeyAlias), and for a host in the root namespace also under
        // [127.0.0.1]:port, for a connection that names the address instead of the alias.
        return host.netns ? [`${host.name} ${key}`] : [`${host.name} ${key}`, `[127.0.0.1]:${host.port} ${key}`];
      })
      .join('\n') + '\n',
  );
  const sshConfig = path.join(dir, 'ssh_config');
  writeFileSync(sshConfig, sshConfigText(hosts, { user, identityFile, knownHosts }));

  const binDir = path.join(dir, 'bin');
  mkdirSync(binDir);
  const ssh = which('ssh') ?? '/usr/bin/ssh';
  writeFileSync(path.join(binDir, 'ssh'), `#!/bin/sh\nexec ${shq(ssh)} -F ${shq(sshConfig)} "$@"\n`, { mode: 0o755 });

  const env: NodeJS.ProcessEnv = { ...process.env, ...local, PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`, NO_COLOR: '1' };
  delete env.TMUX;
  delete env.TMUX_PANE;
  delete env.MOSAIC_TMUX_SOCKET;
  delete env.SSH_AUTH_SOCK;

  const world: SshWorld = {
    dir,
    sshConfig,
    knownHosts,
    identityFile,
    binDir,
    hosts,
    env,
    host(name) {
      const found = hosts.find((h) => h.name === name);
      if (!found) throw new Error(`no fake host ${name}`);
      return found;
    },
    ssh(target, command, opts = {}) {
      const alias = typeof target === 'string' ? target : target.sshTarget;
      const args = ['-F', sshConfig, '-o', 'BatchMode=yes', ...(opts.sshOptions ?? []), alias, command];
      return runAsync(ssh, args, { env: opts.env ?? env, input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000 });
    },
  };
  return world;
}

class HostImpl implements FakeHost {
  netns?: string;
  ip?: string;
  sshTarget: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    public name: string,
    public dir: string,
    public home: string,
    public tmuxTmpdir: string,
    public remoteEnv: Record<string, string>,
    public port: number,
    private user: string,
  ) {
    this.sshTarget = name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(options: { pickPortOnConflict?: boolean } = {}): Promise<void> {
    if (this.child) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnDaemon();
        return;
      } catch (error) {
        // The free port we picked was taken in between: pick another (only before anyone knows it).
        if (options.pickPortOnConflict && /Address already in use/.test(String(error)) && attempt < 5) {
          this.port = await freePort();
          continue;
        }
        throw error;
      }
    }
  }

  private spawnDaemon(): Promise<void> {
    const config = path.join(this.dir, 'sshd_config');
    writeFileSync(config, this.sshdConfig());
    const argv = [SSHD, '-D', '-e', '-f', config];
    // `ip netns exec` execs sshd in place (no fork): the PID is sshd's.
    const [command, ...args] = this.netns ? [this.ip!, 'netns', 'exec', this.netns, ...argv] : argv;
    const child = spawn(command!, args, { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
    const log = path.join(this.dir, 'sshd.log');
    let text = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal(child.pid, 'SIGKILL');
        reject(new Error(`sshd for ${this.name} did not listen within 10 s:\n${text}`));
      }, 10_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        const s = chunk.toString();
        appendFileSync(log, s);
        if (text.length < 20_000) text += s;
        if (text.includes(`Server listening on 127.0.0.1 port ${this.port}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, sig) => {
        liveDaemons.delete(child.pid!);
        if (this.child === child) this.child = undefined;
        clearTimeout(timer);
        reject(new Error(`sshd for ${this.name} exited (${code ?? sig}) before listening:\n${text}`));
      });
      if (child.pid !== undefined) liveDaemons.add(child.pid);
      this.child = child;
      this.exited = exited;
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    // Freeze the listener and everything it forked (one process per connection, and the sessions'
    // commands), so that nothing forks or accepts while we collect them; then kill them all. Live
    // connections drop like the host vanished. Tmux servers daemonise, so the host's agents live on.
    const tree = freezeTree(child.pid);
    for (const pid of tree) signal(pid, 'SIGKILL');
    await this.exited;
    await waitFor(() => tree.every((pid) => !isAlive(pid)), 10_000, `the processes of ${this.name}'s sshd to exit`);
    await waitFor(() => this.refuses(), 10_000, `${this.name}:${this.port} to refuse connections`);
  }

  /** True once nothing accepts on the port (connection refused), in the host's namespace. */
  async refuses(): Promise<boolean> {
    if (this.netns) {
      const probe = await runAsync(
        this.ip!,
        ['netns', 'exec', this.netns, process.execPath, NS_PROXY, '127.0.0.1', String(this.port), '--probe'],
        {
          env: process.env,
          timeoutMs: 10_000,
        },
      );
      return probe.status === 1;
    }
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
  }

  private sshdConfig(): string {
    const setEnv = Object.entries(this.remoteEnv)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    return [
      `# generated by test/e2e/sshd.ts for fake host ${this.name}`,
      `Port ${this.port}`,
      'ListenAddress 127.0.0.1',
      'AddressFamily inet',
      `HostKey ${path.join(this.dir, 'ssh_host_ed25519_key')}`,
      `PidFile ${path.join(this.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(this.dir, 'authorized_keys')}`,
      `AllowUsers ${this.user}`,
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
      // A ControlMaster multiplexes many sessions over one connection: allow plenty.
      'MaxSessions 100',
      'MaxStartups 100',
      'LogLevel INFO',
      // sshd honours only the FIRST SetEnv line: everything goes on this one.
      `SetEnv ${setEnv}`,
      '',
    ].join('\n');
  }
}

function sshConfigText(hosts: HostImpl[], o: { user: string; identityFile: string; knownHosts: string }): string {
  const common = [
    `  User ${o.user}`,
    `  IdentityFile ${o.identityFile}`,
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    `  UserKnownHostsFile ${o.knownHosts}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  UpdateHostKeys no',
    '  CheckHostIP no',
    '  PasswordAuthentication no',
    '  KbdInteractiveAuthentication no',
  ];
  const blocks = hosts.map((host) =>
    [
      `Host ${host.name}`,
      '  HostName 127.0.0.1',
      `  Port ${host.port}`,
      // Two hosts share 127.0.0.1: each host key is filed under the alias, not the address.
      `  HostKeyAlias ${host.name}`,
      ...(host.netns ? [`  ProxyCommand ${host.ip} netns exec ${host.netns} ${process.execPath} ${NS_PROXY} 127.0.0.1 %p`] : []),
      ...common,
    ].join('\n'),
  );
  return ['# generated by test/e2e/sshd.ts for one test; removed with it', ...blocks, ['Host *', ...common].join('\n'), ''].join('\n');
}

async function finalise(dir: string, hosts: HostImpl[], local: { XDG_RUNTIME_DIR: string; TMUX_TMPDIR: string }): Promise<void> {
  const problems: string[] = [];
  // 1. ControlMaster processes, by their sockets under the local XDG_RUNTIME_DIR.
  const masters: number[] = [];
  for (const socket of socketsUnder(local.XDG_RUNTIME_DIR)) {
    const check = spawnSync('ssh', ['-F', '/dev/null', '-S', socket, '-O', 'check', 'x'], { encoding: 'utf8', timeout: 5_000 });
    const pid = /pid=(\d+)/.exec(check.stderr ?? '')?.[1];
    if (pid) masters.push(Number(pid));
    spawnSync('ssh', ['-F', '/dev/null', '-S', socket, '-O', 'exit', 'x'], { stdio: 'ignore', timeout: 5_000 });
  }
  // 2. Tmux servers the fake hosts (and the local side) started, by their sockets.
  const tmuxEnv = { ...process.env };
  delete tmuxEnv.TMUX;
  for (const tmuxTmpdir of [...hosts.map((h) => h.tmuxTmpdir), local.TMUX_TMPDIR]) {
    const socketDir = path.join(tmuxTmpdir, `tmux-${uid}`);
    for (const socket of socketsUnder(socketDir)) {
      spawnSync('tmux', ['-S', socket, 'kill-server'], { env: tmuxEnv, stdio: 'ignore', timeout: 5_000 });
    }
  }
  // 3. Every sshd (and its connections) by PID, then the namespaces.
  for (const host of hosts) {
    try {
      await host.stop();
    } catch (error) {
      problems.push(String(error));
    }
  }
  for (const host of hosts) {
    if (host.netns && host.ip) {
      const del = spawnSync(host.ip, ['netns', 'del', host.netns], { encoding: 'utf8' });
      if (del.status !== 0) problems.push(`ip netns del ${host.netns}: ${del.stderr}`);
    }
  }
  // 4. Wait for whatever still points into the world (masters, panes, proxies) to go; kill leaks.
  const deadline = Date.now() + 10_000;
  while ((masters.some(isAlive) || processesUsing(dir).length > 0) && Date.now() < deadline) await delay(50);
  const leaked = [...new Set([...masters.filter(isAlive), ...processesUsing(dir)])];
  for (const pid of leaked) signal(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  if (leaked.length > 0) problems.push(`processes outlived the ssh world (pids ${leaked.join(', ')}): something leaks`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

// ---------------------------------------------------------------------------------------------

function checkPrerequisites(options: SshWorldOptions): void {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (apt-get install -y openssh-server)`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first`);
  const names = new Set<string>();
  for (const host of options.hosts) {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(host.name)) throw new Error(`bad fake host name: ${host.name}`);
    if (names.has(host.name)) throw new Error(`duplicate fake host name: ${host.name}`);
    names.add(host.name);
    if (host.netns && !isRoot) throw new Error('a netns fake host needs root');
  }
}

/** PATH of the fake host's sessions: its own bin first, then the usual; node's dir if elsewhere. */
function remotePath(home: string): string {
  const dirs = [path.join(home, 'bin'), '/usr/local/bin', '/usr/bin', '/bin'];
  const nodeDir = path.dirname(process.execPath);
  if (!dirs.includes(nodeDir)) dirs.splice(1, 0, nodeDir);
  return dirs.join(':');
}

function keygen(file: string, comment: string): void {
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}${result.error ?? ''}`);
}

function runAsync(
  command: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; input?: string; timeoutMs: number },
): Promise<CliResult & { ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: o.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
    child.stdin.end(o.input ?? '');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function which(name: string): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (d && existsSync(path.join(d, name))) return path.join(d, name);
  }
  return undefined;
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGSTOP `root` and all its descendants (repeating until no new one appears); returns them all. */
function freezeTree(root: number): number[] {
  const frozen = new Set<number>();
  let frontier = [root];
  while (frontier.length > 0) {
    for (const pid of frontier) {
      signal(pid, 'SIGSTOP');
      frozen.add(pid);
    }
    const table = new ProcessTable(); // a fresh scan each round: the tree may have forked meanwhile
    frontier = [...new Set([...frozen].flatMap((pid) => table.descendants(pid)))].filter((pid) => !frozen.has(pid));
  }
  return [...frozen];
}

/** Unix sockets anywhere under `dir`. */
function socketsUnder(dir: string): string[] {
  const found: string[] = [];
  let entries: string[];
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
      // gone
    }
  }
  return found;
}

async function waitFor(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(25);
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
