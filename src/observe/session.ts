import { UserError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { exactPane, type TmuxClient } from '../tmux/client.js';

export function noSession(tmux: Pick<TmuxClient, 'socket'>, agent: AgentSpec): UserError {
  return new UserError(`agent "${agent.name}" has no session on socket "${tmux.socket}"`, {
    hint: `start it with \`mosaic fleet start ${agent.name}\``,
  });
}

/**
 * The agent's session exists and is the one mosaic made for it (its `@mosaic_agent` mark names the agent),
 * else a clear error: a session that merely has the agent's name is someone else's, and is neither shown as
 * the agent's screen nor watched, attached to or changed.
 */
export async function assertAgentSession(tmux: TmuxClient, agent: AgentSpec): Promise<{ dead: boolean }> {
  const result = await tmux.run(['display-message', '-p', '-t', exactPane(agent.session), '#{pane_dead} #{@mosaic_agent}'], {
    allowFailure: true,
  });
  if (result.status !== 0) throw noSession(tmux, agent);
  const [dead, ...rest] = result.stdout.replace(/\n$/, '').split(' ');
  const mark = rest.join(' ').trim();
  if (mark !== agent.name) {
    throw new UserError(
      `session "${agent.session}" on socket "${tmux.socket}" was not made by mosaic for agent "${agent.name}" (${mark ? `it is marked "${mark}"` : 'it carries no mosaic mark'}); left alone`,
      {
        hint: `remove or rename it yourself (tmux -L ${tmux.socket} kill-session -t =${agent.session}), then \`mosaic fleet start ${agent.name}\``,
      },
    );
  }
  return { dead: dead === '1' };
}
