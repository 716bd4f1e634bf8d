import type { AgentSpec } from '../roster/model.js';
import { appendEvents, type NewFleetEvent } from '../events/log.js';
import type { AgentOutcome, Supervisor } from '../supervisor/types.js';

type Verb = 'start' | 'stop' | 'restart';

/** What an outcome of a verb puts in the event log; nothing when nothing was done (already running, not running). */
export function outcomeEvent(verb: Verb, outcome: AgentOutcome, supervisor: Supervisor['kind']): NewFleetEvent | undefined {
  const base = { agent: outcome.agent, supervisor };
  switch (outcome.result) {
    case 'started':
      return { type: 'start', ...base };
    case 'stopped':
      return { type: 'stop', ...base };
    case 'restarted':
      return { type: 'restart', ...base, trigger: 'command' };
    case 'error':
      return { type: verb, ...base, error: outcome.error };
    default:
      return undefined;
  }
}

/**
 * The one place fleet start/stop/restart are logged, whichever supervisor (built-in or systemd)
 * and whichever command (fleet verbs, demo, agent reset --restart, verify --restart-check) acts:
 * each call's outcomes become one append. Crashes and automatic restarts are logged by the
 * pane-died handler (supervisor/pane-died.ts), sends by messaging/send.ts.
 */
export function withEventLog(supervisor: Supervisor, logsDir: string): Supervisor {
  const logged =
    (verb: Verb, act: (agents: readonly AgentSpec[], onProgress?: (done: number, total: number) => void) => Promise<AgentOutcome[]>) =>
    async (agents: readonly AgentSpec[], onProgress?: (done: number, total: number) => void): Promise<AgentOutcome[]> => {
      // A start (or restart) is stamped when it began: an agent that crashed while the others were still
      // starting has its crash logged by then, and `fleet events` sorts by time, so a start stamped at
      // the end would come after the crash it caused. A stop is stamped when its agents are gone.
      const began = new Date().toISOString();
      const outcomes = await act(agents, onProgress);
      const ts = verb === 'stop' ? undefined : began;
      const events = outcomes
        .map((outcome) => outcomeEvent(verb, outcome, supervisor.kind))
        .filter((e) => e !== undefined)
        .map((event) => (ts === undefined ? event : { ...event, ts }));
      await appendEvents(logsDir, events);
      return outcomes;
    };
  return {
    kind: supervisor.kind,
    start: logged('start', (agents, onProgress) => supervisor.start(agents, onProgress)),
    stop: logged('stop', (agents) => supervisor.stop(agents)),
    restart: logged('restart', (agents) => supervisor.restart(agents)),
    observe: (agents) => supervisor.observe(agents),
  };
}
