import { CommandError, UserError } from '../core/errors.js';
import { monotonicMs } from '../system/clock.js';
import type { CommandRunner, RunResult } from '../system/runner.js';
import { managerSocketPath, withManagerBus, type JobOutcome, type ManagerBus } from './manager-bus.js';
import { findOnPath } from './which.js';

/** The properties we read from `systemctl --user show`, parsed. */
export interface UnitState {
  unit: string;
  loadState: string;
  activeState: string;
  subState: string;
  unitFileState: string;
  mainPid: number;
  controlGroup: string;
  fragmentPath: string;
  needDaemonReload: boolean;
}

export interface ManagerInfo {
  version: string;
  unitPath: string[];
}

const SHOW_PROPERTIES = [
  'Id',
  'LoadState',
  'ActiveState',
  'SubState',
  'UnitFileState',
  'MainPID',
  'ControlGroup',
  'FragmentPath',
  'NeedDaemonReload',
];

/** Jobs for many units can take a while (each agent start is a short mosaic run). */
const JOB_TIMEOUT_MS = 300_000;
const QUERY_TIMEOUT_MS = 30_000;

const UNREACHABLE =
  /Failed to connect to bus|Failed to get D-Bus connection|\$DBUS_SESSION_BUS_ADDRESS and \$XDG_RUNTIME_DIR not defined|System has not been booted with systemd|Transport endpoint is not connected|Connection refused/i;

export const NO_MANAGER_HINT =
  'systemd supervision needs `systemctl --user` to reach your user manager: log in through a systemd (logind) session, ' +
  'or enable lingering (`sudo loginctl enable-linger $USER`) and set XDG_RUNTIME_DIR=/run/user/$(id -u); ' +
  'where systemd is not available, set `supervisor: builtin` in the roster (the built-in supervisor needs no systemd)';

/**
 * A typed client for `systemctl --user`: argv only, one call for many units, clear errors. With `bus` (the real
 * runner, not an injected one), unit states, jobs and reset-failed go straight to the manager's private socket
 * (src/systemd/manager-bus.ts, decision 029), and systemctl runs only when that socket cannot be used;
 * MOSAIC_SYSTEMD_BUS=0 turns that off.
 */
export class Systemctl {
  private managerInfo: ManagerInfo | undefined;
  private binaryFound: Promise<boolean> | undefined;
  private busSocket: string | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly env: NodeJS.ProcessEnv,
    options: { bus?: boolean } = {},
  ) {
    this.busSocket = options.bus === true ? managerSocketPath(env) : undefined;
  }

  /** `work` over the manager's socket; undefined (and systemctl from then on) when that cannot be used. */
  private async overBus<T>(what: string, timeoutMs: number, work: (bus: ManagerBus) => Promise<T>): Promise<T | undefined> {
    if (this.busSocket === undefined) return undefined;
    const result = await withManagerBus(this.busSocket, timeoutMs, what, work);
    if (result === undefined) this.busSocket = undefined;
    return result;
  }

  argv(args: readonly string[]): string[] {
    return ['systemctl', '--user', '--no-pager', ...args];
  }

  async run(args: readonly string[], options: { allowFailure?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    let result: RunResult;
    try {
      result = await this.runner(this.argv(args), {
        env: this.env,
        allowFailure: options.allowFailure,
        timeoutMs: options.timeoutMs ?? QUERY_TIMEOUT_MS,
      });
    } catch (error) {
      if (error instanceof CommandError) {
        if (error.stderr.includes('command not found')) throw systemctlMissing(error);
        if (UNREACHABLE.test(error.stderr)) throw unreachable(error.stderr, error);
      }
      throw error;
    }
    if (result.status !== 0 && UNREACHABLE.test(result.stderr)) throw unreachable(result.stderr);
    return result;
  }

  /** Throws the clear "not installed" error unless systemctl is on PATH (looked up once). */
  async requireBinary(): Promise<void> {
    // Looked up first: a spawn that fails with ENOENT leaves the runner's timeout timer holding the process.
    this.binaryFound ??= findOnPath('systemctl', this.env).then((found) => found !== undefined);
    if (!(await this.binaryFound)) throw systemctlMissing();
  }

  /** Proves the user manager answers; returns its version and unit search path (cached). */
  async manager(): Promise<ManagerInfo> {
    if (this.managerInfo) return this.managerInfo;
    await this.requireBinary();
    const result = await this.run(['show', '--property=Version', '--property=UnitPath']);
    const props = parseProperties(result.stdout);
    this.managerInfo = { version: props.Version ?? '', unitPath: (props.UnitPath ?? '').split(/\s+/).filter(Boolean) };
    return this.managerInfo;
  }

  /** State of many units in one call, in the order asked. Unknown units come back as LoadState=not-found. */
  async show(units: readonly string[]): Promise<Map<string, UnitState>> {
    const states = new Map<string, UnitState>();
    if (units.length === 0) return states;
    const shown = await this.overBus('reading unit states', QUERY_TIMEOUT_MS, (bus) => bus.properties(units, BUS_PROPERTIES));
    if (shown) {
      for (const unit of units) states.set(unit, unitState(unit, stringProperties(shown.get(unit))));
      return states;
    }
    const result = await this.run(['show', `--property=${SHOW_PROPERTIES.join(',')}`, '--', ...units]);
    const blocks = result.stdout.split(/\n\s*\n/).filter((block) => block.trim().length > 0);
    blocks.forEach((block, index) => {
      const props = parseProperties(block);
      const unit = units[index] ?? props.Id ?? '';
      states.set(unit, unitState(unit, props));
    });
    return states;
  }

  /** Loaded units matching the globs (active or not), one call. */
  async listUnits(...patterns: string[]): Promise<{ unit: string; load: string; active: string; sub: string }[]> {
    const listed = await this.overBus('listing units', QUERY_TIMEOUT_MS, (bus) => bus.listUnits(patterns));
    if (listed) return listed;
    const result = await this.run(['list-units', '--all', '--output=json', '--', ...patterns]);
    return JSON.parse(result.stdout || '[]') as { unit: string; load: string; active: string; sub: string }[];
  }

  /**
   * Load and active state of every loaded unit matching the globs, in one D-Bus call (`show` asks
   * per unit: ~2 ms each, 0.2 s for 100 agents). Only the load/active/sub fields are filled;
   * a unit that is not loaded is absent (it is inactive).
   */
  async loadedStates(patterns: readonly string[]): Promise<Map<string, UnitState>> {
    const states = new Map<string, UnitState>();
    for (const row of await this.listUnits(...patterns)) {
      states.set(row.unit, {
        unit: row.unit,
        loadState: row.load,
        activeState: row.active,
        subState: row.sub,
        unitFileState: '',
        mainPid: 0,
        controlGroup: '',
        fragmentPath: '',
        needDaemonReload: false,
      });
    }
    return states;
  }

  /** Unit files matching a glob (templates, enabled instances, links), one call. */
  async listUnitFiles(pattern: string): Promise<{ unit_file: string; state: string }[]> {
    // Exits 1 (printing "[]") when nothing matches.
    const result = await this.run(['list-unit-files', '--output=json', '--', pattern], { allowFailure: true });
    if (result.status !== 0 && result.stdout.trim() !== '[]') {
      throw new CommandError(result.argv, result.status, result.signal, result.stderr, result.durationMs);
    }
    return JSON.parse(result.stdout || '[]') as { unit_file: string; state: string }[];
  }

  /**
   * One job call for many units; waits until every job finished. A failed job does not throw:
   * callers read the units' states afterwards and report per unit.
   */
  async jobs(verb: 'start' | 'stop' | 'restart', units: readonly string[]): Promise<RunResult | undefined> {
    if (units.length === 0) return undefined;
    const started = monotonicMs();
    const outcomes = await this.overBus(`the ${verb} jobs of ${units.length} unit(s)`, JOB_TIMEOUT_MS, (bus) => bus.jobs(verb, units));
    if (outcomes) return jobsResult(this.argv([verb, '--', ...units]), verb, outcomes, Math.round(monotonicMs() - started));
    return this.run([verb, '--', ...units], { allowFailure: true, timeoutMs: JOB_TIMEOUT_MS });
  }

  async enable(units: readonly string[]): Promise<RunResult> {
    return this.run(['enable', '--', ...units], { timeoutMs: JOB_TIMEOUT_MS });
  }

  /** Disabling a unit also removes the links `systemctl link` made for it. */
  async disable(units: readonly string[]): Promise<RunResult> {
    return this.run(['disable', '--', ...units], { allowFailure: true, timeoutMs: JOB_TIMEOUT_MS });
  }

  async link(files: readonly string[]): Promise<RunResult> {
    return this.run(['link', '--', ...files]);
  }

  async daemonReload(): Promise<void> {
    await this.run(['daemon-reload'], { timeoutMs: JOB_TIMEOUT_MS });
  }

  async resetFailed(units: readonly string[]): Promise<void> {
    if (units.length === 0) return;
    if (await this.overBus('reset-failed', QUERY_TIMEOUT_MS, (bus) => bus.resetFailed(units).then(() => true))) return;
    await this.run(['reset-failed', '--', ...units], { allowFailure: true });
  }
}

/** The `show` properties, by the interface that has them. */
const BUS_PROPERTIES = {
  'org.freedesktop.systemd1.Unit': ['Id', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'FragmentPath', 'NeedDaemonReload'],
  'org.freedesktop.systemd1.Service': ['MainPID', 'ControlGroup'],
} as const;

/** Property values as `systemctl show` prints them (booleans as yes/no). */
function stringProperties(values: ReadonlyMap<string, unknown> | undefined): Record<string, string> {
  const props: Record<string, string> = {};
  for (const [name, value] of values ?? []) props[name] = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
  return props;
}

function unitState(unit: string, props: Record<string, string>): UnitState {
  return {
    unit,
    loadState: props.LoadState ?? '',
    activeState: props.ActiveState ?? '',
    subState: props.SubState ?? '',
    unitFileState: props.UnitFileState ?? '',
    mainPid: Number(props.MainPID ?? 0),
    controlGroup: props.ControlGroup ?? '',
    fragmentPath: props.FragmentPath ?? '',
    needDaemonReload: props.NeedDaemonReload === 'yes',
  };
}

/** A failed service's Result, in the words systemctl uses. */
const FAILURE_REASONS: Record<string, string> = {
  'exit-code': 'the control process exited with error code',
  signal: 'the control process was killed by a signal',
  'core-dump': 'the control process dumped core',
  timeout: 'a timeout was exceeded',
  'start-limit-hit': 'start of the service was attempted too often',
  resources: 'of unavailable resources or another system error',
};

const JOB_ENDINGS: Record<string, string> = {
  failed: 'failed',
  dependency: 'failed: a unit it depends on failed',
  canceled: 'was canceled',
  timeout: 'timed out',
};

/** The jobs' outcomes as systemctl's result would carry them: exit 1 and a line per unit that did not make it. */
function jobsResult(argv: string[], verb: string, outcomes: readonly JobOutcome[], durationMs: number): RunResult {
  const lines: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.result === 'done' || outcome.result === 'skipped') continue;
    if (outcome.error !== undefined) lines.push(`Failed to ${verb} ${outcome.unit}: ${outcome.error}`);
    else if (outcome.result === 'failed' && outcome.reason !== undefined)
      lines.push(`Job for ${outcome.unit} failed because ${FAILURE_REASONS[outcome.reason] ?? `of "${outcome.reason}"`}.`);
    else lines.push(`Job for ${outcome.unit} ${JOB_ENDINGS[outcome.result] ?? `ended with result "${outcome.result}"`}.`);
  }
  return {
    argv,
    status: lines.length > 0 ? 1 : 0,
    signal: null,
    stdout: '',
    stderr: lines.map((line) => `${line}\n`).join(''),
    durationMs,
  };
}

function systemctlMissing(cause?: unknown): UserError {
  return new UserError('systemctl is not installed (not on PATH), so the systemd supervisor cannot run', {
    hint: 'install systemd (sudo apt-get install -y systemd), or set `supervisor: builtin` in the roster',
    cause,
  });
}

function unreachable(stderr: string, cause?: unknown): UserError {
  const reason = stderr.trim().split('\n')[0] ?? 'no answer';
  return new UserError(`no systemd user manager is reachable (systemctl --user: ${reason})`, { hint: NO_MANAGER_HINT, cause });
}

/** `Key=value` lines; values keep everything after the first "=". */
export function parseProperties(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return props;
}

/** Active in the sense "the agent should have its session": running or on its way. */
export const isActive = (state: UnitState | undefined): boolean =>
  state !== undefined && (state.activeState === 'active' || state.activeState === 'activating' || state.activeState === 'reloading');
