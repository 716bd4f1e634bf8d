import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import type { DeliveryStep } from '../../src/messaging/deliver.js';
import { newMarker, parseScreens, screenCommands } from '../../src/messaging/screen.js';
import type { Screen } from '../../src/runtimes/detectors/types.js';
import { joinCommands } from '../../src/tmux/client.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface TestFleet {
  /** Kill the tmux server, wait for the fleet's processes, remove the directory; throws on a leak. */
  dispose(): Promise<void>;
  dir: string;
  home: string;
  socket: string;
  tmuxTmpdir: string;
  rosterPath: string;
  env: NodeJS.ProcessEnv;
  writeRoster(yaml: string): void;
  mosaic(args: string[], options?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  json<T = unknown>(args: string[]): Promise<T>;
  tmux(args: string[]): CliResult;
}

/** A roster body (without version/transport/tmux) on this fleet's private socket. */
export function roster(socket: string, body: string, extra = ''): string {
  return `version: 1\ntransport: tmux\ntmux:\n  socket_name: ${socket}\n${extra}${body}`;
}

/**
 * A private world per test: its own config root, its own TMUX_TMPDIR and a unique socket.
 * The finaliser kills the server by its socket and checks that no default server appeared.
 */
export function createFleet(): TestFleet {
  const fleet = makeFleet();
  onTestFinished(() => fleet.dispose());
  return fleet;
}

/** createFleet's world without the finaliser, for a fleet shared by a whole file (dispose it in afterAll). */
export function makeFleet(): TestFleet {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-e2e-'));
  const home = path.join(dir, 'home');
  const tmuxTmpdir = path.join(dir, 'tmux');
  spawnSync('mkdir', ['-p', home, tmuxTmpdir]);
  const socket = `mt-${process.pid}-${randomBytes(4).toString('hex')}`;
  // Everything the fleet's processes (runtimes included) write to temp, cache or data dirs stays in
  // the test's directory, which the finaliser removes: nothing is left in /tmp or $HOME.
  const scratch = {
    TMPDIR: path.join(dir, 'tmp'),
    XDG_CACHE_HOME: path.join(dir, 'xdg', 'cache'),
    XDG_DATA_HOME: path.join(dir, 'xdg', 'data'),
    XDG_STATE_HOME: path.join(dir, 'xdg', 'state'),
  };
  for (const scratchDir of Object.values(scratch)) mkdirSync(scratchDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, ...scratch, MOSAIC_FLEET_HOME: home, TMUX_TMPDIR: tmuxTmpdir, NO_COLOR: '1' };
  delete env.TMUX;
  delete env.TMUX_PANE;
  delete env.MOSAIC_TMUX_SOCKET;
  const rosterPath = path.join(home, 'roster.yaml');
  const fleet: TestFleet = {
    dir,
    home,
    socket,
    tmuxTmpdir,
    rosterPath,
    env,
    writeRoster(yaml) {
      writeFileSync(rosterPath, yaml);
    },
    mosaic(args, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, ...args], { env: options.env ?? env, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
        child.stdin.end(options.input ?? '');
      });
    },
    async json<T>(args: string[]) {
      const result = await fleet.mosaic([...args, '--json']);
      if (result.status !== 0) throw new Error(`mosaic ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    },
    tmux(args) {
      const result = spawnSync('tmux', ['-u', '-L', socket, ...args], { env, encoding: 'utf8' });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    async dispose() {
      const panePids = (spawnSync('tmux', ['-L', socket, 'list-panes', '-a', '-F', '#{pane_pid}'], { env, encoding: 'utf8' }).stdout ?? '')
        .split('\n')
        .filter(Boolean)
        .map(Number);
      spawnSync('tmux', ['-L', socket, 'kill-server'], { env, stdio: 'ignore' });
      const sockets = existsSync(path.join(tmuxTmpdir, `tmux-${process.getuid?.() ?? 0}`))
        ? readdirSync(path.join(tmuxTmpdir, `tmux-${process.getuid?.() ?? 0}`))
        : [];
      // Real runtimes write into the test's directory while they shut down (exit hooks, config,
      // heartbeat loops), also after an in-test `fleet stop`: wait until no process of the pane trees
      // and no process whose environment points into this test's directory is left, then remove it.
      const deadline = Date.now() + 15_000;
      while ((panePids.some(isAlive) || processesUsing(dir).length > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Anything still running now outlived its fleet: a leak. Stop it by PID (it is ours), then fail.
      const leaked = processesUsing(dir);
      for (const pid of leaked) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
      if (sockets.includes('default')) throw new Error('a test contacted the default tmux server (a "default" socket appeared)');
      if (leaked.length > 0) throw new Error(`processes outlived the test's fleet (pids ${leaked.join(', ')}): something leaks`);
    },
  };
  return fleet;
}

/** Running, that is: not gone and not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Poll until the probe returns a value; fail after the deadline. `what` names the condition; as a
 * function it is asked at the timeout, so the message shows the state then, not at the start.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  what: string | (() => string) = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probedAt = Date.now();
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    // A probe that runs the CLI is a whole node process (a CI run spent 480 s of CPU in 1,154 of them,
    // 0.3-0.6 s each under load): pausing as long as it took keeps a wait to half a core at most, so
    // it does not starve the agents it waits for. A file read still polls every 50 ms.
    await new Promise((resolve) => setTimeout(resolve, Math.max(50, Date.now() - probedAt)));
  }
}

/** An agent's screen as mosaic reads it (the same tmux commands and parser), for the detectors. */
export function captureScreen(fleet: TestFleet, session: string): Screen {
  const marker = newMarker();
  const result = fleet.tmux(joinCommands(screenCommands(session, marker)));
  const [screen] = parseScreens(result.stdout, marker);
  if (!screen) throw new Error(`cannot read the screen of ${session}: ${result.stderr}`);
  return screen;
}

/** Wait until `mosaic agent status <agent>` shows `activity` (busy, waiting, idle). */
export async function activityBecomes(fleet: TestFleet, agent: string, activity: string, timeoutMs = 30_000): Promise<void> {
  await eventually(
    async () => ((await fleet.json<{ activity: string }>(['agent', 'status', agent])).activity === activity ? true : undefined),
    timeoutMs,
    `${agent} to show activity ${activity}`,
  );
}

/** One line of a send's trace (`MOSAIC_SEND_TRACE=<file>`): a delivery step and the agent it was for. */
export type SendTraceStep = DeliveryStep & { agent: string };

/** The steps a traced send wrote; none when it wrote no file. */
export function readSendTrace(file: string): SendTraceStep[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as SendTraceStep);
}

export interface StatusRow {
  tenant_id: string;
  host: string;
  agent: string;
  state: string;
  pane_pid: number | null;
  restarts: number;
  last_exit_status: number | null;
  failed_reason: string | null;
  current_command: string | null;
  heartbeat: { health: string; age_seconds: number | null; status: string | null };
}

/**
 * Waits until tmux itself shows `session`'s pane alive with a PID other than `previous`: crash
 * recovery that happened unattended (no mosaic command, which could also repair, is run).
 */
export function paneComesBack(
  fleet: TestFleet,
  session: string,
  previous: number,
  what = `${session} to come back by itself`,
): Promise<number> {
  return eventually(
    () => {
      const [dead, pid] = fleet
        .tmux(['display-message', '-p', '-t', `=${session}:0.0`, '#{pane_dead} #{pane_pid}'])
        .stdout.trim()
        .split(' ');
      return dead === '0' && Number(pid) !== previous ? Number(pid) : undefined;
    },
    15_000,
    what,
  );
}

export const statusOf = async (fleet: TestFleet): Promise<Record<string, StatusRow>> =>
  Object.fromEntries((await fleet.json<StatusRow[]>(['fleet', 'status'])).map((row) => [row.agent, row]));

/** PIDs of processes (other than ours) whose environment mentions `dir`: the agents' hooks and loops. */
export function processesUsing(dir: string): number[] {
  const found: number[] = [];
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
