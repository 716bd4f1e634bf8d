import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../system/fs.js';
import {
  AGENT_MODES,
  AGENT_NAME_PATTERN,
  BRANCH_PATTERN,
  namesADirectory,
  RESERVED_AGENT_NAMES,
  defaultWorktreeBranch,
  sessionNameFor,
  type AgentMode,
  type AgentSpec,
  type Roster,
} from './model.js';

/**
 * Ephemeral agents: created by `mosaic agent new`, not written in the roster file. Each is one
 * small JSON file, `<state dir>/ephemeral/<name>.json` (0600, written atomically), read with the
 * roster by every command, so `ps`, `send`, `watch`, `stop`, `restart`, systemd units and reboots
 * treat it exactly like a roster agent until `mosaic agent rm` removes it.
 */
export interface EphemeralRecord {
  version: 1;
  name: string;
  runtime: string;
  working_directory: string;
  mode: AgentMode;
  model?: string;
  class?: string;
  /** The first prompt (`--message`), sent like a kickstart_template at its first start. */
  message?: string;
  /** `--worktree [<branch>]`. */
  worktree?: { branch: string; explicit: boolean };
  created: string;
}

export const ephemeralDir = (stateDir: string): string => path.join(stateDir, 'ephemeral');
const recordFile = (stateDir: string, name: string): string => path.join(ephemeralDir(stateDir), `${name}.json`);

function toAgent(record: EphemeralRecord): AgentSpec {
  const agent: AgentSpec = {
    name: record.name,
    session: sessionNameFor(record.name),
    runtime: record.runtime,
    workingDirectory: record.working_directory,
    mode: record.mode,
    args: [],
    env: {},
    line: 0,
    origin: 'ephemeral',
  };
  if (record.model) agent.model = record.model;
  if (record.class) agent.class = record.class;
  if (record.message) agent.kickstartTemplate = record.message;
  if (record.worktree) agent.worktree = record.worktree;
  return agent;
}

function parseRecord(text: string, file: string): EphemeralRecord {
  const raw = JSON.parse(text) as Partial<EphemeralRecord>;
  const name = path.basename(file, '.json');
  const valid =
    raw.version === 1 &&
    raw.name === name &&
    AGENT_NAME_PATTERN.test(name) &&
    typeof raw.runtime === 'string' &&
    typeof raw.working_directory === 'string' &&
    path.isAbsolute(raw.working_directory) &&
    AGENT_MODES.includes(raw.mode as AgentMode);
  if (!valid) throw new Error('not an ephemeral agent record');
  return raw as EphemeralRecord;
}

/** Every record under the state directory, by name; a torn or foreign file is skipped with a warning. */
export async function readEphemeral(stateDir: string): Promise<{ records: EphemeralRecord[]; warnings: string[] }> {
  let names: string[];
  try {
    names = (await readdir(ephemeralDir(stateDir))).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  } catch {
    return { records: [], warnings: [] };
  }
  const records: EphemeralRecord[] = [];
  const warnings: string[] = [];
  for (const name of names) {
    const file = path.join(ephemeralDir(stateDir), name);
    try {
      records.push(parseRecord(await readFile(file, 'utf8'), file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed while we listed
      warnings.push(`${file}: ignored, not a valid ephemeral agent record (${(error as Error).message}); remove it`);
    }
  }
  return { records, warnings };
}

/** The roster with the ephemeral agents appended (roster agents first, in file order). */
export async function withEphemeralAgents(roster: Roster, stateDir: string): Promise<Roster> {
  const { records, warnings } = await readEphemeral(stateDir);
  if (records.length === 0 && warnings.length === 0) return roster;
  // Agent names are unique across the roster, its other hosts' agents included.
  const taken = new Set([...roster.agents.flatMap((a) => [a.name, a.session]), ...(roster.remoteAgents ?? []).map((a) => a.name)]);
  const agents = [...roster.agents];
  for (const record of records) {
    const agent = toAgent(record);
    if (taken.has(agent.name) || taken.has(agent.session) || agent.session === roster.holderSession) {
      warnings.push(
        `ephemeral agent "${agent.name}" is ignored: the roster now has an agent of that name (remove it: mosaic agent rm ${agent.name})`,
      );
      continue;
    }
    taken.add(agent.name).add(agent.session);
    agents.push(agent);
  }
  return { ...roster, agents, warnings: [...(roster.warnings ?? []), ...warnings] };
}

/** Why `name` can be no agent's name in any fleet (its form, or a reserved name), or undefined. */
export function invalidAgentName(name: string): string | undefined {
  if (!AGENT_NAME_PATTERN.test(name)) return `agent name "${name}" must match ${AGENT_NAME_PATTERN.source}`;
  // Names of directories: <name>.json, pending/<name>/ and the like would point outside the agent's own files.
  if (namesADirectory(name)) return `agent name "${name}" cannot be used: it names a directory`;
  if (RESERVED_AGENT_NAMES.has(name)) return `agent name "${name}" is reserved (logs/${name}.log is the fleet's own log)`;
  return undefined;
}

/** Why `name` cannot be a new agent of this fleet, or undefined when it can. */
export function nameProblem(roster: Roster, name: string): string | undefined {
  const invalid = invalidAgentName(name);
  if (invalid) return invalid;
  const session = sessionNameFor(name);
  if (session === roster.holderSession) return `agent name "${name}" is the holder session's name`;
  const remote = roster.remoteAgents?.find((a) => a.name === name);
  if (remote) return `a roster agent named "${name}" already exists (on host ${remote.host})`;
  const clash = roster.agents.find((a) => a.name === name || a.session === session);
  if (clash) {
    return clash.name === name
      ? `${clash.origin === 'ephemeral' ? 'an ephemeral' : 'a roster'} agent named "${name}" already exists`
      : `agent "${name}" maps to tmux session "${session}", which agent "${clash.name}" already uses`;
  }
  return undefined;
}

export async function writeEphemeral(stateDir: string, record: EphemeralRecord): Promise<void> {
  await ensurePrivateDir(ephemeralDir(stateDir));
  await writeFileAtomic(recordFile(stateDir, record.name), `${JSON.stringify(record, null, 2)}\n`);
}

export async function removeEphemeral(stateDir: string, name: string): Promise<void> {
  await rm(recordFile(stateDir, name), { force: true });
}

export const WORKTREE_BRANCH_HINT = 'letters, digits, ".", "_", "-" and "/" (no "..", no leading "-"), e.g. --worktree feature/login';

/** Why `branch` (`--worktree <branch>`) can be no worktree agent's branch, or undefined when it can. */
export function invalidWorktreeBranch(branch: string): string | undefined {
  return BRANCH_PATTERN.test(branch) ? undefined : `--worktree branch "${branch}" is not a branch name mosaic accepts`;
}

/** A new record from `agent new`'s options (validated by the caller against the roster). */
export function newRecord(options: {
  name: string;
  runtime: string;
  workingDirectory: string;
  mode: AgentMode;
  model?: string;
  class?: string;
  message?: string;
  worktree?: string | true;
  now: Date;
}): EphemeralRecord {
  if (!AGENT_MODES.includes(options.mode)) throw new UserError(`--mode must be yolo or safe, got "${options.mode}"`);
  const record: EphemeralRecord = {
    version: 1,
    name: options.name,
    runtime: options.runtime,
    working_directory: options.workingDirectory,
    mode: options.mode,
    created: options.now.toISOString(),
  };
  if (options.model) record.model = options.model;
  if (options.class) record.class = options.class;
  if (options.message) record.message = options.message;
  const badBranch = typeof options.worktree === 'string' ? invalidWorktreeBranch(options.worktree) : undefined;
  if (badBranch) throw new UserError(badBranch, { hint: WORKTREE_BRANCH_HINT });
  if (options.worktree !== undefined) {
    record.worktree =
      options.worktree === true
        ? { branch: defaultWorktreeBranch(options.name), explicit: false }
        : { branch: options.worktree, explicit: true };
  }
  return record;
}
