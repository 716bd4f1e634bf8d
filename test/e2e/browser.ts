import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { CLI, makeFleet, type TestFleet } from './harness.js';

/*
 * Helpers for the dashboard's browser test: a fleet shared by a whole file, `mosaic fleet serve` as
 * a child process, and one headless Chromium whose every file (profile, HOME, XDG dirs, temp,
 * Playwright's artifacts) lives under the fleet's directory.
 */

/** Debian's chromium (apt install chromium); Playwright's own browser downloads are not used. */
export const CHROMIUM = '/usr/bin/chromium';

/** A fleet shared by a whole test file: `dispose()` it in afterAll (harness.createFleet's finaliser is per test). */
export type FileFleet = TestFleet;
export const fileFleet = (): FileFleet => makeFleet();

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
