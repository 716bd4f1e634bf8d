import os from 'node:os';
import path from 'node:path';

export interface FleetPaths {
  root: string;
  roster: string;
  runDir: string;
  logsDir: string;
  agentsDir: string;
}

/** Config root: $MOSAIC_FLEET_HOME, else $XDG_CONFIG_HOME/mosaic/fleet, else ~/.config/mosaic/fleet. */
export function resolveFleetPaths(env: NodeJS.ProcessEnv, rosterOverride?: string): FleetPaths {
  const home = env.HOME ?? os.homedir();
  const root = env.MOSAIC_FLEET_HOME
    ? path.resolve(expandHome(env.MOSAIC_FLEET_HOME, home))
    : env.XDG_CONFIG_HOME
      ? path.join(path.resolve(env.XDG_CONFIG_HOME), 'mosaic', 'fleet')
      : path.join(home, '.config', 'mosaic', 'fleet');
  return {
    root,
    roster: rosterOverride ? path.resolve(expandHome(rosterOverride, home)) : path.join(root, 'roster.yaml'),
    runDir: path.join(root, 'run'),
    logsDir: path.join(root, 'logs'),
    agentsDir: path.join(root, 'agents'),
  };
}

export function expandHome(value: string, home: string): string {
  if (value === '~') return home;
  if (value.startsWith('~/')) return path.join(home, value.slice(2));
  return value;
}
