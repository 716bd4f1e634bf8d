import { randomBytes } from 'node:crypto';
import { exactPane, type TmuxClient } from '../tmux/client.js';

/** A buffer name no other sender uses, so concurrent sends cannot paste each other's text. */
export function uniqueBufferName(): string {
  return `mosaic-${process.pid}-${randomBytes(6).toString('hex')}`;
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
