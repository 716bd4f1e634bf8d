import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHeartbeat } from '../heartbeat/heartbeat.js';
import type { Screen } from '../runtimes/detectors/types.js';
import { combineActivity, needsScreen, reportedActivity, screenActivity } from './activity.js';

const screen = (text: string): Screen => {
  const lines = text.split('\n');
  return { lines, width: 200, height: lines.length, cursorY: 0, alternate: false, dead: false };
};
const fixture = (runtime: string, name: string): Screen =>
  screen(readFileSync(path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'screens', runtime, `${name}.txt`), 'utf8'));

describe('activity from the screen', () => {
  it('reads busy and idle off captured screens of the real TUIs', () => {
    expect(screenActivity('claude', fixture('claude', 'busy')).activity).toBe('busy');
    expect(screenActivity('codex', fixture('codex', 'busy')).activity).toBe('busy');
    expect(screenActivity('opencode', fixture('opencode', 'busy')).activity).toBe('busy');
    expect(screenActivity('claude', fixture('claude', 'idle')).activity).toBe('idle');
    // A status line takes claude's footer ("esc to interrupt"): its spinner line still says busy.
    expect(screenActivity('claude', fixture('claude', 'busy-statusline')).activity).toBe('busy');
    // A finished turn's "✻ Baked for 0s" is not work.
    expect(screenActivity('claude', fixture('claude', 'answered')).activity).toBe('idle');
  });

  it('sees permission prompts as waiting', () => {
    expect(
      screenActivity('codex', screen('  Would you like to run the following command?\n  $ touch x\n› 1. Yes, proceed (y)')).activity,
    ).toBe('waiting');
    expect(screenActivity('opencode', screen('  ┃  △ Permission required\n  ┃   Allow once   Allow always   Reject')).activity).toBe(
      'waiting',
    );
    expect(screenActivity('claude', screen(' Bash command\n   touch x\n Do you want to proceed?\n ❯ 1. Yes')).activity).toBe('waiting');
  });

  it('says unknown for a blank or dead pane', () => {
    expect(screenActivity('claude', screen('\n\n')).activity).toBe('unknown');
    expect(screenActivity('claude', { ...screen('x'), dead: true }).activity).toBe('unknown');
  });
});

describe('combining the runtime report and the screen', () => {
  const now = new Date('2026-11-27T02:00:10Z');
  const beat = (status: string, statusTs = '2026-11-27T02:00:05Z') =>
    parseHeartbeat(`ts=2026-11-27T02:00:09Z pid=1 status=${status} source=runtime status_ts=${statusTs}`);
  const fresh = (status: string) => beat(status, '2026-11-27T02:00:09Z');
  /** What fleet ps / status say for a runtime with this report and screen. */
  const reading = (runtime: string, report: ReturnType<typeof beat>, seen?: Screen) =>
    combineActivity(runtime, reportedActivity(report, runtime), seen, now);

  it('prefers the runtime and says how old its report is', () => {
    expect(reading('claude', beat('busy'))).toMatchObject({ activity: 'busy', source: 'runtime', age_seconds: 5 });
  });

  it('lets the screen say waiting for codex, which has no permission hook', () => {
    const prompt = screen('Would you like to run the following command?');
    expect(reading('codex', beat('busy'), prompt)).toMatchObject({
      activity: 'waiting',
      source: 'screen',
    });
    expect(reading('claude', fresh('busy'), prompt)).toMatchObject({
      activity: 'busy',
      source: 'runtime',
    });
    expect(needsScreen('codex', { activity: 'busy' })).toBe(true);
    expect(needsScreen('claude', { activity: 'idle' })).toBe(false);
    expect(needsScreen('stub', undefined)).toBe(false);
  });

  it('drops a reported wait once its prompt is gone, and an old busy when the screen is idle', () => {
    const idleScreen = fixture('claude', 'idle');
    expect(reading('claude', beat('waiting'), idleScreen)).toMatchObject({
      activity: 'idle',
      source: 'screen',
    });
    // A fresh busy report is trusted while the TUI draws its spinner; an older one yields to an idle screen.
    expect(reading('claude', fresh('busy'), idleScreen)).toMatchObject({
      activity: 'busy',
      source: 'runtime',
    });
    expect(reading('claude', beat('busy'), idleScreen)).toMatchObject({
      activity: 'idle',
      source: 'screen',
    });
  });

  it('falls back to the screen without a report, and ignores heartbeats that are not runtime reports', () => {
    expect(reportedActivity(parseHeartbeat('ts=2026-11-27T02:00:09Z pid=1 status=ok'), 'pi')).toBeUndefined();
    expect(reportedActivity(parseHeartbeat('ts=2026-11-27T02:00:09Z pid=1 status=busy'), 'stub')).toMatchObject({ activity: 'busy' });
    expect(combineActivity('pi', undefined, screen(' ⠼ Working...'), now)).toMatchObject({ activity: 'busy', source: 'screen' });
    expect(combineActivity('pi', undefined, undefined, now)).toMatchObject({ activity: 'unknown', source: 'none' });
  });

  it('an idle reported as the runtime started waits for its input on screen (opencode reports before its TUI draws)', () => {
    const started = (runtime: string, event: string) =>
      reportedActivity(
        parseHeartbeat(`ts=2026-11-27T02:00:09Z pid=1 status=idle event=${event} source=runtime status_ts=2026-11-27T02:00:08Z`),
        runtime,
      );
    for (const [runtime, event] of [
      ['claude', 'SessionStart'],
      ['codex', 'SessionStart'],
      ['pi', 'session_start'],
      ['opencode', 'session.created'],
    ] as const) {
      expect(started(runtime, event), runtime).toMatchObject({ activity: 'idle', starting: true });
      expect(needsScreen(runtime, started(runtime, event)), runtime).toBe(true);
    }
    // The end of a turn is the runtime's word: no screen read for it.
    expect(started('claude', 'Stop')?.starting).toBeUndefined();
    expect(needsScreen('claude', started('claude', 'Stop'))).toBe(false);
    // Nor a start long past (its heartbeat has ticked on for over two minutes): an idle fleet costs no captures.
    const longAgo = reportedActivity(
      parseHeartbeat('ts=2026-11-27T02:02:09Z pid=1 status=idle event=SessionStart source=runtime status_ts=2026-11-27T02:00:08Z'),
      'claude',
    );
    expect(longAgo).toMatchObject({ activity: 'idle' });
    expect(needsScreen('claude', longAgo)).toBe(false);

    const drawing = screen('\n\n                 opencode\n\n');
    expect(screenActivity('opencode', drawing)).toEqual({ activity: 'unknown', detail: 'starting: no opencode input box on screen yet' });
    expect(combineActivity('opencode', started('opencode', 'session.created'), drawing, now)).toMatchObject({
      activity: 'unknown',
      source: 'screen',
    });
    // Drawn: the report stands.
    expect(combineActivity('opencode', started('opencode', 'session.created'), fixture('opencode', 'idle'), now)).toMatchObject({
      activity: 'idle',
      source: 'runtime',
    });
    // Busy already (a kickstart prompt): the screen says so.
    expect(combineActivity('opencode', started('opencode', 'session.created'), fixture('opencode', 'busy'), now)).toMatchObject({
      activity: 'busy',
      source: 'screen',
    });
    // Without any report, a screen with no input is not idle either.
    expect(combineActivity('claude', undefined, drawing, now)).toMatchObject({ activity: 'unknown', source: 'screen' });
  });
});
