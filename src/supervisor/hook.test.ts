import { describe, expect, it } from 'vitest';
import { paneDiedHookCommand, tmuxQuote } from './hook.js';

describe('quoting for the pane-died hook', () => {
  it('tmuxQuote escapes what tmux expands inside double quotes', () => {
    expect(tmuxQuote('a "b" $HOME \\x')).toBe('"a \\"b\\" \\$HOME \\\\x"');
  });

  it('the hook expands agent, pane, pid and exit status and keeps fixed paths literal', () => {
    const command = paneDiedHookCommand({ nodeBinary: '/usr/bin/node', home: '/h/#odd', socket: 's1', logFile: '/h/logs/supervisor.log' });
    expect(command.startsWith('run-shell -b "')).toBe(true);
    expect(command).toContain("--agent '#{@mosaic_agent}'");
    expect(command).toContain("--pid '#{pane_pid}'");
    expect(command).toContain("--status '#{pane_dead_status}'");
    expect(command).toContain("MOSAIC_FLEET_HOME='/h/##odd'");
  });
});
