import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseResetTime } from '../../src/runtimes/detectors/limit.js';

const SCRIPT = path.resolve(import.meta.dirname, '..', '..', 'framework', 'bin', 'mosaic-limit');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function world(env: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-limit-'));
  dirs.push(dir);
  const hb = path.join(dir, 'a.hb');
  const run = (args: string[], input = '') =>
    spawnSync('sh', [SCRIPT, ...args], {
      input,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        TZ: 'UTC',
        MOSAIC_HEARTBEAT_FILE: hb,
        MOSAIC_AGENT_RUNTIME: 'claude',
        MOSAIC_AGENT_NAME: 'r1',
        ...env,
      },
    });
  const limit = (): Record<string, string> | undefined =>
    existsSync(`${hb}.limit`)
      ? Object.fromEntries(
          readFileSync(`${hb}.limit`, 'utf8')
            .trim()
            .split(' ')
            .map((f) => f.split('=', 2) as [string, string]),
        )
      : undefined;
  return { dir, hb, run, limit };
}

const stopFailure = (error: string, message: string): string =>
  JSON.stringify({ session_id: 's-1', hook_event_name: 'StopFailure', error, error_details: 'x', last_assistant_message: message });

describe('mosaic-limit: the .limit file', () => {
  it('hook: claude StopFailure "rate_limit" writes one line; other errors write nothing; clear removes it', () => {
    const { run, limit, hb } = world();
    expect(run(['hook'], stopFailure('authentication_failed', 'Invalid API key')).status).toBe(0);
    expect(limit()).toBeUndefined();
    run(['hook'], stopFailure('rate_limit', "You've hit your weekly limit · resets Dec 4, 2099, 3pm (Europe/Berlin)"));
    expect(readFileSync(`${hb}.limit`, 'utf8')).toMatch(
      /^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z resets_at=2099-12-04T14:01:00Z source=hook runtime=claude detail=weekly_limit\n$/,
    );
    run(['hook'], stopFailure('rate_limit', 'API Error: Request rejected (429) · {"type":"error","error":{"message":"slow down"}}'));
    expect(limit()).toMatchObject({ resets_at: '-', detail: 'rate_limit_429' });
    run(['clear']);
    expect(limit()).toBeUndefined();
    expect(run(['clear']).status).toBe(0);
  });

  it('reads the same reset times as the screen detector (src/runtimes/detectors/limit.ts)', () => {
    const { run, limit } = world();
    const texts = [
      'API Error: Request rejected (429) · This request would exceed the rate limit. Please try again in 3600s.',
      "You've hit your session limit · resets 10:08am (UTC)",
      "You've hit your session limit · resets 3pm (America/New_York)",
      "You've hit your Opus limit · resets Jan 2, 2099, 9:05am (UTC)",
      'rate limited; try again in 1h2m3s',
      'retry after 59m 48s',
      'retry in 5 minutes and 3 seconds',
      'resets at 2099-12-03T12:00:00Z',
      'Try again at 4:05 PM.',
    ];
    for (const text of texts) {
      const now = new Date();
      run(['hook'], stopFailure('rate_limit', text));
      const expected = parseResetTime(text, now);
      const got = limit()?.resets_at ?? '-';
      expect(got, text).not.toBe('-');
      // The file has whole seconds; the script's clock runs a little later.
      expect(Math.abs(Date.parse(got) - expected!.getTime()), `${text}: ${got} vs ${expected!.toISOString()}`).toBeLessThanOrEqual(2000);
    }
  });

  it('statusline: prints a short line; a window at 100% writes its exact reset, all under 100% remove what it wrote', () => {
    const { run, limit } = world();
    const line = (rateLimits: unknown) => JSON.stringify({ model: { id: 'claude-x' }, rate_limits: rateLimits });
    let out = run(['statusline'], line({ five_hour: { used_percentage: 42, resets_at: 4102444800 } }));
    expect(out.stdout).toBe('r1 · 5h 42%\n');
    expect(limit()).toBeUndefined();
    out = run(
      ['statusline'],
      line({ five_hour: { used_percentage: 100, resets_at: 4102444800 }, seven_day: { used_percentage: 12.5, resets_at: 4103000000 } }),
    );
    expect(out.stdout).toBe('r1 · 5h 100% · 7d 12%\n');
    expect(limit()).toMatchObject({ resets_at: '2100-01-01T00:00:00Z', source: 'statusline', detail: 'five_hour_100pct' });
    run(
      ['statusline'],
      line({ five_hour: { used_percentage: 100, resets_at: 4102444800 }, seven_day: { used_percentage: 100, resets_at: 4103000000 } }),
    );
    expect(limit()).toMatchObject({ resets_at: '2100-01-07T10:13:20Z', detail: 'seven_day_100pct' });
    // No rate_limits (an API key): nothing changes.
    expect(run(['statusline'], JSON.stringify({ model: { id: 'claude-x' } })).stdout).toBe('r1\n');
    expect(limit()?.detail).toBe('seven_day_100pct');
    run(['statusline'], line({ five_hour: { used_percentage: 3, resets_at: 4102444800 } }));
    expect(limit()).toBeUndefined();
    // A limit the hook wrote is not the status line's to clear.
    run(['hook'], stopFailure('rate_limit', 'API Error: Request rejected (429)'));
    run(['statusline'], line({ five_hour: { used_percentage: 3, resets_at: 4102444800 } }));
    expect(limit()?.source).toBe('hook');
  });

  it('set: ISO, epoch seconds or milliseconds, or text; the runtime from MOSAIC_AGENT_RUNTIME', () => {
    const { run, limit } = world({ MOSAIC_AGENT_RUNTIME: 'opencode' });
    run(['set', 'hook', 'rate_limit', '2099-01-01T00:00:00.500Z']);
    expect(limit()).toMatchObject({ resets_at: '2099-01-01T00:00:00Z', source: 'hook', runtime: 'opencode', detail: 'rate_limit' });
    run(['set', 'hook', 'usage_limit', '4102444800123']);
    expect(limit()).toMatchObject({ resets_at: '2100-01-01T00:00:00Z', detail: 'usage_limit' });
    run(['set', 'hook', 'usage_limit', '4102444800']);
    expect(limit()?.resets_at).toBe('2100-01-01T00:00:00Z');
    run(['set', 'hook', 'rate_limit_429', '429 The usage limit has been reached']);
    expect(limit()?.resets_at).toBe('-');
  });

  it('without MOSAIC_HEARTBEAT_FILE: writes nothing, never fails, still prints a status line', () => {
    const { dir } = world();
    const env = { PATH: process.env.PATH };
    expect(spawnSync('sh', [SCRIPT, 'hook'], { input: stopFailure('rate_limit', 'x'), env, cwd: dir }).status).toBe(0);
    expect(spawnSync('sh', [SCRIPT, 'statusline'], { input: '{}', env, encoding: 'utf8' }).stdout).toBe('mosaic\n');
  });
});
