import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { RestartPolicy } from '../roster/model.js';
import { readFileOrUndefined, writeFileAtomic } from '../system/fs.js';

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
  lastExitStatus: number | null;
  /** Epoch ms when a backoff-delayed respawn will exec the runtime. */
  nextStartAt: number | null;
  startedAt: number;
  /** PID of the last exited process we handled (hook or reconciler). */
  handledPid?: number | null;
}

export const stateFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.state.json`);
export const launchSpecFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.launch`);

export async function readRunState(runDir: string, agent: string): Promise<AgentRunState | undefined> {
  const text = await readFileOrUndefined(stateFile(runDir, agent));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as AgentRunState;
  } catch {
    return undefined; // a torn or foreign file is treated as no state
  }
}

export async function writeRunState(runDir: string, state: AgentRunState): Promise<void> {
  await writeFileAtomic(stateFile(runDir, state.agent), `${JSON.stringify(state, null, 2)}\n`);
}

export async function removeRunState(runDir: string, agent: string): Promise<void> {
  await rm(stateFile(runDir, agent), { force: true });
}

export function freshRunState(agent: string, session: string, policy: RestartPolicy, nowMs: number): AgentRunState {
  return { agent, session, policy, crashes: [], restarts: 0, failed: false, lastExitStatus: null, nextStartAt: null, startedAt: nowMs };
}
