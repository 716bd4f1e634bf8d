import { UserError } from '../core/errors.js';
import type { FleetContext } from '../context/context.js';
import type { AgentSpec } from '../roster/model.js';
import { exactSession, exactSessionWindow } from '../tmux/client.js';
import { runInteractive } from './interactive.js';
import { assertAgentSession, noSession } from './session.js';
import { notRunningError } from '../supervisor/not-running.js';
import { readRunState, restartPending } from '../supervisor/state.js';

/**
 * `agent attach`: the one interactive takeover, everything typed goes to the agent.
 * Unpins the window size (a viewer pins it) so the window follows this terminal.
 */
export async function attachAgent(view: FleetContext, agent: AgentSpec, io: { stdinIsTTY: boolean }): Promise<number> {
  // The agent first, then the terminal: a script that asks learns that there is no process to take over.
  const { dead } = await assertAgentSession(view.tmux, agent);
  // No agent process to take over: a dead pane (crashed, or given up on), or one whose respawn sleeps out its
  // backoff before the runtime starts. Keys typed into that would reach the runtime when it starts, unseen.
  const now = view.host.now();
  const state = await readRunState(view.paths.runDir, agent.name);
  if (dead || state?.failed || restartPending(state, now)) {
    throw notRunningError(
      agent,
      state,
      {
        nothing: 'there is nothing to take over',
        retry: `see its screen with \`mosaic agent watch ${agent.name}\`, or wait for the restart (\`mosaic agent status ${agent.name}\`)`,
      },
      now,
    );
  }
  if (!io.stdinIsTTY) {
    throw new UserError('agent attach is an interactive takeover and needs a terminal, but stdin is not a terminal', {
      hint: `run it from a terminal; to look without typing use \`mosaic agent watch ${agent.name}\`, to script input use \`mosaic agent send\``,
    });
  }
  const result = await view.tmux.run(['set-option', '-w', '-u', '-t', exactSessionWindow(agent.session), 'window-size'], {
    allowFailure: true,
  });
  if (result.status !== 0) throw noSession(view.tmux, agent);
  return runInteractive(view.tmux.terminalArgv(['attach-session', '-t', exactSession(agent.session)]), view.host.env);
}
