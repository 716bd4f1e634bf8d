import { describe, expect, it } from 'vitest';
import { notificationEvent } from './event.js';
import { NotificationGate, type GateDrop, type GateFire } from './gate.js';
import { DEFAULT_NOTIFY_ON, sinkName, sinkPolicy, type NotifySink } from './types.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);
const hook: NotifySink = { exec: ['/usr/local/bin/hook'] };

/** Feeds one agent's states second by second (a tick per second) and returns every fire with its tick. */
function run(gate: NotificationGate, timeline: Array<[from: number, state: string, key?: string]>, until: number, agent = 'coder0') {
  const fires: Array<GateFire & { t: number }> = [];
  for (let t = timeline[0]![0]; t <= until; t++) {
    const current = timeline.filter(([from]) => from <= t).pop()!;
    for (const fire of gate.observe(agent, current[1], current[2] ?? '', at(t))) fires.push({ ...fire, t });
  }
  return fires;
}

describe('sink policy defaults', () => {
  it('fills on, dwell, cooldown and a name that never shows a webhook secret', () => {
    const policy = sinkPolicy({ webhook: 'https://hooks.example.com/services/T000/B000/SECRET?token=x' });
    expect([...policy.on]).toEqual([...DEFAULT_NOTIFY_ON]);
    expect(policy.on.has('done')).toBe(false);
    expect(policy.on.has('crash')).toBe(false);
    expect(policy).toMatchObject({ name: 'webhook:hooks.example.com', dwellMs: 5000, cooldownMs: 60_000 });
    expect(sinkName(hook)).toBe('exec:hook');
    expect(sinkName({ desktop: true })).toBe('desktop');
    expect(sinkName({ desktop: true, name: 'laptop' })).toBe('laptop');
    expect(sinkPolicy({ desktop: true, dwellSeconds: 0, cooldownSeconds: 2, on: ['done'] })).toMatchObject({
      dwellMs: 0,
      cooldownMs: 2000,
    });
  });
});

describe('NotificationGate', () => {
  it('fires exactly once per edge, after the dwell, with the time the state began', () => {
    const gate = new NotificationGate([hook]);
    const fires = run(
      gate,
      [
        [0, 'busy'],
        [10, 'permission', 'Bash: rm -rf build'],
      ],
      200,
    );
    expect(fires).toHaveLength(1);
    expect(fires[0]).toMatchObject({
      t: 15,
      sinkIndex: 0,
      sinkName: 'exec:hook',
      agent: 'coder0',
      state: 'permission',
      key: 'Bash: rm -rf build',
    });
    expect(fires[0]!.since).toEqual(at(10));
  });

  it('respects each sink its own dwell (0 fires at once)', () => {
    const gate = new NotificationGate([
      { ...hook, dwellSeconds: 0 },
      { desktop: true, dwellSeconds: 12 },
    ]);
    const fires = run(
      gate,
      [
        [0, 'busy'],
        [10, 'question', 'which db?'],
      ],
      60,
    );
    expect(fires.map((f) => [f.sinkIndex, f.t])).toEqual([
      [0, 10],
      [1, 22],
    ]);
  });

  it('never fires for an agent flapping faster than the dwell', () => {
    const gate = new NotificationGate([hook]);
    const timeline: Array<[number, string, string?]> = [];
    for (let t = 0; t < 300; t += 4) timeline.push([t, t % 8 === 0 ? 'busy' : 'permission', 'Bash: make']);
    expect(run(gate, timeline, 299)).toEqual([]);
  });

  it('a blip shorter than the dwell is not an edge: the same permission is not told again', () => {
    const gate = new NotificationGate([hook]);
    const fires = run(
      gate,
      [
        [0, 'busy'],
        [10, 'permission', 'k'],
        [100, 'busy'], // 3 s, under the dwell
        [103, 'permission', 'k'],
      ],
      300,
    );
    expect(fires.map((f) => f.t)).toEqual([15]);
  });

  it('cooldown: a second notification to the same sink within 60 s is dropped, not queued', () => {
    const drops: GateDrop[] = [];
    const gate = new NotificationGate([hook], { onDrop: (drop) => drops.push(drop) });
    const fires = run(
      gate,
      [
        [0, 'busy'],
        [10, 'permission', 'Bash: make'], // fires at 15
        [20, 'busy'],
        [30, 'question', 'which db?'], // confirmed at 35: 20 s after the last one → dropped
        [150, 'busy'], // still never told, even though the cooldown ended long ago
        [160, 'question', 'which db?'], // a new edge after leaving: told
      ],
      300,
    );
    expect(fires.map((f) => [f.t, f.state])).toEqual([
      [15, 'permission'],
      [165, 'question'],
    ]);
    expect(drops.map((d) => [d.state, d.reason])).toEqual([['question', 'cooldown']]);
  });

  it('the cooldown is per agent and per sink', () => {
    const gate = new NotificationGate([
      { ...hook, on: ['permission', 'done'] },
      { desktop: true, on: ['done'] },
    ]);
    const a = gate.observe('a', 'permission', 'k', at(0));
    const b = gate.observe('b', 'permission', 'k', at(0));
    expect([...a, ...b]).toEqual([]); // dwell
    expect(gate.observe('a', 'permission', 'k', at(5)).map((f) => f.sinkIndex)).toEqual([0]);
    expect(gate.observe('b', 'permission', 'k', at(5)).map((f) => f.sinkIndex)).toEqual([0]); // another agent: its own cooldown
    gate.observe('a', 'busy', '', at(6));
    gate.observe('a', 'busy', '', at(11));
    gate.observe('a', 'done', '', at(12));
    // a's done: the exec sink is in its cooldown (fired at 5), the desktop sink never fired for a.
    expect(gate.observe('a', 'done', '', at(17)).map((f) => f.sinkIndex)).toEqual([1]);
  });

  it('de-duplicates (agent, state, key) until the agent leaves the state; a new key is an edge', () => {
    const drops: GateDrop[] = [];
    const gate = new NotificationGate([{ ...hook, cooldownSeconds: 0 }], { onDrop: (drop) => drops.push(drop) });
    const fires = run(
      gate,
      [
        [0, 'permission', 'Bash: make'], // 5
        [20, 'permission', 'Edit: a.ts'], // 25
        [40, 'permission', 'Bash: make'], // duplicate: never left permission
        [60, 'busy'],
        [80, 'permission', 'Bash: make'], // left and came back: told again
      ],
      120,
    );
    expect(fires.map((f) => [f.t, f.key])).toEqual([
      [5, 'Bash: make'],
      [25, 'Edit: a.ts'],
      [85, 'Bash: make'],
    ]);
    expect(drops.map((d) => [d.key, d.reason])).toEqual([['Bash: make', 'duplicate']]);
  });

  it('startup grace: a state present at the first observation never fires done, but still fires permission', () => {
    const drops: GateDrop[] = [];
    const gate = new NotificationGate([{ ...hook, on: ['done', 'permission'], cooldownSeconds: 0 }], {
      onDrop: (drop) => drops.push(drop),
    });
    const idle = run(gate, [[0, 'done', 'last answer']], 100, 'idle0');
    const waiting = run(gate, [[0, 'permission', 'Bash: make']], 100, 'waiting0');
    expect(idle).toEqual([]);
    expect(drops.map((d) => [d.agent, d.reason])).toEqual([['idle0', 'startup']]);
    expect(waiting.map((f) => [f.t, f.state])).toEqual([[5, 'permission']]);
    // The grace ends at the first edge: after a task, done is told.
    const later = run(
      gate,
      [
        [101, 'busy'],
        [120, 'done', 'last answer'],
      ],
      200,
      'idle0',
    );
    expect(later.map((f) => [f.t, f.state])).toEqual([[125, 'done']]);
  });

  it('states outside the sink’s on, and non-notifying states, never fire', () => {
    const gate = new NotificationGate([{ ...hook, on: ['permission'] }]);
    const fires = run(
      gate,
      [
        [0, 'busy'],
        [10, 'question', 'q'],
        [100, 'limit', '2026-01-01T05:00:00Z'],
        [200, 'idle'],
        [300, 'stopped'],
        [400, 'none'],
        [500, 'waiting', 'dialog'],
      ],
      600,
    );
    expect(fires).toEqual([]);
  });

  it('crash and failed are events: no dwell, cooldown and de-duplication apply', () => {
    const drops: GateDrop[] = [];
    const gate = new NotificationGate([{ ...hook, on: ['crash', 'failed', 'permission'] }, { desktop: true }], {
      onDrop: (drop) => drops.push(drop),
    });
    gate.observe('c', 'busy', '', at(0));
    gate.observe('c', 'busy', '', at(5));
    // The first crash is told at once, to the sink that asked for crash (the default on has no crash).
    expect(gate.event('c', 'crash', 'exit 1', at(6)).map((f) => [f.sinkIndex, f.state, f.since.getTime()])).toEqual([
      [0, 'crash', at(6).getTime()],
    ]);
    // The crash loop repeats itself with the same key: not told again while the agent confirms nothing new.
    expect(gate.event('c', 'crash', 'exit 1', at(80))).toEqual([]);
    expect(drops.at(-1)).toMatchObject({ state: 'crash', reason: 'duplicate' });
    // The supervisor gives up: the exec sink told the crash 74 s ago; the desktop sink (default on) gets failed.
    expect(gate.event('c', 'failed', 'crash loop', at(80)).map((f) => f.sinkIndex)).toEqual([0, 1]);
    // The daemon may report failed on every tick: told once, and its drop is reported once per sink, not per tick.
    const before = drops.length;
    for (let t = 81; t < 400; t++) expect(gate.event('c', 'failed', 'crash loop', at(t))).toEqual([]);
    expect(drops.slice(before).map((d) => [d.sinkName, d.state, d.reason])).toEqual([
      ['exec:hook', 'failed', 'duplicate'],
      ['desktop', 'failed', 'duplicate'],
    ]);
    // Restarted, it ran (a new state confirmed), then crashed again: told again.
    gate.observe('c', 'permission', 'Bash: make', at(400));
    expect(gate.observe('c', 'permission', 'Bash: make', at(405)).map((f) => f.sinkIndex)).toEqual([0, 1]);
    expect(gate.event('c', 'crash', 'exit 1', at(470)).map((f) => f.sinkIndex)).toEqual([0]);
    // And a crash right after that is inside the cooldown (a different key, so not a duplicate).
    expect(gate.event('c', 'crash', 'exit 137', at(480))).toEqual([]);
    expect(drops.at(-1)).toMatchObject({ state: 'crash', key: 'exit 137', reason: 'cooldown' });
  });

  it('survives the clock going back and forgets an agent on request', () => {
    const gate = new NotificationGate([hook]);
    gate.observe('a', 'permission', 'k', at(100));
    expect(gate.observe('a', 'permission', 'k', at(50))).toEqual([]); // went back: dwell counts from 50
    expect(gate.observe('a', 'permission', 'k', at(55))).toHaveLength(1);
    gate.forget('a');
    gate.observe('a', 'permission', 'k', at(60));
    expect(gate.observe('a', 'permission', 'k', at(65))).toHaveLength(1); // a new gate's view: told again
  });

  it('builds the event a sink receives from a fire', () => {
    const gate = new NotificationGate([hook]);
    gate.observe('coder0', 'limit', '2026-01-01T05:00:00Z', at(0));
    const [fire] = gate.observe('coder0', 'limit', '2026-01-01T05:00:00Z', at(5));
    const context = { fleet: 'mosaic-factory', host: 'box', runtime: 'claude', detail: 'usage limit', resets_at: '2026-01-01T05:00:00Z' };
    const event = notificationEvent(fire!, context, at(5));
    expect(event).toEqual({
      version: 1,
      fleet: 'mosaic-factory',
      host: 'box',
      agent: 'coder0',
      runtime: 'claude',
      state: 'limit',
      detail: 'usage limit',
      since: '2026-01-01T00:00:00.000Z',
      resets_at: '2026-01-01T05:00:00Z',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ts: '2026-01-01T00:00:05.000Z',
    });
    expect(notificationEvent(fire!, context, at(5)).id).not.toBe(event.id);
  });
});
