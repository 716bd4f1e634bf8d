import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { sha256Hex } from '../system/hash.js';

export interface FleetPaths {
  /** The config root: $MOSAIC_FLEET_HOME, else $XDG_CONFIG_HOME/mosaic/fleet, else ~/.config/mosaic/fleet. */
  root: string;
  roster: string;
  /**
   * Where this roster's own files live (run/, logs/, agents/): the config root for the default
   * roster (`<root>/roster.yaml`), `<root>/rosters/<name>-<hash>` for any other roster file, so two
   * rosters sharing one config root never share run state, heartbeats, acks or transcripts.
   */
  stateDir: string;
  runDir: string;
  logsDir: string;
  agentsDir: string;
  /** Agents' git worktrees, one directory per agent (`worktree:` in the roster, `agent new --worktree`). */
  worktreesDir: string;
}

/** Config root: $MOSAIC_FLEET_HOME, else $XDG_CONFIG_HOME/mosaic/fleet, else ~/.config/mosaic/fleet. */
export function resolveFleetPaths(env: NodeJS.ProcessEnv, rosterOverride?: string): FleetPaths {
  const home = env.HOME ?? os.homedir();
  const root = env.MOSAIC_FLEET_HOME
    ? path.resolve(expandHome(env.MOSAIC_FLEET_HOME, home))
    : env.XDG_CONFIG_HOME
      ? path.join(path.resolve(env.XDG_CONFIG_HOME), 'mosaic', 'fleet')
      : path.join(home, '.config', 'mosaic', 'fleet');
  const defaultRoster = path.join(root, 'roster.yaml');
  // `--roster "$UNSET"` names no file: falling back to the default roster would act on another fleet.
  if (rosterOverride === '') {
    throw new UsageError('--roster needs a file path, got an empty one', {
      hint: 'name the roster file, or leave --roster out for <config root>/roster.yaml',
    });
  }
  const roster = rosterOverride !== undefined ? path.resolve(expandHome(rosterOverride, home)) : defaultRoster;
  const stateDir = rosterStateDir(root, roster);
  return {
    root,
    roster,
    stateDir,
    runDir: path.join(stateDir, 'run'),
    logsDir: path.join(stateDir, 'logs'),
    agentsDir: path.join(stateDir, 'agents'),
    worktreesDir: path.join(stateDir, 'worktrees'),
  };
}

/**
 * The directory holding a roster's run/, logs/ and agents/. The default roster keeps the config
 * root itself (existing fleets and installed systemd units keep working); another roster file gets
 * `<root>/rosters/<file name without extension>-<first 10 hex of sha256(absolute path)>`.
 */
export function rosterStateDir(root: string, rosterFile: string): string {
  const absolute = path.resolve(rosterFile);
  if (absolute === path.join(root, 'roster.yaml')) return root;
  const stem =
    path
      .basename(absolute)
      .replace(/\.ya?ml$/i, '')
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .replace(/^\.+/, '')
      .slice(0, 40) || 'roster';
  const hash = sha256Hex(absolute).slice(0, 10);
  return path.join(root, 'rosters', `${stem}-${hash}`);
}

export function expandHome(value: string, home: string): string {
  if (value === '~') return home;
  if (value.startsWith('~/')) return path.join(home, value.slice(2));
  return value;
}

/** Where an agent's open permission requests wait for `mosaic agent approve|deny` (src/attention/pending.ts). */
/** An agent's launch spec, which its launcher reads at every start. */
export const launchSpecFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.launch`);

export const pendingDir = (runDir: string, agent: string): string => path.join(runDir, 'pending', agent);
