import { withSpan, type TraceSpan } from '../core/trace.js';
import type { AgentSpec } from '../roster/model.js';
import type { AgentOutcome, Supervisor, SupervisorDeps } from './types.js';

/**
 * A supervisor whose start, stop and restart run in spans `fleet.start`, `fleet.stop` and
 * `fleet.restart` (built-in and systemd alike). Without a tracer installed it only forwards.
 */
export function tracedSupervisor(inner: Supervisor, deps: SupervisorDeps): Supervisor {
  const traced = (verb: 'start' | 'stop' | 'restart', agents: readonly AgentSpec[], run: () => Promise<AgentOutcome[]>) =>
    withSpan(
      `fleet.${verb}`,
      {
        'mosaic.fleet': deps.roster.tenantId,
        'mosaic.socket': deps.tmux.socket,
        'mosaic.supervisor': inner.kind,
        'mosaic.agent': agents.length === 1 ? agents[0]!.name : undefined,
        'mosaic.agents': agents.map((agent) => agent.name),
      },
      async (span) => {
        const outcomes = await run();
        recordOutcomes(span, outcomes);
        return outcomes;
      },
    );
  return {
    kind: inner.kind,
    start: (agents, onProgress) => traced('start', agents, () => inner.start(agents, onProgress)),
    stop: (agents) => traced('stop', agents, () => inner.stop(agents)),
    restart: (agents) => traced('restart', agents, () => inner.restart(agents)),
    observe: (agents) => inner.observe(agents),
  };
}

/** Each agent's result (`beta=restarted`); the span fails when an agent's did. */
function recordOutcomes(span: TraceSpan, outcomes: readonly AgentOutcome[]): void {
  span.setAttributes({ 'mosaic.results': outcomes.map((o) => `${o.agent}=${o.result}`) });
  const failed = outcomes.filter((o) => o.result === 'error');
  if (failed.length > 0) span.fail(failed.map((o) => `${o.agent}: ${o.result === 'error' ? o.error : o.result}`).join('; '));
}
