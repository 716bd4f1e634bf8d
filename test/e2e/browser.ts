import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { CLI, type CliResult, type TestFleet } from './harness.js';

/*
 * Helpers for the dashboard's browser test: a fleet shared by a whole file, `mosaic fleet serve` as
 * a child process, and one headless Chromium whose every file (profile, HOME, XDG dirs, temp,
 * Playwright's artifacts) lives under the fleet's directory.
 */

/** Debian's chromium (apt install chromium); Playwright's own browser downloads are not used. */
export const CHROMIUM = '/usr/bin/chromium';

export interface FileFleet extends TestFleet {
  /** Kill the tmux server, wait for the fleet's processes, remove the directory; throws on a leak. */
  dispose(): Promise<void>;
}

/**
 * createFleet's world for a whole test file (harness.createFleet ties its finaliser to the one
 * test that made it, so a fleet made in beforeAll needs its own): its own config root,
 * TMUX_TMPDIR, scratch dirs and socket; `dispose()` (afterAll) does what createFleet's finaliser does.
 */
export function fileFleet(): FileFleet {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-e2e-'));
  const home = path.join(dir, 'home');
  const tmuxTmpdir = path.join(dir, 'tmux');
  const socket = `mt-${process.pid}-${randomBytes(4).toString('hex')}`;
  const scratch = {
    TMPDIR: path.join(dir, 'tmp'),
    XDG_CACHE_HOME: path.join(dir, 'xdg', 'cache'),
    XDG_DATA_HOME: path.join(dir, 'xdg', 'data'),
    XDG_STATE_HOME: path.join(dir, 'xdg', 'state'),
  };
  for (const scratchDir of [home, tmuxTmpdir, ...Object.values(scratch)]) mkdirSync(scratchDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, ...scratch, MOSAIC_FLEET_HOME: home, TMUX_TMPDIR: tmuxTmpdir, NO_COLOR: '1' };
  delete env.TMUX;
  delete env.TMUX_PANE;
  delete env.MOSAIC_TMUX_SOCKET;
  const rosterPath = path.join(home, 'roster.yaml');
  const fleet: FileFleet = {
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
      return new Promise<CliResult>((resolve, reject) => {
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
      const panePids = (fleet.tmux(['list-panes', '-a', '-F', '#{pane_pid}']).stdout ?? '').split('\n').filter(Boolean).map(Number);
      spawnSync('tmux', ['-L', socket, 'kill-server'], { env, stdio: 'ignore' });
      const socketDir = path.join(tmuxTmpdir, `tmux-${process.getuid?.() ?? 0}`);
      const sockets = existsSync(socketDir) ? readdirSync(socketDir) : [];
      const deadline = Date.now() + 15_000;
      while ((panePids.some(isAlive) || processesUsing(dir).length > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
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

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** PIDs of processes (other than ours) whose environment mentions `dir`. */
function processesUsing(dir: string): number[] {
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

export interface Serve {
  /** The printed URL, token included: what a person opens. */
  url: string;
  /** `http://127.0.0.1:<port>`, the server's own Origin. */
  origin: string;
  token: string;
  pid: number;
  stderr(): string;
  /** SIGTERM by PID; resolves with the exit code (0 expected). */
  stop(): Promise<number | null>;
}

const SERVING = /^mosaic: serving (http:\/\/[^/\s]+)\/\?token=([0-9a-f]+)$/m;

/** `mosaic fleet serve --port 0 …` as a child of the test, with the fleet's env; resolves once it printed its URL. */
export async function startServe(fleet: TestFleet, args: string[] = [], env: NodeJS.ProcessEnv = fleet.env): Promise<Serve> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, 'fleet', 'serve', '--port', '0', ...args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fleet serve printed no URL within 15 s; stderr: ${stderr}`)), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const found = SERVING.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`fleet serve exited (${code}) before printing its URL; stderr: ${stderr}`));
    });
  });
  return {
    url: `${match[1]}/?token=${match[2]}`,
    origin: match[1]!,
    token: match[2]!,
    pid: child.pid!,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      return exited;
    },
  };
}

/** Why this machine cannot run the browser test, or undefined when it can. */
export const chromiumMissing = (): string | undefined =>
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install -y chromium); .ci/run installs it`;

/**
 * Headless Chromium with one persistent context whose profile, HOME, XDG dirs, TMPDIR and
 * Playwright artifacts are all under `dir`: nothing is written to the real $HOME or /tmp.
 */
export async function launchChromium(dir: string): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  const root = path.join(dir, 'chromium');
  const dirs = {
    HOME: path.join(root, 'home'),
    TMPDIR: path.join(root, 'tmp'),
    XDG_CONFIG_HOME: path.join(root, 'config'),
    XDG_CACHE_HOME: path.join(root, 'cache'),
    XDG_DATA_HOME: path.join(root, 'data'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const artifactsDir = path.join(root, 'artifacts');
  mkdirSync(artifactsDir, { recursive: true });
  // The browser gets a small, explicit environment: no session bus, no display, no real HOME.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...dirs };
  // artifactsDir is part of Playwright's launch protocol but not of its public typings.
  const options = {
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
    env,
    artifactsDir,
    viewport: { width: 1280, height: 900 },
  };
  try {
    return await chromium.launchPersistentContext(path.join(root, 'profile'), options);
  } catch (error) {
    // The Debian wrapper's harmless "/usr/bin/chromium: 9: [: …: unexpected operator" is noise in a launch failure.
    const message = (error instanceof Error ? error.message : String(error))
      .split('\n')
      .filter((line) => !line.includes('/usr/bin/chromium: 9: ['))
      .join('\n');
    throw new Error(`could not launch ${CHROMIUM}: ${message}`);
  }
}
