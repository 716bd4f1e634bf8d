import type { Attention } from '../attention/state.js';
import { loadFleetContext, type FleetContext, type GlobalOptions } from '../context/context.js';
import { appendEvents, type NewFleetEvent } from '../events/log.js';
import type { Host } from '../host/host.js';
import { captureByAgent } from '../messaging/screen.js';
import { DEFAULT_VERIFY_TIMEOUT_MS, sendToAgent } from '../messaging/send.js';
import { limitDialogKey } from '../runtimes/detectors/limit.js';
import type { Screen } from '../runtimes/detectors/types.js';
import { sleepUnlessAborted, waitFor } from '../system/wait.js';
import { exactPane } from '../tmux/client.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import { notificationEvent } from '../notify/event.js';
import { NotificationGate, type GateFire } from '../notify/gate.js';
import { deliver } from '../notify/sinks.js';
import { fleetPs, type PsRecord } from './ps.js';

/**
 * The fleet's needs-you process: one per fleet, kept running by the watchdog in the holder
 * session (framework/bin/mosaic-watchdog), never one per agent. Every tick it reads the fleet
 * (`fleet ps`'s join: hooks, bell, screen, pending requests, limits), logs attention changes,
 * hands edges to the notification gate and delivers what passes to the roster's sinks, and sends
 * "continue" to an agent whose usage limit has reset when its roster entry says `on_limit: continue`.
 * Sinks run here, with mosaic's environment: nothing is typed into a pane, and no sink setting
 * enters an agent's environment.
 */
export type NeedsYouEnd = 'unconfigured' | 'stopped' | 'fleet-gone';

export interface NeedsYouOptions {
  signal: AbortSignal;
  /** Lines for the supervisor log. */
  log: (line: string) => void;
  /** Milliseconds between ticks (default: 1 s, plus 4 ms per agent so a big fleet is read less often). */
  tickMs?: number;
}

/** A limit resets at `resets_at`; "continue" goes this much later, so the provider has really reset. */
const CONTINUE_GRACE_MS = 3000;
/** "continue"s sent while an agent stays limited (each after a new reset) before mosaic leaves it to the operator. */
const MAX_CONTINUES_PER_STAY = 3;

export const needsYouConfigured = (roster: Roster): boolean =>
  (roster.notify?.length ?? 0) > 0 || roster.agents.some((agent) => agent.onLimit === 'continue');

/** What makes two observations of the same state different edges (see NotificationGate). */
function edgeKey(a: Attention): string {
  switch (a.state) {
    case 'permission':
      return a.request_id ? `${a.request_id}|${a.tool ?? ''}|${a.summary ?? ''}` : a.detail;
    case 'limit':
      return ''; // one notification per stay: a screen's "retrying in 4m 49s" moves resets_at every tick
    case 'done':
      return a.since ?? ''; // every finished turn is its own edge
    default:
      return '';
  }
}

export async function runNeedsYou(host: Host, globals: GlobalOptions, options: NeedsYouOptions): Promise<NeedsYouEnd> {
  const { signal, log } = options;
  let view: FleetContext = await loadFleetContext(host, { roster: globals.roster });
  if (!needsYouConfigured(view.roster)) return 'unconfigured';
  let gate = newGate(view.roster, log);
  let rosterError = '';
  const seen = new Map<string, { state: string; restarts: number | null }>();
  const continued = new Set<string>();
  const continuesInStay = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>): void => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  log(`needs-you: watching ${view.roster.agents.length} agents, ${view.roster.notify?.length ?? 0} sinks`);

  try {
    while (!signal.aborted) {
      // The roster may change under us (a sink added, on_limit turned off): re-read it, cheaply.
      try {
        const next = await loadFleetContext(host, { roster: globals.roster });
        rosterError = '';
        if (next.roster !== view.roster && JSON.stringify(next.roster) !== JSON.stringify(view.roster)) {
          if (!needsYouConfigured(next.roster)) return 'unconfigured';
          if (JSON.stringify(next.roster.notify) !== JSON.stringify(view.roster.notify)) gate = newGate(next.roster, log);
          log('needs-you: roster changed, reloaded');
        }
        view = next;
      } catch (error) {
        const text = (error as Error).message.split('\n')[0]!;
        if (text !== rosterError) log(`needs-you: keeping the last good roster: ${text}`);
        rosterError = text;
      }
      const report = await fleetPs(view);
      if (report.holder !== 'alive') return 'fleet-gone'; // the fleet was stopped: nothing to watch
      const now = new Date(view.host.now());
      const events: NewFleetEvent[] = [];
      for (const record of report.records) {
        const agent = view.roster.agents.find((a) => a.name === record.agent);
        if (!agent) continue; // an orphan session: not ours to report on
        const fires = observe(record, now);
        for (const fire of fires) track(notify(fire, record, now));
        if (record.attention.state !== 'limit') continuesInStay.delete(agent.name);
        const resumed = continueAfterLimit(agent, record.attention, now);
        if (resumed) track(resumed);
      }
      if (events.length > 0) await appendEvents(view.paths.logsDir, events);
      await sleepUnlessAborted(options.tickMs ?? 1000 + 4 * view.roster.agents.length, signal);

      function observe(record: PsRecord, at: Date): GateFire[] {
        const a = record.attention;
        const before = seen.get(record.agent);
        if (before ? before.state !== a.state : a.state !== 'none') {
          events.push({
            type: 'attention',
            agent: record.agent,
            from: before?.state ?? null,
            to: a.state,
            detail: a.detail,
            ...(a.tool ? { tool: a.tool } : {}),
            ...(a.resets_at !== undefined ? { resets_at: a.resets_at } : {}),
          });
        }
        const fires = gate.observe(record.agent, a.state, edgeKey(a), at);
        if (before && record.restarts !== null && before.restarts !== null && record.restarts > before.restarts) {
          fires.push(...gate.event(record.agent, 'crash', String(record.restarts), at));
        }
        if (record.state === 'failed') fires.push(...gate.event(record.agent, 'failed', record.failed_reason ?? '', at));
        seen.set(record.agent, { state: a.state, restarts: record.restarts });
        return fires;
      }
    }
    return 'stopped';
  } finally {
    await Promise.allSettled([...inFlight]);
  }

  async function notify(fire: GateFire, record: PsRecord, now: Date): Promise<void> {
    const sink = view.roster.notify?.[fire.sinkIndex];
    if (!sink) return;
    const a = record.attention;
    const detail =
      fire.state === 'crash'
        ? `the agent's process exited${record.exit_status === null ? '' : ` (status ${record.exit_status})`}; the supervisor restarts it`
        : fire.state === 'failed'
          ? `the supervisor gave up: ${record.failed_reason ?? 'crash loop'}`
          : a.detail;
    const event = notificationEvent(
      fire,
      {
        fleet: view.tmux.socket,
        host: view.host.identity.host,
        runtime: record.runtime ?? 'unknown',
        detail,
        ...(fire.state === 'limit' ? { resets_at: a.resets_at ?? null } : {}),
        ...(fire.state === 'permission' && a.tool ? { tool: a.tool } : {}),
        ...(fire.state === 'permission' && a.summary ? { summary: a.summary } : {}),
      },
      now,
    );
    const result = await deliver(sink, event, { runner: view.host.runner, env: view.host.env });
    if (!result.ok) log(`needs-you: ${fire.sinkName} failed for ${fire.agent} (${fire.state}): ${result.detail}`);
    await appendEvents(view.paths.logsDir, [
      {
        type: 'notification',
        agent: fire.agent,
        state: fire.state,
        sink: fire.sinkName,
        ok: result.ok,
        detail: result.detail,
        ms: Math.round(result.ms),
        id: event.id,
      },
    ]);
  }

  /** claude and codex open a dialog after a limit that holds the input: close it (its harmless choice) first. */
  async function closeLimitDialog(agent: AgentSpec): Promise<void> {
    const key = limitDialogKey(agent.runtime, (await screenOf(view, agent))?.lines ?? []);
    if (!key) return;
    await view.tmux.run(['send-keys', '-t', exactPane(agent.session), key]);
    const closed = await waitFor(
      async () => (limitDialogKey(agent.runtime, (await screenOf(view, agent))?.lines ?? []) ? undefined : true),
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );
    log(`needs-you: ${agent.name}: ${closed ? 'closed' : 'could not close'} the limit dialog (${key})`);
  }

  /** `on_limit: continue`: one verified "continue" per reset, after the reset time. */
  function continueAfterLimit(agent: AgentSpec, a: Attention, now: Date): Promise<void> | undefined {
    if (agent.onLimit !== 'continue' || a.state !== 'limit' || !a.resets_at) return undefined;
    const key = `${agent.name}|${a.resets_at}`;
    if (continued.has(key) || now.getTime() < Date.parse(a.resets_at) + CONTINUE_GRACE_MS) return undefined;
    continued.add(key);
    // A provider that limits again at once gets a new reset each time: stop after a few tries in one stay.
    const tries = (continuesInStay.get(agent.name) ?? 0) + 1;
    continuesInStay.set(agent.name, tries);
    if (tries > MAX_CONTINUES_PER_STAY) {
      if (tries === MAX_CONTINUES_PER_STAY + 1) {
        log(`needs-you: ${agent.name} hit its limit again after ${MAX_CONTINUES_PER_STAY} "continue"s; leaving it to you`);
      }
      return undefined;
    }
    return (async () => {
      try {
        await closeLimitDialog(agent);
        const result = await sendToAgent(view, agent, {
          body: 'continue',
          source: 'mosaic on_limit',
          preamble: false,
          verify: true,
          timeoutMs: DEFAULT_VERIFY_TIMEOUT_MS,
        });
        log(`needs-you: sent "continue" to ${agent.name} after its limit reset (${a.resets_at}): ${result.status}`);
        // The send itself is in the event log (source "mosaic on_limit"), like every send.
      } catch (error) {
        log(`needs-you: could not send "continue" to ${agent.name}: ${(error as Error).message}`);
      }
    })();
  }
}

/** The screen of one agent, or undefined when it cannot be read. */
async function screenOf(view: FleetContext, agent: AgentSpec): Promise<Screen | undefined> {
  return (await captureByAgent(view.tmux, [agent]).catch(() => new Map<string, Screen>())).get(agent.name);
}

function newGate(roster: Roster, log: (line: string) => void): NotificationGate {
  return new NotificationGate(roster.notify ?? [], {
    onDrop: (drop) => log(`needs-you: ${drop.sinkName}: not telling ${drop.agent} ${drop.state} (${drop.reason})`),
  });
}
