/** The validated, normalised roster that the rest of the program works with. */

export type SupervisorKind = 'builtin' | 'systemd';

/**
 * Where `Roster.supervisor` came from: `roster` (the file says `supervisor:`), `default` (it does
 * not, and no enabled systemd units of this roster were found: built-in), `detected` (it does not,
 * and this roster's systemd units are installed and enabled: systemd). The loader only ever says
 * `roster` or `default`; the fleet layer (fleet/supervisor-choice.ts) may turn `default` into `detected`.
 */
export type SupervisorSource = 'roster' | 'default' | 'detected';

export type AgentMode = 'yolo' | 'safe';
export const AGENT_MODES: readonly AgentMode[] = ['yolo', 'safe'];

export interface RestartPolicy {
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** More than this many crashes inside the window marks the agent failed. */
  maxCrashes: number;
  windowSeconds: number;
  /**
   * More than this many crashes across the whole fleet inside the window is a crash storm (a bad
   * config or a broken runtime): agents that crash during it are marked failed, not restarted.
   * Absent in run states written by older versions (no fleet-wide guard then).
   */
  fleetMaxCrashes?: number;
}

export interface RuntimeOverride {
  resetCommand?: string;
  command?: string[];
  /** Extra environment for every agent of this runtime. */
  env?: Record<string, string>;
  /** Copied into each agent's private config directory before mosaic writes its hooks. */
  seedDir?: string;
}

export interface AgentSpec {
  name: string;
  /** tmux session name: the agent name with '.' mapped to '_' (tmux rewrites it anyway). */
  session: string;
  runtime: string;
  class?: string;
  workingDirectory: string;
  /** yolo: the runtime runs unattended (its permission gates off); safe: it asks. */
  mode: AgentMode;
  /** Passed verbatim as the runtime's model flag. */
  model?: string;
  /** Upstream's free-text hint ("Claude Opus"); used through an alias table when `model` is absent. */
  modelHint?: string;
  /** Absolute path of a Markdown file appended to the runtime's system prompt. */
  personaFile?: string;
  persistentPersona?: boolean | 'semi';
  resetBetweenTasks?: boolean;
  kickstartTemplate?: string;
  /** Where the agent comes from: the roster file, or `mosaic agent new` (a record under the fleet home). */
  origin?: 'roster' | 'ephemeral';
  /** Run in a git worktree of the repository at `sourceDirectory` (set by the fleet context: `workingDirectory` is then the worktree). */
  worktree?: { branch: string; explicit: boolean };
  /** A worktree agent's repository directory (its roster or `--workdir` working directory). */
  sourceDirectory?: string;
  /** continue: after a usage limit resets, the needs-you process sends "continue" once. */
  onLimit?: OnLimit;
  /** How long a permission request waits for `mosaic agent approve|deny` (default 120 s). */
  approvalTimeoutSeconds?: number;
  args: string[];
  /** Extra environment for this agent (wins over the runtime's). */
  env?: Record<string, string>;
  /** The roster host (a key of `hosts:`) whose mosaic runs this agent; absent for this machine's agents. */
  host?: string;
  /** 1-based line of the agent entry in the roster file, for messages. */
  line: number;
}

export type OnLimit = 'continue' | 'off';
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 120;

/** What a notification is about: an attention state an agent entered, or a supervisor event. */
export type NotifyOn = 'permission' | 'question' | 'done' | 'error' | 'limit' | 'crash' | 'failed';
export const NOTIFY_ON: readonly NotifyOn[] = ['permission', 'question', 'done', 'error', 'limit', 'crash', 'failed'];

/** One roster `notify:` entry: where to tell the operator, about what, how often. */
export type NotifySink = ({ exec: string[] } | { webhook: string } | { desktop: true }) & {
  on?: NotifyOn[];
  dwellSeconds?: number;
  cooldownSeconds?: number;
  name?: string;
};

/** One roster `hosts:` entry: another machine (or user) whose own mosaic runs the agents naming it. */
export interface RemoteHost {
  name: string;
  /** user@address or an ssh config alias (never starts with '-', no whitespace). */
  ssh: string;
  port?: number;
  identityFile?: string;
  /** An ssh_config file (ssh -F). */
  sshConfig?: string;
  /** The remote command that runs mosaic, as argv. */
  mosaic: string[];
  /** How long one command there may take before the host counts as unreachable. */
  timeoutSeconds: number;
}

export const DEFAULT_HOST_TIMEOUT_SECONDS = 10;

export interface Roster {
  file: string;
  version: 1;
  tenantId: string;
  /** The supervisor in effect (resolved when the roster has no `supervisor:`). */
  supervisor: SupervisorKind;
  /** Always set by the loader; absent in rosters built in code (tests, `mosaic yolo`): treat as `roster`. */
  supervisorSource?: SupervisorSource;
  socketName: string;
  holderSession: string;
  heartbeatIntervalSeconds: number;
  restart: RestartPolicy;
  defaultWorkingDirectory: string;
  runtimes: Record<string, RuntimeOverride>;
  /** This machine's agents: the only ones local services (supervisors, send, ps) act on. */
  agents: AgentSpec[];
  /** Other hosts (roster `hosts:`); the loader always sets it (empty when none). */
  hosts?: Record<string, RemoteHost>;
  /** Agents that run on another host (`host:`), each with `host` set; driven through that host's mosaic. */
  remoteAgents?: AgentSpec[];
  /** For each host with agents: the roster its own mosaic runs (YAML), derived from this one. */
  hostRosters?: Record<string, string>;
  /** This machine's name in the roster: agents with no `host:` (or this name) run here. */
  localHost?: string;
  /** Notification sinks (roster `notify:`); the loader always sets it (empty when none). */
  notify?: NotifySink[];
  /** Accepted, but worth changing (e.g. upstream's top-level working_directory); the CLI prints them to stderr. */
  warnings?: string[];
  /** Files the loader required to exist (persona files): a cached roster holds only while they still do. */
  requiredFiles?: string[];
}

export const DEFAULT_SOCKET = 'mosaic-factory';
export const DEFAULT_HOLDER_SESSION = '_holder';
export const DEFAULT_HEARTBEAT_SECONDS = 15;
export const DEFAULT_WORKING_DIRECTORY = '~/src';
export const DEFAULT_RESTART_POLICY = {
  backoffInitialMs: 1000,
  backoffMaxMs: 60_000,
  maxCrashes: 5,
  windowSeconds: 120,
  fleetMaxCrashes: 10,
} satisfies RestartPolicy;

/** The default fleet-wide limit grows with the fleet: a fifth of the agents, at least 10. */
export const defaultFleetMaxCrashes = (agents: number): number => Math.max(DEFAULT_RESTART_POLICY.fleetMaxCrashes, Math.ceil(agents / 5));

/** Names whose per-agent files would collide with the fleet's own (logs/supervisor.log). */
export const RESERVED_AGENT_NAMES: ReadonlySet<string> = new Set(['supervisor']);

/** `.` and `..` match the name pattern but name directories: agents/<name>/, pending/<name>/ would not be the agent's own. */
export const namesADirectory = (name: string): boolean => name === '.' || name === '..';

export const AGENT_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** A branch name mosaic accepts for a worktree (a safe subset of git's rules). */
export const BRANCH_PATTERN = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)(?!.*\.lock$)(?!.*\/$)[A-Za-z0-9._/-]{1,200}$/;

/** The branch of an agent's worktree when the roster says only `worktree: true`. */
export const defaultWorktreeBranch = (agentName: string): string => `mosaic/${agentName}`;

export function sessionNameFor(agentName: string): string {
  return agentName.replace(/\./g, '_');
}
