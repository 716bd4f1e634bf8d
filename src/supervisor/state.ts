import { rmSync } from 'node:fs';
import path from 'node:path';
import type { RestartPolicy } from '../roster/model.js';
import { readFileIfReadable, readFileOrUndefined, writeFileAtomic, writeRunFile } from '../system/fs.js';

/** What the built-in supervisor remembers about one agent between crashes. */
export interface AgentRunState {
  agent: string;
  session: string;
  policy: RestartPolicy;
  /** Epoch ms of recent crashes (pruned to the policy window). */
  crashes: number[];
  /** Automatic restarts since the last explicit start/restart. */
  restarts: number;
  failed: boolean;
  /** Why the supervisor gave up (crash loop, fleet-wide crash storm); null while not failed. */
  failedReason?: string | null;
  lastExitStatus: number | null;
  /** Epoch ms when a backoff-delayed respawn will exec the runtime. */
  nextStartAt: number | null;
  /** PID of the last exited process we handled (hook or reconciler). */
  handledPid?: number | null;
}

/** A backoff-delayed respawn is still to exec the runtime: the pane runs the launcher's wait, not the agent. */
export const restartPending = (state: AgentRunState | undefined, nowMs: number): boolean =>
  state?.nextStartAt !== null && state?.nextStartAt !== undefined && state.nextStartAt > nowMs;

export const stateFileName = (agent: string): string => `${agent}.state.json`;
export const stateFile = (runDir: string, agent: string): string => path.join(runDir, stateFileName(agent));

export async function readRunState(runDir: string, agent: string): Promise<AgentRunState | undefined> {
  return parseRunState(await readFileOrUndefined(stateFile(runDir, agent)));
}

/**
 * readRunState for loops over many agents (status, observe): no promise per file. With `present`
 * (a listing of the run directory), an agent without a state file costs no failed open.
 */
export function readRunStateSync(runDir: string, agent: string, present?: ReadonlySet<string>): AgentRunState | undefined {
  const name = stateFileName(agent);
  if (present && !present.has(name)) return undefined;
  return parseRunState(readFileIfReadable(`${runDir}/${name}`)); // no path.join: hundreds of agents in a row
}

function parseRunState(text: string | undefined): AgentRunState | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as AgentRunState;
  } catch {
    return undefined; // a torn or foreign file is treated as no state
  }
}

/**
 * A copy of the fresh state that a systemd agent unit puts in place on every start (see
 * framework/bin/mosaic-systemd-agent), so a boot-time start resets crash counters too.
 */
export const freshStateFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.state.fresh.json`);

const renderRunState = (state: AgentRunState): string => `${JSON.stringify(state, null, 2)}\n`;

export async function writeRunState(runDir: string, state: AgentRunState): Promise<void> {
  await writeFileAtomic(stateFile(runDir, state.agent), renderRunState(state));
}

/** The state of an agent about to be started (its pane does not exist yet, so nothing reads it meanwhile). */
export async function writeStartState(runDir: string, state: AgentRunState): Promise<void> {
  await writeRunFile(stateFile(runDir, state.agent), renderRunState(state));
}

export async function writeFreshStateCopy(runDir: string, state: AgentRunState): Promise<void> {
  await writeRunFile(freshStateFile(runDir, state.agent), renderRunState(state));
}

/** Synchronous: a stop of hundreds of agents removes them in one loop, not as hundreds of thread-pool jobs on one directory. */
export function removeRunState(runDir: string, agent: string): void {
  rmSync(stateFile(runDir, agent), { force: true });
}

/** Why the supervisor gave up on the agent, or null while it has not (states from before reasons were kept say "crash loop"). */
export const failureReason = (state: AgentRunState | undefined): string | null =>
  state?.failed ? (state.failedReason ?? 'crash loop') : null;

/** The state of an explicit start: crash counters and a failed mark start over. */
export function freshRunState(agent: string, session: string, policy: RestartPolicy): AgentRunState {
  return { agent, session, policy, crashes: [], restarts: 0, failed: false, lastExitStatus: null, nextStartAt: null };
}
