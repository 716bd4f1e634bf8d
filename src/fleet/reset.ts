import { UserError } from '../core/errors.js';
import { pasteIntoPane, pressEnter, typeIntoPane } from '../messaging/paste.js';
import type { AgentSpec } from '../roster/model.js';
import { resolveRuntime } from '../runtimes/registry.js';
import { listPanes } from '../supervisor/direct.js';
import type { FleetContext } from './context.js';

export interface ResetResult {
  tenant_id: string;
  host: string;
  agent: string;
  mode: 'clear' | 'new';
  command: string;
  kickstart: boolean;
}

/** Type the runtime's reset command, submit it, then paste the kickstart template if the agent has one. */
export async function resetAgent(ctx: FleetContext, agent: AgentSpec, mode: 'clear' | 'new'): Promise<ResetResult> {
  const pane = (await listPanes(ctx)).find((p) => p.session === agent.session);
  if (!pane || pane.dead) {
    throw new UserError(`agent "${agent.name}" is not running`, { hint: `start it with \`mosaic fleet start ${agent.name}\`` });
  }
  const command = resolveRuntime(ctx.roster, agent.runtime).reset[mode];
  await typeIntoPane(ctx.tmux, agent.session, command);
  await pressEnter(ctx.tmux, agent.session);
  const kickstart = agent.kickstartTemplate?.replace(/\{\{\s*agent\s*\}\}/g, agent.name);
  if (kickstart) {
    await pasteIntoPane(ctx.tmux, agent.session, kickstart);
    await pressEnter(ctx.tmux, agent.session);
  }
  return { tenant_id: ctx.roster.tenantId, host: ctx.host, agent: agent.name, mode, command, kickstart: Boolean(kickstart) };
}
