import type { FleetContext } from '../context/context.js';
import { renderKickstart } from '../launch/kickstart.js';
import { launchProfile } from '../launch/spec.js';
import { DEFAULT_VERIFY_TIMEOUT_MS, sendToAgent, type SendResult } from '../messaging/send.js';
import type { AgentSpec, Roster } from '../roster/model.js';

/** The runtimes with a launch profile take the first prompt on their command line (the stub and custom runtimes do not). */
export function takesKickstartOnCommandLine(roster: Roster, agent: AgentSpec): boolean {
  return launchProfile(roster, agent.runtime) !== undefined;
}

/** Send the agent's kickstart as a verified message (readiness-gated like any send); null when it has none. */
export async function sendKickstart(ctx: FleetContext, agent: AgentSpec, why: 'start' | 'reset'): Promise<SendResult | null> {
  const body = renderKickstart(agent, { tenantId: ctx.roster.tenantId, host: ctx.host.identity.host });
  if (!body) return null;
  return sendToAgent(ctx, agent, {
    body,
    source: `${ctx.host.identity.host}:${why}`,
    preamble: false,
    verify: true,
    timeoutMs: DEFAULT_VERIFY_TIMEOUT_MS,
  });
}

/**
 * After `fleet start` / `fleet restart`: runtimes that cannot take the first prompt on their
 * command line (the stub, custom commands) get their kickstart sent once they are up. Their
 * restarts never resume a conversation, so every (re)start is a new one.
 */
export async function kickstartStarted(
  ctx: FleetContext,
  agents: readonly AgentSpec[],
  outcomes: readonly { agent: string; result: string }[],
): Promise<{ agent: string; result: SendResult }[]> {
  const started = new Set(outcomes.filter((o) => o.result === 'started' || o.result === 'restarted').map((o) => o.agent));
  const due = agents.filter(
    (agent) => started.has(agent.name) && agent.kickstartTemplate && !takesKickstartOnCommandLine(ctx.roster, agent),
  );
  const sent = await Promise.all(due.map(async (agent) => ({ agent: agent.name, result: await sendKickstart(ctx, agent, 'start') })));
  return sent.filter((entry): entry is { agent: string; result: SendResult } => entry.result !== null);
}
