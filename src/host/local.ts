import { rm } from 'node:fs/promises';
import { ensurePrivateDir, fileExists, isExecutable, readFileOrUndefined, writeFileAtomic } from '../system/fs.js';
import { hostName, loginName } from '../system/identity.js';
import { runCommand, type CommandRunner } from '../system/runner.js';
import { TmuxClient } from '../tmux/client.js';
import type { Host, HostFiles } from './host.js';

export interface LocalHostOptions {
  env: NodeJS.ProcessEnv;
  /** Tests and benchmarks inject a runner to record or fake commands. */
  runner?: CommandRunner;
  now?: () => number;
}

const LOCAL_FILES: HostFiles = {
  read: readFileOrUndefined,
  exists: fileExists,
  isExecutable,
  writeAtomic: writeFileAtomic,
  ensurePrivateDir,
  remove: (file) => rm(file, { force: true }),
};

/** This machine, as the user running mosaic. */
export function localHost(options: LocalHostOptions): Host {
  const runner = options.runner ?? runCommand;
  const env = options.env;
  return {
    identity: { host: hostName(env), tenantId: loginName(env) },
    env,
    runner,
    files: LOCAL_FILES,
    // The wire only with the real runner: an injected one must see every tmux call.
    tmux: (socket) => new TmuxClient({ socket, runner, env, wire: options.runner === undefined }),
    uid: process.getuid?.() ?? 0,
    now: options.now ?? ((): number => Date.now()),
  };
}
