import path from 'node:path';
import type { Roster } from '../roster/model.js';
import { prefixedPath, type LaunchEnvironment, type LaunchSpec } from '../launch/spec.js';
import { launchSpecFile } from '../roster/paths.js';
import { supervisorLogFile, transcriptCheckSeconds, transcriptMaxBytes } from './transcript.js';

/** Seconds between the watchdog's checks for dead panes the hook missed. */
export const WATCHDOG_INTERVAL_SECONDS = 1;

/**
 * The holder session's command: the fleet watchdog (one small sh loop for the whole fleet),
 * which hands unhandled dead panes to `mosaic _supervise pane-died` and over-cap transcripts
 * to `mosaic _supervise transcripts`.
 */
export function buildHolderSpec(
  roster: Roster,
  launch: LaunchEnvironment & { home: string; configRoot: string; nodeBinary: string; mainScript: string; watchdogScript: string },
): LaunchSpec {
  return {
    agent: roster.holderSession,
    env: {
      PATH: prefixedPath([], launch.env.PATH),
      MOSAIC_FLEET_HOME: launch.home,
      MOSAIC_TMUX_SOCKET: roster.socketName,
      MOSAIC_SUPERVISOR_LOG: supervisorLogFile(path.join(launch.home, 'logs')),
      MOSAIC_TRANSCRIPT_MAX_BYTES: String(transcriptMaxBytes(launch.env)),
      MOSAIC_TRANSCRIPT_CHECK_SECONDS: String(transcriptCheckSeconds(launch.env)),
      // The needs-you process reads the roster (sinks, on_limit) from the config root, as the CLI does.
      MOSAIC_NEEDS_YOU_ROSTER: roster.file,
      MOSAIC_NEEDS_YOU_HOME: launch.configRoot,
      ...(launch.env.MOSAIC_NEEDS_YOU_RETRY_SECONDS ? { MOSAIC_NEEDS_YOU_RETRY_SECONDS: launch.env.MOSAIC_NEEDS_YOU_RETRY_SECONDS } : {}),
    },
    argv: [
      'sh',
      launch.watchdogScript,
      roster.socketName,
      String(WATCHDOG_INTERVAL_SECONDS),
      roster.holderSession,
      '--',
      launch.nodeBinary,
      launch.mainScript,
    ],
    fresh: [],
    resume: [],
    file: launchSpecFile(launch.runDir, roster.holderSession),
  };
}
