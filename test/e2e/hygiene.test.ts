import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually } from './harness.js';

/** Every entry under `dir` whose mode is not private (0700 for directories, 0600 for files). */
function notPrivate(dir: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const full = path.join(current, name);
      const stat = statSync(full, { throwIfNoEntry: false });
      if (!stat) continue; // a socket or file removed while we walk
      const mode = stat.mode & 0o777;
      if (stat.isDirectory()) {
        if (mode !== 0o700) found.push(`${path.relative(dir, full)}/ ${mode.toString(8)}`);
        walk(full);
      } else if (stat.isFile() && mode !== 0o600) {
        found.push(`${path.relative(dir, full)} ${mode.toString(8)}`);
      }
    }
  };
  walk(dir);
  return found;
}

describe('private files', () => {
  it('everything mosaic writes under its home is 0600, every directory 0700 (after starts, sends, a crash, ps and a stop)', async () => {
    const fleet = createFleet();
    const init = await fleet.mosaic(['fleet', 'init', '--profile', 'stub', '--write']);
    expect(init.status, init.stderr).toBe(0);
    // Our private socket, and an agent that crashes after its first message (the supervisor's log is written).
    const text = readFileSync(fleet.rosterPath, 'utf8')
      .replace(/socket_name: \S+/, `socket_name: ${fleet.socket}`)
      .replace(/(- name: alpha\n\s+runtime: stub)/, '$1\n    args: [--crash-after, "1"]');
    writeFileSync(fleet.rosterPath, text);
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    expect((await fleet.mosaic(['agent', 'send', 'alpha', '--verify', '-m', 'crash now'])).status).toBe(0);
    await eventually(async () =>
      (await fleet.json<{ agent: string; restarts: number }[]>(['fleet', 'ps'])).find((r) => r.agent === 'alpha')!.restarts >= 1
        ? true
        : undefined,
    );
    expect((await fleet.mosaic(['agent', 'send', 'beta', '--verify', '-m', 'hello'])).status).toBe(0);
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
    expect(readdirSync(path.join(fleet.home, 'logs'))).toContain('supervisor.log');
    expect(notPrivate(fleet.home)).toEqual([]);
  }, 60_000);
});
