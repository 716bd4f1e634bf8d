import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRoster } from './load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { loadRosterCached } from './cache.js';

/** The cache entries in `runDir`, by file name. */
const entries = (runDir: string): string[] => readdirSync(runDir).filter((name) => name.startsWith('roster-cache'));
/** The path of the only cache entry. */
function onlyEntry(runDir: string): string {
  expect(entries(runDir)).toHaveLength(1);
  return path.join(runDir, entries(runDir)[0]!);
}
/** Marks an entry's roster, so a load that returns the mark came from that entry. */
function doctor(entry: string, tenantId: string): void {
  const cache = JSON.parse(readFileSync(entry, 'utf8')) as Record<string, unknown> & { roster: Record<string, unknown> };
  writeFileSync(entry, JSON.stringify({ ...cache, roster: { ...cache.roster, tenantId } }));
}

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function setup(): { file: string; runDir: string; options: Parameters<typeof loadRosterCached>[2] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-rc-'));
  dirs.push(dir);
  const file = path.join(dir, 'roster.yaml');
  writeFileSync(
    file,
    'version: 1\ntransport: tmux\ntmux:\n  socket_name: s\nagents:\n  - name: a\n    runtime: stub\n    working_directory: ~/w\n',
  );
  return {
    file,
    runDir: path.join(dir, 'run'),
    options: { env: { HOME: '/home/one' }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 'me' },
  };
}

describe('cached roster for the send path', () => {
  it('returns exactly what the full loader returns, from the cache the second time', async () => {
    const { file, runDir, options } = setup();
    const full = await loadRoster(file, options);
    expect(await loadRosterCached(file, runDir, options)).toEqual(full);
    // Prove the second answer comes from the cache: doctor it and see the doctored value.
    doctor(onlyEntry(runDir), 'from-cache');
    expect((await loadRosterCached(file, runDir, options)).tenantId).toBe('from-cache');
  });

  it('reloads when the roster or an input of the loader changes', async () => {
    const { file, runDir, options } = setup();
    await loadRosterCached(file, runDir, options);
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: a', 'name: b'));
    expect((await loadRosterCached(file, runDir, options)).agents[0]!.name).toBe('b');
    const moved = await loadRosterCached(file, runDir, { ...options, env: { HOME: '/home/two' } });
    expect(moved.agents[0]!.workingDirectory).toBe('/home/two/w');
    expect((await loadRosterCached(file, runDir, { ...options, defaultTenant: 'other' })).tenantId).toBe('other');
  });

  it("keeps one entry per environment: the fleet's own runs (MOSAIC_TMUX_SOCKET set) and the operator's do not evict each other", async () => {
    const { file, runDir, options } = setup();
    const fleetSide = { ...options, env: { ...options.env, MOSAIC_TMUX_SOCKET: 's' } };
    await loadRosterCached(file, runDir, options);
    const operatorEntry = onlyEntry(runDir);
    doctor(operatorEntry, 'operator-entry');
    await loadRosterCached(file, runDir, fleetSide);
    const fleetEntry = path.join(
      runDir,
      entries(runDir).find((name) => path.join(runDir, name) !== operatorEntry)!,
    );
    doctor(fleetEntry, 'fleet-entry');
    // Alternating, each is answered from its own entry (a single shared entry would have been
    // rewritten by the other's load, and the marks lost).
    for (let i = 0; i < 2; i += 1) {
      expect((await loadRosterCached(file, runDir, options)).tenantId).toBe('operator-entry');
      expect((await loadRosterCached(file, runDir, fleetSide)).tenantId).toBe('fleet-entry');
    }
    expect(entries(runDir)).toHaveLength(2);
  });

  it('removes, when it writes an entry, other entries not written for a day and the single file of older formats', async () => {
    const { file, runDir, options } = setup();
    await loadRosterCached(file, runDir, options);
    const kept = onlyEntry(runDir);
    mkdirSync(runDir, { recursive: true });
    const old = path.join(runDir, 'roster-cache-0000beef.json');
    const legacy = path.join(runDir, 'roster-cache.json');
    writeFileSync(old, '{}');
    writeFileSync(legacy, '{}');
    const twoDaysAgo = Date.now() / 1000 - 2 * 24 * 3600;
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    // A miss (the roster changed) writes the entry again and tidies up.
    writeFileSync(file, `${readFileSync(file, 'utf8')}# edited\n`);
    await loadRosterCached(file, runDir, options);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(legacy)).toBe(false);
    expect(existsSync(kept)).toBe(true);
    // An entry of another environment written within the day stays.
    await loadRosterCached(file, runDir, { ...options, env: { ...options.env, MOSAIC_TMUX_SOCKET: 's' } });
    writeFileSync(file, `${readFileSync(file, 'utf8')}# again\n`);
    await loadRosterCached(file, runDir, options);
    expect(entries(runDir)).toHaveLength(2);
  });

  it('tells apart rosters whose bytes differ where UTF-8 decoding would not (the bytes themselves are the key)', async () => {
    const { file, runDir, options } = setup();
    const text = readFileSync(file);
    writeFileSync(file, Buffer.concat([text, Buffer.from('# \xff\n', 'latin1')]));
    await loadRosterCached(file, runDir, options);
    doctor(onlyEntry(runDir), 'from-cache');
    expect((await loadRosterCached(file, runDir, options)).tenantId).toBe('from-cache');
    // 0xff and 0xfe both decode to U+FFFD: only a byte-exact key sees the change.
    writeFileSync(file, Buffer.concat([text, Buffer.from('# \xfe\n', 'latin1')]));
    expect((await loadRosterCached(file, runDir, options)).tenantId).toBe('me');
  });

  it('loads again in full when a persona file the roster names was deleted (the loader requires it)', async () => {
    const { file, runDir, options } = setup();
    const persona = path.join(path.dirname(file), 'persona.md');
    writeFileSync(persona, 'You review code.\n');
    writeFileSync(file, `${readFileSync(file, 'utf8')}    persona_file: ${persona}\n`);
    expect((await loadRosterCached(file, runDir, options)).agents[0]!.personaFile).toBe(persona);
    expect((await loadRosterCached(file, runDir, options)).requiredFiles).toEqual([persona]);
    rmSync(persona);
    await expect(loadRoster(file, options)).rejects.toThrow(/persona file .* does not exist/);
    await expect(loadRosterCached(file, runDir, options)).rejects.toThrow(/persona file .* does not exist/);
  });

  it('reports a broken roster the way the loader does, and a missing one too', async () => {
    const { file, runDir, options } = setup();
    writeFileSync(file, 'version: 1\nagents: [oops\n');
    await expect(loadRosterCached(file, runDir, options)).rejects.toThrow(/roster .* is invalid/);
    await expect(loadRosterCached(`${file}.missing`, runDir, options)).rejects.toThrow(/no roster at/);
  });
});
