import os from 'node:os';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { expandHome } from '../roster/paths.js';

/** Default unit-name prefix: units are `mosaic-tmux-holder.service` and `mosaic-agent@<agent>.service`. */
export const DEFAULT_UNIT_PREFIX = 'mosaic';
const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** systemd refuses unit names longer than this (UNIT_NAME_MAX - 1). */
export const MAX_UNIT_NAME = 255;

/** The names of one fleet's units. The prefix lets several fleets (or parallel tests) share one user manager. */
export interface UnitNames {
  prefix: string;
  holder: string;
  template: string;
  /** Glob for every instance of the agent template, as systemctl accepts it. */
  agentPattern: string;
  agent(name: string): string;
}

/**
 * `$MOSAIC_SYSTEMD_UNIT_PREFIX` (default `mosaic`). Agent names go into the instance part
 * unescaped: every character roster names may hold ([A-Za-z0-9_.-]) is valid in a unit name,
 * and the units only ever use `%i` (the raw instance), never `%I` (which would turn `-` into `/`).
 */
export function unitNames(env: NodeJS.ProcessEnv): UnitNames {
  const prefix = env.MOSAIC_SYSTEMD_UNIT_PREFIX || DEFAULT_UNIT_PREFIX;
  if (!PREFIX_PATTERN.test(prefix) || prefix.length > 64) {
    throw new UserError(`MOSAIC_SYSTEMD_UNIT_PREFIX "${prefix}" is not a usable unit-name prefix`, {
      hint: 'use up to 64 letters, digits, "_" or "-", starting with a letter or digit',
    });
  }
  return {
    prefix,
    holder: `${prefix}-tmux-holder.service`,
    template: `${prefix}-agent@.service`,
    agentPattern: `${prefix}-agent@*.service`,
    agent(name: string): string {
      const unit = `${prefix}-agent@${name}.service`;
      if (name.length === 0 || unit.length > MAX_UNIT_NAME) {
        throw new UserError(`agent name "${name}" does not fit in a systemd unit name (${unit.length} > ${MAX_UNIT_NAME} characters)`, {
          hint: 'shorten the agent name in the roster',
        });
      }
      return unit;
    },
  };
}

/** The agent name of an instance unit of this fleet's template, or undefined. */
export function agentOfUnit(names: UnitNames, unit: string): string | undefined {
  const head = `${names.prefix}-agent@`;
  if (!unit.startsWith(head) || !unit.endsWith('.service')) return undefined;
  const agent = unit.slice(head.length, -'.service'.length);
  return agent.length > 0 ? agent : undefined;
}

/** Where install-systemd writes units: `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`. */
export function userUnitDir(env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? os.homedir();
  const config = env.XDG_CONFIG_HOME ? path.resolve(expandHome(env.XDG_CONFIG_HOME, home)) : path.join(home, '.config');
  return path.join(config, 'systemd', 'user');
}

/** The unit files' second line: names the roster they were rendered for (read back by detect.ts). */
export const rosterHeaderLine = (rosterFile: string): string =>
  `# for roster ${rosterFile}. Change the roster and re-run install-systemd instead of editing:`.replace(/\n/g, ' ');

const ROSTER_HEADER = /^# for roster (.+)\. Change the roster and re-run install-systemd instead of editing:$/;

/** The roster a unit file was rendered for, from its header line (undefined: no such line, not ours). */
export function rosterOfUnitFile(text: string): string | undefined {
  for (const line of text.split('\n', 4)) {
    const match = ROSTER_HEADER.exec(line);
    if (match) return match[1];
  }
  return undefined;
}
