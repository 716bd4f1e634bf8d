import { UserError } from '../core/errors.js';
import type { FleetContext } from '../context/context.js';
import type { AgentSpec } from '../roster/model.js';
import { exactSession, exactSessionWindow } from '../tmux/client.js';
import { runInteractive } from './interactive.js';
import { assertAgentSession, noSession } from './session.js';

/**
 * The tmux argv of a viewer: a read-only client (its keys are dropped by the server,
 * only detach and session switching work) that also does not count for sizing.
 */
export const viewerArgs = (agent: AgentSpec): string[] => [
  'attach-session',
  '-r',
  '-f',
  'read-only,ignore-size',
  '-t',
  exactSession(agent.session),
];

/**
 * Pin the agent's window to its current size. With `window-size manual` no client, of
 * any size, resizes it (a lone ignore-size client still would: tmux only ignores such a
 * client when another one is attached). Also proves the session exists.
 */
export async function pinWindowSize(view: FleetContext, agent: AgentSpec): Promise<void> {
  await assertAgentSession(view.tmux, agent);
  const result = await view.tmux.run(['set-option', '-w', '-t', exactSessionWindow(agent.session), 'window-size', 'manual'], {
    allowFailure: true,
  });
  if (result.status !== 0) throw noSession(view.tmux, agent);
}

/**
 * `agent watch`: a live, read-only view. Nothing is created on the server, so there is
 * nothing to clean up: when the viewer detaches or its terminal dies, its client is gone.
 */
export async function watchAgent(view: FleetContext, agent: AgentSpec, io: { stdinIsTTY: boolean }): Promise<number> {
  if (!io.stdinIsTTY) {
    throw new UserError('agent watch shows the agent live in this terminal, but stdin is not a terminal', {
      hint: `run it from a terminal; in scripts use \`mosaic agent tail ${agent.name}\` or \`mosaic agent logs ${agent.name}\``,
    });
  }
  await pinWindowSize(view, agent);
  return runInteractive(view.tmux.terminalArgv(viewerArgs(agent)), view.host.env);
}
