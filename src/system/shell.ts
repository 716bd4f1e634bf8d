/**
 * Quote one word for a POSIX shell (sh -c, tmux's run-shell and pipe-pane, the remote user's shell over ssh,
 * a command line shown in a hint): plain words stay bare, anything else goes in single quotes, where nothing
 * expands. The one quoting helper; argv arrays need none, and only these places hand a shell a command line.
 */
export const shellQuote = (word: string): string => (/^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);
