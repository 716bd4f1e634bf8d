import type { Screen } from '../runtimes/detectors/types.js';
import { randomHex } from '../system/random.js';
import { exactPane, joinCommands, type TmuxClient } from '../tmux/client.js';
import { newMarker, parseScreens, screenCommands } from './screen.js';

/** A buffer name no other sender uses, so concurrent sends cannot paste each other's text. */
export function uniqueBufferName(): string {
  return `mosaic-${process.pid}-${randomHex(6)}`;
}

/**
 * Put `body` into the pane as one bracketed paste: loaded from stdin into a unique buffer
 * (never through a shell or an argument), pasted, and the buffer deleted (-d).
 */
export async function pasteIntoPane(tmux: TmuxClient, session: string, body: string): Promise<void> {
  const buffer = uniqueBufferName();
  await tmux.run(['load-buffer', '-b', buffer, '-'], { input: body });
  try {
    await tmux.run(['paste-buffer', '-p', '-d', '-b', buffer, '-t', exactPane(session)]);
  } catch (error) {
    await tmux.run(['delete-buffer', '-b', buffer], { allowFailure: true });
    throw error;
  }
}

/** Type literal text (for slash commands, which TUIs ignore when pasted). */
export async function typeIntoPane(tmux: TmuxClient, session: string, text: string): Promise<void> {
  await tmux.run(['send-keys', '-t', exactPane(session), '-l', '--', text]);
}

export async function pressEnter(tmux: TmuxClient, session: string): Promise<void> {
  await tmux.run(['send-keys', '-t', exactPane(session), 'Enter']);
}

/**
 * One tmux call that captures the screen as it is (the "before" for the detectors), then
 * loads `text` from stdin into a unique buffer and pastes it as one bracketed paste,
 * deleting the buffer. If the pane is missing, tmux stops at the capture and nothing is pasted.
 * Returns the screen before the paste, or the failed run's stderr.
 */
export async function snapshotAndPaste(tmux: TmuxClient, session: string, text: string): Promise<Screen | { error: string }> {
  const marker = newMarker();
  const buffer = uniqueBufferName();
  const result = await tmux.run(
    joinCommands([
      ...screenCommands(session, marker),
      ['load-buffer', '-b', buffer, '-'],
      ['paste-buffer', '-p', '-d', '-b', buffer, '-t', exactPane(session)],
    ]),
    { input: text, allowFailure: true },
  );
  const [before] = parseScreens(result.stdout, marker);
  if (result.status === 0 && before) return before;
  await tmux.run(['delete-buffer', '-b', buffer], { allowFailure: true });
  return { error: result.stderr.trim() || `tmux exited ${String(result.status)}` };
}

/** Press Enter in many panes with one tmux call. Never presses twice in one pane. */
export async function pressEnterMany(tmux: TmuxClient, sessions: readonly string[]): Promise<(true | Error)[]> {
  const enter = (session: string): string[] => ['send-keys', '-t', exactPane(session), 'Enter'];
  try {
    await tmux.batch(sessions.map(enter));
    return sessions.map(() => true);
  } catch (error) {
    // tmux ran the commands in order and stopped at the first pane that is gone: the ones
    // before it got their Enter; the ones after it get theirs now, one by one.
    const alive = new Set((await tmux.list('list-sessions', ['session_name'])).map(([name]) => name));
    const failedAt = sessions.findIndex((session) => !alive.has(session));
    if (failedAt < 0) return sessions.map(() => (error instanceof Error ? error : new Error(String(error))));
    return Promise.all(
      sessions.map(async (session, i) => {
        if (i < failedAt) return true;
        if (!alive.has(session)) return new Error(`session "${session}" is gone`);
        const result = await tmux.run(enter(session), { allowFailure: true });
        return result.status === 0 ? true : new Error(result.stderr.trim() || 'send-keys failed');
      }),
    );
  }
}
