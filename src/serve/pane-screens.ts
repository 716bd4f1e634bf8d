import { exactPane } from '../tmux/client.js';
import type { ControlReply } from './control-client.js';

/** Sent to a page watching an agent's pane. */
export type ScreenEvent = { type: 'screen'; cols: number; rows: number; data: string } | { type: 'gone'; reason: string };

export type ScreenListener = (event: ScreenEvent) => void;

/** How often a watched pane is read while at least one page watches it. */
export const SCREEN_POLL_MS = 150;

// The session's mosaic mark goes last: a session someone else made may carry any text there, spaces included.
const PANE_FORMAT = '#{pane_width} #{pane_height} #{cursor_x} #{cursor_y} #{cursor_flag} #{pane_dead} #{pane_dead_status} #{@mosaic_agent}';

/** An agent's pane to watch: its session, and the agent mosaic made that session for. */
export interface AgentPane {
  session: string;
  agent: string;
}

/**
 * A whole frame for a terminal of exactly the pane's size: cursor hidden, home, each line drawn
 * and the rest of its row cleared with attributes reset, then the cursor where the pane has it.
 */
export function renderFrame(
  lines: readonly string[],
  pane: { rows: number; cursorX: number; cursorY: number; cursorVisible: boolean },
): string {
  const rows = Array.from({ length: pane.rows }, (_, index) => `${lines[index] ?? ''}\u001b[0m\u001b[K`);
  const cursor = `\u001b[${pane.cursorY + 1};${pane.cursorX + 1}H${pane.cursorVisible ? '\u001b[?25h' : ''}`;
  return `\u001b[?25l\u001b[H${rows.join('\r\n')}${cursor}`;
}

/** Watches are shared per session and agent: a roster that gave the session to another agent gets a watch of its own. */
const watchKey = (pane: AgentPane): string => `${pane.session}\0${pane.agent}`;

interface Watch extends AgentPane {
  key: string;
  listeners: Set<ScreenListener>;
  last: ScreenEvent | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Reads that failed in a row (not a dead pane: the control client could not answer). */
  failures: number;
}

const MAX_FAILED_READS = 3;

/**
 * Live read-only views of panes, for any number of pages: one poll per watched pane (not per
 * page), through the fleet's one control-mode client, and a frame goes out only when it changed.
 */
export class PaneScreens {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly run: (args: readonly string[]) => Promise<ControlReply>,
    private readonly pollMs = SCREEN_POLL_MS,
  ) {}

  /**
   * Start sending the agent's screen to `listener`; returns the function that stops it. A session of that name
   * that mosaic did not make for the agent (its `@mosaic_agent` mark) is never shown: the page is told it is gone.
   */
  watch(pane: AgentPane, listener: ScreenListener): () => void {
    const key = watchKey(pane);
    let watch = this.watches.get(key);
    if (!watch) {
      watch = { ...pane, key, listeners: new Set(), last: undefined, timer: undefined, failures: 0 };
      this.watches.set(key, watch);
      void this.tick(watch);
    } else if (watch.last) {
      listener(watch.last);
    }
    watch.listeners.add(listener);
    const active = watch;
    return () => {
      active.listeners.delete(listener);
      if (active.listeners.size === 0) this.forget(active);
    };
  }

  /** How many panes are being read (the benchmark and tests check it stays per pane, not per page). */
  get watchedPanes(): number {
    return this.watches.size;
  }

  close(): void {
    for (const watch of [...this.watches.values()]) this.forget(watch);
  }

  private forget(watch: Watch): void {
    clearTimeout(watch.timer);
    if (this.watches.get(watch.key) === watch) this.watches.delete(watch.key);
  }

  private async tick(watch: Watch): Promise<void> {
    let event: ScreenEvent | undefined;
    try {
      event = await this.read(watch);
      watch.failures = 0;
    } catch (error) {
      // The control client dropped (the session it was attached to ended): it reconnects on the
      // next read, so only a pane that cannot be read several times in a row is gone.
      watch.failures += 1;
      if (watch.failures >= MAX_FAILED_READS) {
        event = { type: 'gone', reason: `cannot read the pane: ${error instanceof Error ? error.message : String(error)}` };
      }
    }
    if (this.watches.get(watch.key) !== watch) return; // nobody watches any more
    if (event === undefined) {
      watch.timer = setTimeout(() => void this.tick(watch), this.pollMs);
      return;
    }
    const changed =
      watch.last?.type !== event.type || (event.type === 'screen' && watch.last.type === 'screen' && !sameScreen(watch.last, event));
    if (changed) {
      watch.last = event;
      for (const listener of [...watch.listeners]) listener(event);
    }
    if (event.type === 'gone') {
      this.forget(watch);
      return;
    }
    watch.timer = setTimeout(() => void this.tick(watch), this.pollMs);
  }

  private async read({ session, agent }: AgentPane): Promise<ScreenEvent> {
    const target = exactPane(session);
    const pane = await this.run(['display-message', '-p', '-t', target, PANE_FORMAT]);
    if (!pane.ok) return { type: 'gone', reason: `the agent is not running (${pane.lines.join(' ') || 'no pane'})` };
    const [cols, rows, cursorX, cursorY, cursorFlag, dead, deadStatus, ...mark] = (pane.lines[0] ?? '').split(' ');
    if (mark.join(' ') !== agent) {
      return { type: 'gone', reason: `session "${session}" was not made by mosaic for agent "${agent}"; it is not shown` };
    }
    if (dead === '1') return { type: 'gone', reason: `the agent's pane is dead${deadStatus ? ` (exit status ${deadStatus})` : ''}` };
    // Read only once the session is known to be the agent's: a pane someone else made is not even captured.
    const screen = await this.run(['capture-pane', '-p', '-e', '-t', target]);
    if (!screen.ok) return { type: 'gone', reason: `cannot read the pane: ${screen.lines.join(' ')}` };
    const size = { cols: Number(cols), rows: Number(rows) };
    const data = renderFrame(screen.lines, {
      rows: size.rows,
      cursorX: Number(cursorX),
      cursorY: Number(cursorY),
      cursorVisible: cursorFlag === '1',
    });
    return { type: 'screen', ...size, data };
  }
}

const sameScreen = (a: Extract<ScreenEvent, { type: 'screen' }>, b: Extract<ScreenEvent, { type: 'screen' }>): boolean =>
  a.cols === b.cols && a.rows === b.rows && a.data === b.data;
