import { UserError } from '../core/errors.js';
import type { Screen } from '../runtimes/detectors/types.js';
import { randomHex } from '../system/random.js';
import { exactPane, joinCommands, type TmuxClient } from '../tmux/client.js';

// The mark goes last: the only field that is not a number (agent names hold no space).
const PANE_FORMAT = '#{pane_dead} #{alternate_on} #{cursor_y} #{pane_width} #{pane_height} #{pane_in_mode} #{@mosaic_agent}';

/** A header line no screen content can forge: it carries a fresh random nonce. */
export function newMarker(): string {
  return `@@mosaic-screen-${randomHex(6)}@@`;
}

/** tmux commands that print `<marker> <session> <pane facts>` and then the visible screen. */
export function screenCommands(session: string, marker: string): string[][] {
  const target = exactPane(session);
  return [
    ['display-message', '-p', '-t', target, `${marker} ${PANE_FORMAT}`],
    // No -S/-E: the visible screen, which is the alternate screen while a full-screen TUI is up.
    ['capture-pane', '-p', '-t', target],
  ];
}

/** Split the output of several screenCommands() blocks, in order. */
export function parseScreens(stdout: string, marker: string): Screen[] {
  const screens: Screen[] = [];
  let current: Screen | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${marker} `)) {
      const fields = line.slice(marker.length + 1).split(' ');
      const [dead, alternate, cursorY, width, height, inMode] = fields.slice(0, 6).map(Number);
      current = {
        lines: [],
        dead: dead === 1,
        alternate: alternate === 1,
        cursorY: cursorY ?? 0,
        width: width ?? 0,
        height: height ?? 0,
        inMode: inMode === 1,
        mark: fields.slice(6).join(' '),
      };
      screens.push(current);
    } else if (current && current.lines.length < current.height) {
      current.lines.push(line.trimEnd());
    }
  }
  return screens;
}

export class PaneGoneError extends UserError {}

export const paneGone = (agent: string, socket: string, cause?: unknown): PaneGoneError =>
  new PaneGoneError(`agent "${agent}" is not running (no session on socket "${socket}")`, {
    hint: `start it with \`mosaic fleet start ${agent}\``,
    cause,
  });

/** One batched call for all sessions; if one is gone, the others are captured one by one. */
export async function captureMany(tmux: TmuxClient, sessions: readonly string[]): Promise<(Screen | Error)[]> {
  const marker = newMarker();
  try {
    const results = await tmux.batch(sessions.flatMap((session) => screenCommands(session, marker)));
    const screens = parseScreens(results.map((r) => r.stdout).join(''), marker);
    if (screens.length === sessions.length) return screens;
  } catch {
    // fall through: find out which session failed
  }
  return Promise.all(
    sessions.map(async (session) => {
      const result = await tmux.run(joinCommands(screenCommands(session, marker)), { allowFailure: true });
      const [screen] = parseScreens(result.stdout, marker);
      return result.status === 0 && screen ? screen : new Error(result.stderr.trim() || 'capture failed');
    }),
  );
}

/** The screens of these agents, by agent name, in one batched call; agents whose pane is gone are left out. */
export async function captureByAgent(tmux: TmuxClient, agents: readonly { name: string; session: string }[]): Promise<Map<string, Screen>> {
  const screens = new Map<string, Screen>();
  if (agents.length === 0) return screens;
  const captured = await captureMany(
    tmux,
    agents.map((agent) => agent.session),
  );
  agents.forEach((agent, index) => {
    const screen = captured[index];
    if (screen && !(screen instanceof Error)) screens.set(agent.name, screen);
  });
  return screens;
}
