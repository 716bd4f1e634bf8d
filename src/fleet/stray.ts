/**
 * Why a session on the fleet's socket that the roster does not name is there, and what to do about it: the
 * one wording `fleet verify` (a problem) and `fleet ps` (an orphan row's reason) both give.
 * `roster` names the roster the way the caller's output does ("the roster", or "roster <file>").
 */
export function straySessionReason(pane: { session: string; mark: string; holder: boolean }, socket: string, roster: string): string {
  const where = `session "${pane.session}" on socket "${socket}"`;
  const remove = `tmux -L ${socket} kill-session -t =${pane.session}`;
  // One of an earlier holder_session: `fleet stop --orphans` never stops a holder, so the way out is tmux's.
  if (pane.holder) {
    return `${where} is a fleet watchdog (holder) that ${roster} no longer names (an earlier holder_session); \`mosaic fleet stop --orphans\` never stops a holder: remove it with ${remove}`;
  }
  return pane.mark
    ? `${where} is not in ${roster} (marked as mosaic agent "${pane.mark}"): stop it with \`mosaic fleet stop --orphans\``
    : `${where} is not in ${roster} and was not created by mosaic: mosaic leaves it alone (remove it yourself: ${remove})`;
}
