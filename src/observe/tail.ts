import type { AgentSpec } from '../roster/model.js';
import { exactPane, type TmuxClient } from '../tmux/client.js';
import { assertAgentSession, noSession } from './session.js';

/**
 * The last `lines` lines of what the agent shows. A full-screen TUI (alternate screen)
 * has no scrollback, so its visible screen is what we return. 0 lines: none (the pane is still
 * looked up, so a missing session is an error as for any other count).
 */
export async function tailAgent(tmux: TmuxClient, agent: AgentSpec, lines: number): Promise<string[]> {
  await assertAgentSession(tmux, agent);
  const target = exactPane(agent.session);
  const result = await tmux.run(['capture-pane', '-p', '-J', '-t', target, '-S', `-${lines}`], { allowFailure: true });
  if (result.status !== 0) throw noSession(tmux, agent);
  const out = result.stdout.split('\n');
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop();
  return lines === 0 ? [] : out.slice(-lines); // slice(-0) would be every line
}
