import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileExists, writeRunFile } from '../system/fs.js';
import { delivered, type SendResult } from './send.js';

/*
 * For `reset_between_tasks` agents: a marker that the agent has been given a task since its
 * last reset. `agent send` sets it after a delivered message; a reset (and its kickstart, which
 * is not a task) clears it. So each task starts on a fresh conversation, and a kickstart alone
 * never triggers another reset.
 */
export const taskMarkerFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.task`);

export const hasTakenTask = (runDir: string, agent: string): Promise<boolean> => fileExists(taskMarkerFile(runDir, agent));

export const markTaskTaken = (runDir: string, agent: string): Promise<void> =>
  writeRunFile(taskMarkerFile(runDir, agent), `${new Date().toISOString()}\n`);

export const clearTaskMarker = (runDir: string, agent: string): Promise<void> => rm(taskMarkerFile(runDir, agent), { force: true });

/** Mark the agents that took this message as having a task (for reset_between_tasks); `results[i]` is agent i's. */
export async function recordTasksTaken(
  runDir: string,
  agents: readonly { name: string; resetBetweenTasks?: boolean }[],
  results: readonly SendResult[],
): Promise<void> {
  await Promise.all(
    agents.map((agent, index) => {
      const result = results[index];
      return agent.resetBetweenTasks && result && delivered(result) ? markTaskTaken(runDir, agent.name) : undefined;
    }),
  );
}
