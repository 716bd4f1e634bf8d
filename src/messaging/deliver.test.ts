import { describe, expect, it } from 'vitest';
import { posixCksum } from '../runtimes/detectors/cksum.js';
import { detectorFor } from '../runtimes/detectors/index.js';
import type { AckSource, Screen } from '../runtimes/detectors/types.js';
import { deliver, type Clock, type DeliveryStep, type PaneIo } from './deliver.js';

/** Virtual time: sleeping advances the clock at once, so timing logic is tested without waiting. */
function virtualClock(): Clock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
      await Promise.resolve();
    },
  };
  return clock;
}

/** A model of the stub agent behind a pane: what it shows, how it treats Enter. */
function fakeStub(
  options: {
    dropEnters?: number;
    blank?: boolean;
    acceptsNothing?: boolean;
    /** Reads its input this slowly (with `clock`): an Enter counts only once the text before it is read. */
    readMsPerKiB?: number;
    clock?: Clock;
  } = {},
) {
  const state = {
    input: '',
    acks: [] as string[],
    pastes: [] as string[],
    enters: 0,
    dropEnters: options.dropEnters ?? 0,
    blank: Boolean(options.blank),
    /** When the pasted text will have been read (readMsPerKiB), and the Enter presses waiting behind it. */
    readAt: 0,
    waitingEnters: 0,
    /** Enter presses that reached the stub with nothing in the input: empty submissions. */
    strayEnters: 0,
  };
  const submit = (): void => {
    if (state.input === '') {
      state.strayEnters++;
      return;
    }
    const body = state.input;
    state.input = '';
    state.acks.push(`[stub] ack seq=${state.acks.length + 1} bytes=${Buffer.byteLength(body)} cksum=${posixCksum(body)}`);
  };
  /** The Enter presses the stub gets to once it has read the text before them. */
  const readUpToNow = (): void => {
    if (!options.clock || options.clock.now() < state.readAt) return;
    for (; state.waitingEnters > 0; state.waitingEnters--) submit();
  };
  const render = (): Screen => {
    const lines = state.blank
      ? []
      : ['mosaic stub agent a ready', ...state.acks.flatMap((ack) => ['stub> …', ack]), `stub> ${state.input}`];
    while (lines.length < 24) lines.push('');
    return { lines, width: 80, height: 24, cursorY: 0, alternate: false, dead: false };
  };
  const io: PaneIo = {
    snapshotAndPaste: async (text) => {
      const before = render();
      state.pastes.push(text);
      state.input += text;
      if (options.readMsPerKiB !== undefined && options.clock)
        state.readAt = options.clock.now() + (Buffer.byteLength(text) / 1024) * options.readMsPerKiB;
      return before;
    },
    capture: async () => {
      readUpToNow();
      return render();
    },
    pressEnter: async () => {
      state.enters++;
      if (options.acceptsNothing || state.dropEnters-- > 0) return;
      if (options.readMsPerKiB !== undefined) {
        state.waitingEnters++;
        readUpToNow();
        return;
      }
      if (state.input !== '') submit();
    },
  };
  return { io, state };
}

const request = (overrides: Partial<Parameters<typeof deliver>[1]> = {}): Parameters<typeof deliver>[1] => ({
  sendId: 'abcd1234',
  agent: 'a',
  text: '[h:operator -> a] hello',
  detector: detectorFor('stub'),
  timeoutMs: 6000,
  verify: true,
  ...overrides,
});

describe('deliver', () => {
  it('accepted with one paste and one Enter', async () => {
    const { io, state } = fakeStub();
    const outcome = await deliver(io, request(), virtualClock());
    expect(outcome).toMatchObject({ status: 'accepted', enterPresses: 1, pasted: true });
    expect(state.pastes).toEqual(['[h:operator -> a] hello']);
  });

  it('traces each step with the screen it judged: paste, draft, Enter, then observations to the verdict', async () => {
    const { io } = fakeStub({ dropEnters: 1 });
    const steps: DeliveryStep[] = [];
    const outcome = await deliver(io, request({ trace: (step) => steps.push(step), reportsBusy: () => false }), virtualClock());
    expect(outcome.status).toBe('accepted');
    const names = steps.map((step) => step.step);
    expect(names.slice(0, 4)).toEqual(['paste', 'draft', 'enter', 'observe']);
    expect(names.filter((name) => name === 'enter')).toHaveLength(2); // the retried Enter is there too
    expect(steps[0]).toMatchObject({ reportedBusy: false });
    expect(steps[1]!.screen?.some((line) => line.includes('hello'))).toBe(true);
    expect(steps.at(-1)).toMatchObject({ step: 'observe', observation: { kind: 'accepted' } });
    expect(steps.every((step, i) => i === 0 || step.atMs >= steps[i - 1]!.atMs)).toBe(true);
  });

  it('retries Enter, never the body, while the draft stays', async () => {
    const { io, state } = fakeStub({ dropEnters: 2 });
    const outcome = await deliver(io, request(), virtualClock());
    expect(outcome).toMatchObject({ status: 'accepted', enterPresses: 3 });
    expect(outcome.detail).toMatch(/Enter pressed 3 times/);
    expect(state.pastes).toHaveLength(1);
    expect(state.acks).toHaveLength(1);
  });

  it('a large text still being read when the first Enter lands: no second Enter (it would submit an empty line)', async () => {
    const clock = virtualClock();
    // 300 KiB read at 4 ms a KiB: 1.2 s, about what the real stub took here.
    const { io, state } = fakeStub({ readMsPerKiB: 4, clock });
    const text = 'w'.repeat(300 * 1024);
    const outcome = await deliver(io, request({ text }), clock);
    expect(outcome).toMatchObject({ status: 'accepted', enterPresses: 1 });
    expect(state.strayEnters).toBe(0);
    // A lost Enter is still retried for such a text, only later.
    const lostClock = virtualClock();
    const lost = fakeStub({ readMsPerKiB: 4, clock: lostClock, dropEnters: 1 });
    const retried = await deliver(lost.io, request({ text }), lostClock);
    expect(retried).toMatchObject({ status: 'accepted', enterPresses: 2 });
    expect(lost.state.strayEnters).toBe(0);
  });

  it('a pane that never submits: draft at the deadline (never earlier), after the bounded Enter retries', async () => {
    const { io, state } = fakeStub({ acceptsNothing: true });
    const clock = virtualClock();
    const outcome = await deliver(io, request(), clock);
    const retries = detectorFor('stub').timing.enterRetryMs.length;
    expect(outcome).toMatchObject({ status: 'draft', enterPresses: 1 + retries });
    expect(state.pastes).toHaveLength(1);
    expect(clock.t).toBeGreaterThanOrEqual(6000);
  });

  it('a blank pane: unverifiable, and nothing is pasted into it', async () => {
    const { io, state } = fakeStub({ blank: true });
    const clock = virtualClock();
    const outcome = await deliver(io, request({ timeoutMs: 2000 }), clock);
    expect(outcome).toMatchObject({ status: 'unverifiable', pasted: false }); // the send event says bytes=0
    expect(outcome.detail).toMatch(/nothing was sent.*shows nothing/);
    expect(state.pastes).toHaveLength(0);
    expect(state.enters).toBe(0);
    expect(clock.t).toBeLessThanOrEqual(2000);
  });

  it('without --verify a stuck draft is reported as sent, not as a failure', async () => {
    const { io } = fakeStub({ acceptsNothing: true });
    const outcome = await deliver(io, request({ verify: false }), virtualClock());
    expect(outcome.status).toBe('sent');
    // It saw the text left in the input: it does not call that submitted.
    expect(outcome.detail).toMatch(/^not verified, and it looks left as a draft: .*still in the input/);
    expect(outcome.detail).not.toMatch(/submitted/);
  });

  it('a runtime-reported acknowledgement (AckSource) counts as evidence', async () => {
    const { io } = fakeStub({ acceptsNothing: true });
    const seen: string[] = [];
    const hook: AckSource = {
      name: 'hook',
      check: async (send) => {
        seen.push(send.sendId);
        return { kind: 'queued', detail: `UserPromptSubmit for ${send.agent}` };
      },
    };
    const outcome = await deliver(io, request({ ackSources: [hook] }), virtualClock());
    expect(outcome).toMatchObject({ status: 'queued', detail: 'hook: UserPromptSubmit for a' });
    expect(seen[0]).toBe('abcd1234');
  });

  it('a screen that shows the message queued waits briefly for the runtime to say accepted', async () => {
    const { io } = fakeStub();
    const queuedScreen = { ...detectorFor('stub'), classify: () => ({ kind: 'queued' as const, detail: 'screen shows it queued' }) };
    let checks = 0;
    const hook: AckSource = {
      name: 'hook',
      check: async () => (++checks >= 3 ? { kind: 'accepted', detail: 'UserPromptSubmit' } : undefined),
    };
    const accepted = await deliver(io, request({ detector: queuedScreen, ackSources: [hook] }), virtualClock());
    expect(accepted).toMatchObject({ status: 'accepted', detail: 'hook: UserPromptSubmit' });
    // Without any word from the runtime, the screen's "queued" stands once the grace is over.
    const silent: AckSource = { name: 'hook', check: async () => undefined };
    const queued = await deliver(fakeStub().io, request({ detector: queuedScreen, ackSources: [silent] }), virtualClock());
    expect(queued).toMatchObject({ status: 'queued', detail: 'screen shows it queued' });
  });

  it('never types into a pane in copy mode: unverifiable, nothing pasted', async () => {
    const { io, state } = fakeStub();
    const capture = io.capture;
    io.capture = async () => ({ ...(await capture()), inMode: true });
    const outcome = await deliver(io, request({ timeoutMs: 1000 }), virtualClock());
    expect(outcome.status).toBe('unverifiable');
    expect(outcome.detail).toMatch(/copy mode/);
    expect(state.pastes).toHaveLength(0);
    expect(state.enters).toBe(0);
  });

  it('waits for a starting agent to show its input before pasting', async () => {
    const stub = fakeStub({ blank: true });
    let captures = 0;
    const capture = stub.io.capture;
    stub.io.capture = async () => {
      if (++captures === 4) stub.state.blank = false;
      return capture();
    };
    const outcome = await deliver(stub.io, request(), virtualClock());
    expect(outcome.status).toBe('accepted');
    expect(stub.state.pastes).toHaveLength(1);
    expect(captures).toBeGreaterThan(4);
  });
});
