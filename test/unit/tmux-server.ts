import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ThrowawayTmux {
  /** Its TMUX_TMPDIR, a fresh directory the test may also use for its own files. */
  dir: string;
  env: NodeJS.ProcessEnv;
  socket: string;
  /** The tmux binary on this server, as mosaic calls it (`-u -L <socket> -f /dev/null`). */
  binary(args: readonly string[], input?: string): SpawnSyncReturns<string>;
  /** Kill the server and remove the directory. */
  close(): void;
}

/**
 * A throwaway tmux server for unit tests on real tmux: its own TMUX_TMPDIR, a unique socket name, no
 * $TMUX or MOSAIC_TMUX_WIRE from the caller. Nothing runs until the test starts a session.
 */
export function throwawayTmux(prefix: string, extraEnv: NodeJS.ProcessEnv = {}): ThrowawayTmux {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mosaic-${prefix}-`));
  const env: NodeJS.ProcessEnv = { ...process.env, TMUX_TMPDIR: dir, ...extraEnv };
  delete env.TMUX;
  delete env.MOSAIC_TMUX_WIRE;
  const socket = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  return {
    dir,
    env,
    socket,
    binary: (args, input) => spawnSync('tmux', ['-u', '-L', socket, '-f', '/dev/null', ...args], { env, input, encoding: 'utf8' }),
    close: () => {
      spawnSync('tmux', ['-L', socket, 'kill-server'], { env, stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
