import { describe, expect, it } from 'vitest';
import type { AgentSpec } from '../roster/model.js';
import { DEFAULT_RESTART_POLICY } from '../roster/model.js';
import { needsReconcile } from './direct.js';
import { observeAgent, type PaneRow } from './panes.js';
import { freshRunState } from './state.js';

const agent: AgentSpec = { name: 'a', session: 'a', runtime: 'stub', workingDirectory: '/w', args: [], mode: 'safe', env: {}, line: 1 };
const pane = (over: Partial<PaneRow> = {}): PaneRow => ({
  session: 'a',
  agent: 'a',
  paneId: '%1',
  panePid: 100,
  dead: false,
  deadStatus: null,
  deadSignal: null,
  deadTime: null,
  activity: 1,
  currentCommand: 'sh',
  ...over,
});
const NOW = 1_000_000_000;

describe('what the built-in supervisor reports', () => {
  it('maps panes and state files to running / restarting / failed / stopped / dead', () => {
    const state = freshRunState('a', 'a', DEFAULT_RESTART_POLICY);
    expect(observeAgent(agent, undefined, state, NOW).state).toBe('stopped');
    expect(observeAgent(agent, pane(), state, NOW).state).toBe('running');
    expect(observeAgent(agent, pane(), { ...state, nextStartAt: NOW + 500 }, NOW).state).toBe('restarting');
    expect(observeAgent(agent, pane({ dead: true, deadStatus: 3 }), state, NOW).state).toBe('restarting');
    expect(observeAgent(agent, pane({ dead: true, deadStatus: 3 }), { ...state, failed: true }, NOW).state).toBe('failed');
    expect(observeAgent(agent, pane({ dead: true, deadSignal: 9 }), undefined, NOW)).toMatchObject({
      state: 'dead',
      lastExitStatus: 137,
      panePid: null,
    });
  });

  it('repairs a death only when the hook cannot be coming', () => {
    const state = freshRunState('a', 'a', DEFAULT_RESTART_POLICY);
    expect(needsReconcile(pane(), state, NOW)).toBe(false);
    // No pane_dead_time: tmux never ran the hook for this death.
    expect(needsReconcile(pane({ dead: true }), state, NOW)).toBe(true);
    // Hook ran just now: give it time; later, take over.
    expect(needsReconcile(pane({ dead: true, deadTime: NOW / 1000 }), state, NOW + 500)).toBe(false);
    expect(needsReconcile(pane({ dead: true, deadTime: NOW / 1000 }), state, NOW + 5000)).toBe(true);
    // Already handled (same dead PID) or given up: nothing to do.
    expect(needsReconcile(pane({ dead: true }), { ...state, handledPid: 100 }, NOW)).toBe(false);
    expect(needsReconcile(pane({ dead: true }), { ...state, failed: true }, NOW)).toBe(false);
  });
});
