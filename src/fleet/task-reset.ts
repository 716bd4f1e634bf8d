import type { FleetContext, GlobalOptions } from '../context/context.js';
import { UserError } from '../core/errors.js';
import { hasTakenTask } from '../messaging/tasks.js';
import type { AgentSpec } from '../roster/model.js';
import { openFleet } from './open.js';
import { resetAgent } from './reset.js';

/**
 * reset_between_tasks: each agent that took a task since its last reset gets a new conversation
 * (and its kickstart) before the next message. A reset that fails stops the send: delivering the
 * next task into the previous one's conversation is what the roster asked never to happen.
 * Returns the agents reset, with the evidence.
 */
export async function resetBeforeTasks(
  ctx: FleetContext,
  agents: readonly AgentSpec[],
  globals: GlobalOptions,
): Promise<{ agent: string; evidence: string }[]> {
  const due: AgentSpec[] = [];
  for (const agent of agents) if (agent.resetBetweenTasks && (await hasTakenTask(ctx.paths.runDir, agent.name))) due.push(agent);
  if (due.length === 0) return [];
  const fleet = await openFleet(ctx.host, globals);
  return Promise.all(
    due.map(async (agent) => {
      const result = await resetAgent(fleet, agent, 'clear');
      if (!result.verified) {
        throw new UserError(`agent "${agent.name}" (reset_between_tasks) could not be reset before this task: ${result.evidence}`, {
          hint: `nothing was sent; look with \`mosaic agent tail ${agent.name}\`, or send with --no-reset`,
        });
      }
      return { agent: agent.name, evidence: result.evidence };
    }),
  );
}
