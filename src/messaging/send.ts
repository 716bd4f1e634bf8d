import { rm } from 'node:fs/promises';
import { reportedActivity } from '../attention/activity.js';
import { heartbeatFile, readHeartbeatSync } from '../heartbeat/heartbeat.js';
import type { FleetContext } from '../context/context.js';
import { UserError } from '../core/errors.js';
import { withSpan } from '../core/trace.js';
import { appendEvent } from '../events/log.js';
import type { AgentSpec } from '../roster/model.js';
import { detectorFor } from '../runtimes/detectors/index.js';
import type { AcceptanceDetector, AckSource, Screen } from '../runtimes/detectors/types.js';
import { exactPane, type TmuxClient } from '../tmux/client.js';
import { composeMessage } from './body.js';
import { Coalescer } from './coalescer.js';
import { deliver, realClock, type Clock, type DeliveryOutcome, type DeliveryStep, type PaneIo, type SendStatus } from './deliver.js';
import { hookAck } from './hook-ack.js';
import { acquireAgentLock } from '../system/lock.js';
import { randomHex } from '../system/random.js';
import { pressEnterMany, snapshotAndPaste } from './paste.js';
import { captureMany, paneGone } from './screen.js';

/** A send needs the fleet's roster, run directory, tmux server and host identity; no supervisor. */
export type SendContext = Pick<FleetContext, 'roster' | 'paths' | 'tmux' | 'host'>;

export interface SendOptions {
  /** Already validated (validateBody). */
  body: string;
  source: string;
  preamble: boolean;
  verify: boolean;
  timeoutMs: number;
  /** How long to wait for another send to the same agent to finish. */
  lockTimeoutMs?: number;
  ackSources?: readonly AckSource[];
  clock?: Clock;
  /** Sees each step of each delivery, with the agent's name. */
  trace?: (agent: string, step: DeliveryStep) => void;
}

export interface SendResult {
  tenant_id: string;
  host: string;
  agent: string;
  status: SendStatus | 'error';
  detail: string;
  bytes: number;
  duration_ms: number;
  /** Matches a runtime-reported acknowledgement to this send (see AckSource). */
  send_id: string;
  hint?: string;
}

export const DEFAULT_VERIFY_TIMEOUT_MS = 6000;
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
/** Deliveries in flight at once in a broadcast; screens and Enters are batched across them anyway. */
const BROADCAST_CONCURRENCY = 64;

/** Shared tmux plumbing for the sends of one command: batched captures and Enters. */
class Panes {
  readonly screens: Coalescer<Screen>;
  readonly enters: Coalescer<true>;
  constructor(readonly tmux: TmuxClient) {
    this.screens = new Coalescer((sessions) => captureMany(tmux, sessions));
    this.enters = new Coalescer((sessions) => pressEnterMany(tmux, sessions));
  }

  io(agent: AgentSpec, runDir: string, detector: AcceptanceDetector): PaneIo {
    const { tmux } = this;
    let first = true;
    return {
      snapshotAndPaste: async (text) => {
        const result = await snapshotAndPaste(tmux, agent.session, text);
        if ('error' in result) throw paneGone(agent.name, tmux.socket, new Error(result.error));
        if (result.dead) {
          throw new UserError(`agent "${agent.name}" is not running (its process has exited); nothing was delivered`, {
            hint: `see \`mosaic agent status ${agent.name}\`; the supervisor restarts it, or run \`mosaic fleet restart ${agent.name}\``,
          });
        }
        return result;
      },
      capture: async () => {
        const screen = await this.screens
          .request(agent.session)
          .catch((error: unknown) => Promise.reject(paneGone(agent.name, tmux.socket, error)));
        // A dead pane (crashed, failed, waiting for its restart) is refused at once, before anything is typed;
        // so is a session of that name that mosaic did not make for this agent: its keyboard is someone else's.
        if (first && screen.dead) await refuseIfNotRunning(runDir, agent, true);
        if (first && screen.mark !== undefined && screen.mark !== agent.name) throw foreignSession(agent, tmux.socket, screen.mark);
        // Not ready at once: the pane may run the respawn that sleeps out its backoff (no runtime yet). Refused
        // now rather than after waiting for a prompt that cannot come before the restart.
        if (first && !detector.ready(screen).ready) await refuseIfNotRunning(runDir, agent, false);
        first = false;
        return screen;
      },
      pressEnter: async () => {
        await this.enters.request(agent.session).catch((error: unknown) => Promise.reject(paneGone(agent.name, tmux.socket, error)));
      },
    };
  }
}

const newSendId = (): string => randomHex(4);

const foreignSession = (agent: AgentSpec, socket: string, mark: string): UserError =>
  new UserError(
    `session "${agent.session}" on socket "${socket}" was not made by mosaic for agent "${agent.name}" (${mark ? `it is marked "${mark}"` : 'it carries no mosaic mark'}); nothing was sent`,
    {
      hint: `mosaic leaves it alone: remove or rename it yourself (tmux -L ${socket} kill-session -t =${agent.session}), then \`mosaic fleet start ${agent.name}\``,
    },
  );

/**
 * Throws the not-running refusal when the agent has no runtime now: its pane is dead (`dead`: always), or its
 * run state has a restart still to come (the pane runs the respawn that sleeps out its backoff). Only these
 * rare paths read the run state.
 */
async function refuseIfNotRunning(runDir: string, agent: AgentSpec, dead: boolean): Promise<void> {
  const [{ readRunState, restartPending }, { notRunningError }] = await Promise.all([
    import('../supervisor/state.js'),
    import('../supervisor/not-running.js'),
  ]);
  const state = await readRunState(runDir, agent.name);
  const now = Date.now();
  if (!dead && !restartPending(state, now)) return;
  throw notRunningError(
    agent,
    state,
    { nothing: 'nothing was sent', retry: `wait for the restart (\`mosaic agent status ${agent.name}\`) and send again` },
    now,
  );
}

/** A busy report this old still makes the send look for the runtime's queue (a stale one costs a short wait). */
const BUSY_REPORT_FOR_SEND_SECONDS = 30;

/** The runtime's own recent report says busy: a TUI under load may not have drawn its turn yet. */
function reportsBusy(runDir: string, agent: AgentSpec): boolean {
  const reported = reportedActivity(readHeartbeatSync(runDir, agent.name), agent.runtime);
  return reported?.activity === 'busy' && Date.now() - reported.at.getTime() <= BUSY_REPORT_FOR_SEND_SECONDS * 1000;
}

/** "stopped" or "frozen" when the pane's process is in state T/t or D, else undefined. */
async function frozenPane(tmux: TmuxClient, agent: AgentSpec): Promise<string | undefined> {
  const result = await tmux.run(['display-message', '-p', '-t', exactPane(agent.session), '#{pane_pid}'], { allowFailure: true });
  const pid = Number(result.stdout.trim());
  if (result.status !== 0 || !Number.isInteger(pid) || pid <= 0) return undefined;
  const { ProcessTable } = await import('../system/proc.js'); // only on this rare path: the send path stays lean
  const state = new ProcessTable().stat(pid)?.state;
  if (state === 'T' || state === 't') return `stopped (state ${state})`;
  if (state === 'D') return 'frozen or blocked (state D)';
  return undefined;
}

/**
 * Deliver one message to one agent; throws a UserError when it cannot even be pasted. Every
 * send, delivered or not, is one `send` event in the fleet event log: agent, send id, verdict,
 * bytes; never the message itself.
 */
export async function sendToAgent(
  ctx: SendContext,
  agent: AgentSpec,
  options: SendOptions,
  panes = new Panes(ctx.tmux),
): Promise<SendResult> {
  const sendId = newSendId();
  const event = { type: 'send' as const, agent: agent.name, send_id: sendId };
  const how = { verify: options.verify, source: options.source };
  try {
    const result = await sendSpan(ctx, agent, options, () => deliverOne(ctx, agent, options, panes, sendId));
    await appendEvent(ctx.paths.logsDir, {
      ...event,
      verdict: result.status,
      bytes: result.bytes,
      ...how,
      duration_ms: result.duration_ms,
      detail: result.detail,
    });
    return result;
  } catch (error) {
    await appendEvent(ctx.paths.logsDir, { ...event, verdict: 'error', ...how, detail: (error as Error).message });
    throw error;
  }
}

async function deliverOne(ctx: SendContext, agent: AgentSpec, options: SendOptions, panes: Panes, sendId: string): Promise<SendResult> {
  const clock = options.clock ?? realClock;
  const started = clock.now();
  const text = composeMessage(options.body, { source: options.source, agent: agent.name, preamble: options.preamble, sendId });
  const lock = await acquireAgentLock(ctx.paths.runDir, agent.name, { timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS });
  try {
    // The operator speaks to the agent: a bell it rang before no longer asks for attention (removed
    // before delivery, so a bell the agent rings in answer is kept).
    await rm(`${heartbeatFile(ctx.paths.runDir, agent.name)}.bell`, { force: true }).catch(() => undefined);
    const detector = detectorFor(agent.runtime);
    const outcome = await verifySpan(ctx, agent, options, () =>
      deliver(
        panes.io(agent, ctx.paths.runDir, detector),
        {
          sendId,
          agent: agent.name,
          text,
          detector,
          timeoutMs: options.timeoutMs,
          verify: options.verify,
          ackSources: [hookAck(ctx.paths.runDir, agent.name), ...(options.ackSources ?? [])],
          reportsBusy: () => reportsBusy(ctx.paths.runDir, agent),
          trace: options.trace && ((step) => options.trace!(agent.name, step)),
        },
        clock,
      ),
    );
    // Never ready: the agent may have crashed while the send waited, and its respawn sleeps out its backoff.
    if (outcome.status === 'unverifiable' && !outcome.pasted) await refuseIfNotRunning(ctx.paths.runDir, agent, false);
    if (outcome.status === 'draft') {
      // A stopped or frozen agent cannot take what sits in its terminal: that is not a draft to
      // send again (it would be read twice once the agent runs), it is unverifiable.
      const frozen = await frozenPane(ctx.tmux, agent);
      if (frozen) {
        outcome.status = 'unverifiable';
        outcome.detail = `the agent's process is ${frozen}; the text waits in its terminal and is read when it runs again`;
      }
    }
    return {
      tenant_id: ctx.roster.tenantId,
      host: ctx.host.identity.host,
      agent: agent.name,
      status: outcome.status,
      detail: outcome.detail,
      // What reached the pane: nothing when the agent never became ready for it.
      bytes: outcome.pasted ? Buffer.byteLength(text) : 0,
      duration_ms: Math.round(clock.now() - started),
      send_id: sendId,
    };
  } finally {
    await lock.release();
  }
}

/** The same message to many agents in parallel; a failure is that agent's result, not the whole command's. */
export async function broadcast(ctx: SendContext, agents: readonly AgentSpec[], options: SendOptions): Promise<SendResult[]> {
  const panes = new Panes(ctx.tmux);
  const results: SendResult[] = new Array(agents.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < agents.length) {
      const index = next++;
      results[index] = await sendOrRecord(ctx, agents[index]!, options, panes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BROADCAST_CONCURRENCY, agents.length) }, worker));
  return results;
}

/** sendToAgent, with a send that could not even be pasted (a UserError) as that agent's `error` result. */
export async function sendOrRecord(
  ctx: SendContext,
  agent: AgentSpec,
  options: SendOptions,
  panes = new Panes(ctx.tmux),
): Promise<SendResult> {
  const clock = options.clock ?? realClock;
  const started = clock.now();
  try {
    return await sendToAgent(ctx, agent, options, panes);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return {
      tenant_id: ctx.roster.tenantId,
      host: ctx.host.identity.host,
      agent: agent.name,
      status: 'error',
      detail: error.message,
      bytes: 0,
      duration_ms: Math.round(clock.now() - started),
      send_id: '',
      hint: error.hint,
    };
  }
}

/** Whether a result counts as delivered for the exit code. */
export const delivered = (result: SendResult): boolean => ['accepted', 'queued', 'sent'].includes(result.status);

const spanAttributes = (ctx: SendContext, agent: AgentSpec) => ({
  'mosaic.agent': agent.name,
  'mosaic.fleet': ctx.roster.tenantId,
  'mosaic.socket': ctx.tmux.socket,
});

/** Span `agent.send` around one delivery, with its verdict; a verdict that is not delivered fails it. */
function sendSpan(ctx: SendContext, agent: AgentSpec, options: SendOptions, run: () => Promise<SendResult>): Promise<SendResult> {
  const attributes = { ...spanAttributes(ctx, agent), 'mosaic.runtime': agent.runtime, 'mosaic.verify': options.verify };
  return withSpan('agent.send', attributes, async (span) => {
    const result = await run();
    span.setAttributes({ 'mosaic.verdict': result.status, 'mosaic.send_id': result.send_id, 'mosaic.bytes': result.bytes });
    if (!delivered(result)) span.fail(`${result.status}: ${result.detail}`);
    return result;
  });
}

/** With --verify, the delivery that waits for evidence is span `agent.send.verify`, with the verdict. */
function verifySpan(
  ctx: SendContext,
  agent: AgentSpec,
  options: SendOptions,
  run: () => Promise<DeliveryOutcome>,
): Promise<DeliveryOutcome> {
  if (!options.verify) return run();
  return withSpan('agent.send.verify', { ...spanAttributes(ctx, agent), 'mosaic.timeout_ms': options.timeoutMs }, async (span) => {
    const outcome = await run();
    span.setAttributes({ 'mosaic.verdict': outcome.status, 'mosaic.enter_presses': outcome.enterPresses });
    if (outcome.status === 'draft' || outcome.status === 'unverifiable') span.fail(`${outcome.status}: ${outcome.detail}`);
    return outcome;
  });
}
