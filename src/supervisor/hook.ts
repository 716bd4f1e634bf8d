import path from 'node:path';
import { packageRoot } from '../system/package.js';
import { shellQuote } from '../system/shell.js';

/** Quote a string as one tmux command-language argument (double quotes, specials escaped). */
export function tmuxQuote(value: string): string {
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

/** A fixed value inside a run-shell command: shell-quoted, with "#" doubled so tmux formats leave it alone. */
const literal = (value: string): string => shellQuote(value).replace(/#/g, '##');

export const launcherScript = (): string => path.join(packageRoot(), 'framework', 'bin', 'mosaic-launch');
export const mainScript = (): string => path.join(packageRoot(), 'dist', 'cli', 'main.js');
export const watchdogScript = (): string => path.join(packageRoot(), 'framework', 'bin', 'mosaic-watchdog');
export const agentUnitStartScript = (): string => path.join(packageRoot(), 'framework', 'bin', 'mosaic-systemd-agent');
export const holderUnitScript = (): string => path.join(packageRoot(), 'framework', 'bin', 'mosaic-systemd-holder');

export interface HookTarget {
  nodeBinary: string;
  home: string;
  socket: string;
  logFile: string;
}

/**
 * The tmux `pane-died` hook: runs `mosaic _supervise pane-died` once per exit, in the
 * background, with the agent name and exit status expanded by tmux. No process waits
 * for agents between crashes. Names and statuses are format-expanded values we control
 * (agent names match ^[A-Za-z0-9_.-]+$), so only the fixed paths need quoting.
 */
export function paneDiedHookCommand(target: HookTarget): string {
  const shell = [
    literal(target.nodeBinary),
    literal(mainScript()),
    '_supervise',
    'pane-died',
    '--socket',
    literal(target.socket),
    '--agent',
    `'#{@mosaic_agent}'`,
    '--status',
    `'#{pane_dead_status}'`,
    '--signal',
    `'#{pane_dead_signal}'`,
    '--pid',
    `'#{pane_pid}'`,
    '--pane',
    `'#{pane_id}'`,
    `>/dev/null 2>>${literal(target.logFile)}`,
  ].join(' ');
  const env = `MOSAIC_FLEET_HOME=${literal(target.home)} `;
  // A missing log directory (someone cleaned logs/) must not stop crash recovery: sh runs
  // nothing at all when a redirection fails. `[` is a builtin: no process unless it is missing.
  const logDir = literal(path.dirname(target.logFile));
  const ensureLogDir = `[ -d ${logDir} ] || mkdir -m 700 -p ${logDir}; `;
  // umask: the supervisor's log (created by the redirection) is private like every file mosaic writes.
  return `run-shell -b ${tmuxQuote(`umask 077; ${ensureLogDir}${env}${shell}`)}`;
}

/**
 * The tmux `alert-bell` hook: stamps `<runDir>/<agent>.hb.bell` with the time an agent's terminal
 * rang its bell (claude and codex can ring it when they need the operator; any terminal agent may).
 * The needs-you reading takes a bell newer than the runtime's last report as "asks for attention".
 * One `date` per bell; panes we did not create (no @mosaic_agent) are ignored.
 */
export function bellHookCommand(runDir: string): string {
  const file = `${literal(`${runDir}/`)}'#{@mosaic_agent}.hb.bell'`;
  const shell = `[ -n '#{@mosaic_agent}' ] || exit 0; umask 077; date -u +%Y-%m-%dT%H:%M:%S.%3NZ >${file}.$$ && mv -f ${file}.$$ ${file}`;
  return `run-shell -b ${tmuxQuote(shell)}`;
}
