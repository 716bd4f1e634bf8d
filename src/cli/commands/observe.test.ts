import { describe, expect, it } from 'vitest';
import type { PsRecord, PsReport } from '../../fleet/ps.js';
import { UsageError } from '../../core/errors.js';
import { formatSeconds, parseInterval, psText } from './observe.js';

const record = (over: Partial<PsRecord>): PsRecord => ({
  tenant_id: 't',
  host: 'h',
  agent: 'a',
  session: 'a',
  runtime: 'pi',
  class: null,
  supervisor: 'systemd',
  state: 'running',
  unit: { name: 'mosaic-agent@a.service', load_state: 'loaded', active_state: 'active', sub_state: 'exited', unit_file_state: 'disabled' },
  pane: 'dead',
  pane_id: '%1',
  pane_pid: null,
  exit_status: 137,
  agent_pid: null,
  current_command: null,
  pane_command: null,
  idle_seconds: 125,
  heartbeat: { health: 'stale', age_seconds: 4000, status: 'ok', pid: 9 },
  restarts: 2,
  failed_reason: null,
  activity: 'unknown',
  status_source: 'none',
  activity_detail: 'agent is dead',
  reason: null,
  attention: { state: 'error', since: null, detail: "the agent's process exited (dead)" },
  mode: 'safe',
  model: null,
  session_id: null,
  flags: ['boot'],
  reachable: true,
  stale_seconds: null,
  reasons: { boot: 'mosaic-agent@a.service is active but not enabled' },
  ...over,
});

describe('fleet ps text', () => {
  it('formats durations compactly', () => {
    expect([formatSeconds(null), formatSeconds(4.4), formatSeconds(125), formatSeconds(4000), formatSeconds(200_000)]).toEqual([
      '-',
      '4s',
      '2m',
      '1h',
      '2d',
    ]);
  });

  it('prints one row per record and the reasons under the table', () => {
    const report: PsReport = {
      tenant_id: 't',
      host: 'h',
      socket: 's',
      supervisor: 'systemd',
      systemd_error: null,
      holder: 'alive',
      records: [record({})],
    };
    const text = psText(report);
    expect(text.split('\n')[0]).toBe('fleet of t@h on socket s (systemd supervisor, holder alive)');
    expect(text).toMatch(
      /^a\s+error\s+t\s+h\s+pi\s+-\s+safe\s+-\s+running\s+-\s+active\/disabled\s+dead\(137\)\s+-\s+-\s+-\s+2m\s+stale 1h\s+2\s+boot$/m,
    );
    expect(text).toContain('  a: boot: mosaic-agent@a.service is active but not enabled');
    expect(text.endsWith("  a needs you: the agent's process exited (dead)")).toBe(true);
    expect(psText({ ...report, records: [], systemd_error: 'no bus' })).toMatch(
      /systemd: no bus; unit states unknown\nno agents in the roster/,
    );
  });
});

describe('parseInterval (fleet ps --watch --interval)', () => {
  it('takes plain decimal seconds from 0.2 to 3600', () => {
    expect(['2', '0.5', '0.2', '3600', '1.25'].map(parseInterval)).toEqual([2, 0.5, 0.2, 3600, 1.25]);
  });

  it('refuses what only Number() would read as a number, and what is out of range', () => {
    for (const value of ['0x10', '1e1', ' 3', '+2', '.5', '2.', '', 'abc', '0', '0.1', '3601', 'Infinity']) {
      expect(() => parseInterval(value), value).toThrow(UsageError);
    }
  });
});
