import { NOTIFY_ON, sinkPolicy, type NotifyOn, type NotifySink, type SinkPolicy } from './types.js';

/*
 * The delivery policy: which observations become notifications, for which sink. Pure and
 * clock-injected: the daemon calls `observe` for every agent on every tick with the time of the
 * tick, and `event` when the supervisor reports a crash or gives up; the gate answers what to send
 * now. It never sends anything itself and never looks at a pane.
 *
 * Per agent and sink, exactly:
 *
 * - An edge is a change of the agent's (state, key). `key` is the de-duplication detail the daemon
 *   chooses (tool + summary of a permission prompt, `resets_at` of a limit, …); '' is fine.
 * - Dwell: a (state, key) is *confirmed* for a sink at the first `observe` at least `dwellSeconds`
 *   after it was first seen, with no other (state, key) observed in between. An agent that flaps
 *   faster than the dwell confirms nothing, so it never fires — and a blip shorter than the dwell
 *   (permission → busy → the same permission) is not an edge at all: the confirmed value is unchanged.
 * - A confirmed (state, key) fires when the state is in the sink's `on`, and
 *   - it is not a duplicate: the same (state, key) was not already sent to this sink since the agent
 *     last left that state (leaving = a *different state* confirmed; a new key in the same state is
 *     an edge, but a key already told in this stay is not told again), and
 *   - it is not inside the cooldown: the agent's last notification to this sink was at least
 *     `cooldownSeconds` ago. A notification suppressed by the cooldown is dropped, not queued:
 *     it is not sent when the cooldown ends, and it does not count as sent for de-duplication (the
 *     same (state, key) may fire on its next edge).
 * - Startup grace: the (state, key) given in the first `observe` of an agent (normally the daemon's
 *   first tick) never fires `done`: an agent that was idle before the daemon started is not newly
 *   done. Every other state present at that first observation (permission, question, error, limit)
 *   still fires after the dwell, because it still needs a person. The grace ends at the agent's
 *   first edge.
 * - `crash` and `failed` are events (`event()`): no dwell, the same cooldown and de-duplication.
 *   They count as "left" once the agent next confirms any new (state, key), so a crash loop with
 *   the same key tells once, and the daemon may report `failed` on every tick safely.
 * - Passing `crash`/`failed` to `observe` treats them as states (with dwell); prefer `event`.
 *   Every state that is not a `NotifyOn` (`none`, `busy`, `idle`, `stopped`, …) never fires, but it
 *   is confirmed like any other, which is how an agent leaves a state.
 *
 * State is in memory only: a restarted daemon (or a new gate after a roster reload) tells the
 * current permission/question/error/limit states again, once, and never `done`.
 */

export interface GateFire {
  /** Index of the sink in the list the gate was built with. */
  sinkIndex: number;
  sinkName: string;
  agent: string;
  state: NotifyOn;
  key: string;
  /** When the agent entered this (state, key); for an event, the event's time. */
  since: Date;
}

export interface GateDrop extends GateFire {
  reason: 'cooldown' | 'duplicate' | 'startup';
}

export interface GateOptions {
  /** Told about every confirmed notification that was not sent, for logs. */
  onDrop?: (drop: GateDrop) => void;
}

/** Keys remembered per state and stay, oldest forgotten first: a bound, not a policy. */
const MAX_KEYS_PER_STATE = 64;

interface Observed {
  state: string;
  key: string;
  sinceMs: number;
  /** This is the (state, key) of the agent's first observation (startup grace). */
  first: boolean;
}

interface SinkTrack {
  confirmed?: { state: string; key: string };
  lastSentMs?: number;
  /** state → keys sent since the agent last left that state. */
  sent: Map<string, Set<string>>;
  /**
   * The last drop of an event told to `onDrop` (state, key, reason): the daemon reports `failed`
   * on every tick, and its log says "not telling" once, not once a second for as long as it lasts.
   */
  lastEventDrop?: string;
}

interface AgentTrack {
  observed?: Observed;
  sinks: SinkTrack[];
}

const NOTIFYING: ReadonlySet<string> = new Set(NOTIFY_ON);
const isNotifyOn = (state: string): state is NotifyOn => NOTIFYING.has(state);

export class NotificationGate {
  readonly policies: readonly SinkPolicy[];
  private readonly agents = new Map<string, AgentTrack>();
  private readonly onDrop: ((drop: GateDrop) => void) | undefined;

  constructor(sinks: readonly NotifySink[], options: GateOptions = {}) {
    this.policies = sinks.map(sinkPolicy);
    this.onDrop = options.onDrop;
  }

  /**
   * The agent's state as of `now` (call it every tick, also when nothing changed: dwell is checked
   * here). Returns the notifications to send now, at most one per sink.
   */
  observe(agent: string, state: string, key: string, now: Date): GateFire[] {
    const t = now.getTime();
    const track = this.track(agent);
    const seen = track.observed;
    if (!seen) track.observed = { state, key, sinceMs: t, first: true };
    else if (seen.state !== state || seen.key !== key) track.observed = { state, key, sinceMs: t, first: false };
    else if (t < seen.sinceMs) seen.sinceMs = t; // the clock went back: hold the dwell from now
    const observed = track.observed!;

    const fires: GateFire[] = [];
    this.policies.forEach((policy, sinkIndex) => {
      const sink = track.sinks[sinkIndex]!;
      if (t - observed.sinceMs < policy.dwellMs) return;
      if (sink.confirmed && sink.confirmed.state === state && sink.confirmed.key === key) return;
      sink.confirmed = { state, key };
      sink.lastEventDrop = undefined;
      // Confirming a state means the agent left every other one (events included).
      for (const told of [...sink.sent.keys()]) if (told !== state) sink.sent.delete(told);
      if (!isNotifyOn(state) || !policy.on.has(state)) return;
      const fire: GateFire = { sinkIndex, sinkName: policy.name, agent, state, key, since: new Date(observed.sinceMs) };
      if (observed.first && state === 'done') this.onDrop?.({ ...fire, reason: 'startup' });
      else if (this.decide(sink, policy, fire, t)) fires.push(fire);
    });
    return fires;
  }

  /** A crash or the supervisor giving up (`failed`): no dwell; cooldown and de-duplication apply. */
  event(agent: string, kind: 'crash' | 'failed', key: string, now: Date): GateFire[] {
    const t = now.getTime();
    const track = this.track(agent);
    const fires: GateFire[] = [];
    this.policies.forEach((policy, sinkIndex) => {
      if (!policy.on.has(kind)) return;
      const fire: GateFire = { sinkIndex, sinkName: policy.name, agent, state: kind, key, since: new Date(t) };
      if (this.decide(track.sinks[sinkIndex]!, policy, fire, t, true)) fires.push(fire);
    });
    return fires;
  }

  /** Drop everything known about an agent (it left the roster). */
  forget(agent: string): void {
    this.agents.delete(agent);
  }

  private track(agent: string): AgentTrack {
    let track = this.agents.get(agent);
    if (!track) {
      track = { sinks: this.policies.map(() => ({ sent: new Map() })) };
      this.agents.set(agent, track);
    }
    return track;
  }

  /** Duplicate and cooldown checks; records the notification when it is sent. */
  private decide(sink: SinkTrack, policy: SinkPolicy, fire: GateFire, t: number, event = false): boolean {
    const told = sink.sent.get(fire.state);
    if (told?.has(fire.key)) {
      this.dropped(sink, { ...fire, reason: 'duplicate' }, event);
      return false;
    }
    if (sink.lastSentMs !== undefined) {
      if (t < sink.lastSentMs) sink.lastSentMs = t; // the clock went back: the cooldown restarts
      if (t - sink.lastSentMs < policy.cooldownMs) {
        this.dropped(sink, { ...fire, reason: 'cooldown' }, event);
        return false;
      }
    }
    sink.lastSentMs = t;
    sink.lastEventDrop = undefined;
    const keys = told ?? new Set<string>();
    keys.add(fire.key);
    if (keys.size > MAX_KEYS_PER_STATE) keys.delete(keys.values().next().value!);
    sink.sent.set(fire.state, keys);
    return true;
  }

  /** Tell `onDrop`, but an event's drop only when it differs from the last one (the daemon repeats `failed`). */
  private dropped(sink: SinkTrack, drop: GateDrop, event: boolean): void {
    if (event) {
      const signature = `${drop.state}\0${drop.key}\0${drop.reason}`;
      if (sink.lastEventDrop === signature) return;
      sink.lastEventDrop = signature;
    }
    this.onDrop?.(drop);
  }
}
