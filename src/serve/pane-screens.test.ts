import { describe, expect, it } from 'vitest';
import type { ControlReply } from './control-client.js';
import { PaneScreens, renderFrame, type ScreenEvent } from './pane-screens.js';

describe('renderFrame', () => {
  it('draws every row of the pane, clears the rest of each row, and puts the cursor where the pane has it', () => {
    const frame = renderFrame(['\u001b[31mred\u001b[39m', 'two'], { rows: 3, cursorX: 4, cursorY: 1, cursorVisible: true });
    expect(frame).toBe(
      '\u001b[?25l\u001b[H\u001b[31mred\u001b[39m\u001b[0m\u001b[K\r\ntwo\u001b[0m\u001b[K\r\n\u001b[0m\u001b[K\u001b[2;5H\u001b[?25h',
    );
    expect(renderFrame([], { rows: 1, cursorX: 0, cursorY: 0, cursorVisible: false }).endsWith('\u001b[1;1H')).toBe(true);
  });
});

/** Agent a's pane: session a, made by mosaic for agent a. */
const A = { session: 'a', agent: 'a' };

/** A fake pane behind the control client: its size, text and whether it is alive. */
function fakePane() {
  const pane = { text: ['hello'], alive: true, dead: false, mark: 'a', reads: 0, captures: 0 };
  const run = async (args: readonly string[]): Promise<ControlReply> => {
    if (!pane.alive) return { ok: false, lines: ["can't find session: a"] };
    if (args[0] === 'display-message') {
      pane.reads += 1;
      return { ok: true, lines: [`80 2 0 0 1 ${pane.dead ? '1 9' : '0 '} ${pane.mark}`] };
    }
    pane.captures += 1;
    return { ok: true, lines: [...pane.text] };
  };
  return { pane, run };
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('PaneScreens', () => {
  it('reads a pane once per interval however many pages watch it, and sends a frame only when it changed', async () => {
    const { pane, run } = fakePane();
    const screens = new PaneScreens(run, 5);
    const first: ScreenEvent[] = [];
    const second: ScreenEvent[] = [];
    const stopFirst = screens.watch(A, (event) => first.push(event));
    await until(() => first.length === 1);
    const stopSecond = screens.watch(A, (event) => second.push(event));
    expect(second).toEqual(first); // a late page gets the current frame at once
    expect(screens.watchedPanes).toBe(1);
    const readsBefore = pane.reads;
    await until(() => pane.reads >= readsBefore + 3);
    expect(first).toHaveLength(1); // unchanged pane: no new frames
    pane.text = ['hello', 'world'];
    await until(() => first.length === 2);
    expect(first[1]).toMatchObject({ type: 'screen', cols: 80, rows: 2 });
    expect(second).toHaveLength(2);
    stopFirst();
    stopSecond();
    expect(screens.watchedPanes).toBe(0);
    const stoppedAt = pane.reads;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(pane.reads).toBeLessThanOrEqual(stoppedAt + 1);
  });

  it('says the agent is gone when its pane dies or its session ends, and stops reading it', async () => {
    const { pane, run } = fakePane();
    const screens = new PaneScreens(run, 5);
    const events: ScreenEvent[] = [];
    screens.watch(A, (event) => events.push(event));
    await until(() => events.length === 1);
    pane.dead = true;
    await until(() => events.length === 2);
    expect(events[1]).toEqual({ type: 'gone', reason: "the agent's pane is dead (exit status 9)" });
    expect(screens.watchedPanes).toBe(0);
    pane.alive = false;
    const later: ScreenEvent[] = [];
    screens.watch(A, (event) => later.push(event));
    await until(() => later.length === 1);
    expect(later[0]).toMatchObject({ type: 'gone', reason: expect.stringMatching(/not running.*can't find session/) });
    screens.close();
  });

  it("never shows, nor even captures, a session of the agent's name that mosaic did not make for it", async () => {
    for (const mark of ['', 'b', 'a b']) {
      const { pane, run } = fakePane();
      pane.mark = mark;
      const screens = new PaneScreens(run, 5);
      const events: ScreenEvent[] = [];
      screens.watch(A, (event) => events.push(event));
      await until(() => events.length === 1);
      expect(events[0]).toEqual({ type: 'gone', reason: 'session "a" was not made by mosaic for agent "a"; it is not shown' });
      expect(pane.captures).toBe(0);
      expect(screens.watchedPanes).toBe(0);
    }
    // The same session watched as another agent's (the roster changed) is a watch of its own.
    const { run } = fakePane();
    const screens = new PaneScreens(run, 5);
    const asA: ScreenEvent[] = [];
    const asB: ScreenEvent[] = [];
    screens.watch(A, (event) => asA.push(event));
    screens.watch({ session: 'a', agent: 'b' }, (event) => asB.push(event));
    await until(() => asA.length === 1 && asB.length === 1);
    expect(asA[0]!.type).toBe('screen');
    expect(asB[0]!.type).toBe('gone');
    expect(screens.watchedPanes).toBe(1);
    screens.close();
  });

  it('rides out a control client that dropped (two failed reads), and gives up after three', async () => {
    const { run } = fakePane();
    let failing = 2;
    const flaky = async (args: readonly string[]): Promise<ControlReply> => {
      if (failing > 0 && args[0] === 'display-message') {
        failing -= 1;
        throw new Error('the tmux control client ended');
      }
      return run(args);
    };
    const screens = new PaneScreens(flaky, 5);
    const events: ScreenEvent[] = [];
    screens.watch(A, (event) => events.push(event));
    await until(() => events.length === 1);
    expect(events[0]!.type).toBe('screen');
    const down = new PaneScreens(async () => Promise.reject(new Error('no tmux session to attach the control client to')), 5);
    const gone: ScreenEvent[] = [];
    down.watch(A, (event) => gone.push(event));
    await until(() => gone.length === 1);
    expect(gone[0]).toEqual({ type: 'gone', reason: 'cannot read the pane: no tmux session to attach the control client to' });
    screens.close();
  });
});
