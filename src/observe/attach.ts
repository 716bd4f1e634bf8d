import { UserError } from '../core/errors.js';
import type { FleetContext } from '../context/context.js';
import type { AgentSpec } from '../roster/model.js';
import { exactSession, exactSessionWindow } from '../tmux/client.js';
import { runInteractive } from './interactive.js';
import { assertAgentSession, noSession } from './session.js';

/**
 * `agent attach`: the one interactive takeover, everything typed goes to the agent.
 * Unpins the window size (a viewer pins it) so the window follows this terminal.
 */
export async function attachAgent(view: FleetContext, agent: AgentSpec, io: { stdinIsTTY: boolean }): Promise<number> {
  if (!io.stdinIsTTY) {
    throw new UserError('agent attach is an interactive takeover and needs a terminal, but stdin is not a terminal', {
      hint: `run it from a terminal; to look without typing use \`mosaic agent watch ${agent.name}\`, to script input use \`mosaic agent send\``,
    });
  }
  await assertAgentSession(view.tmux, agent);
  const result = await view.tmux.run(['set-option', '-w', '-u', '-t', exactSessionWindow(agent.session), 'window-size'], {
    allowFailure: true,
  });
  if (result.status !== 0) throw noSession(view.tmux, agent);
  return runInteractive(view.tmux.terminalArgv(['attach-session', '-t', exactSession(agent.session)]), view.host.env);
}
