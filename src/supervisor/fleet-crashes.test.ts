import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clearFleetCrashes, fleetCrashesFile, recordFleetCrash } from './fleet-crashes.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const runDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-fleet-crashes-'));
  dirs.push(dir);
  return dir;
};

describe('the fleet-wide crash record', () => {
  it('counts the crashes inside the window, this one included, across agents', async () => {
    const dir = runDir();
    expect(await recordFleetCrash(dir, 'a', 1_000_000, 60)).toBe(1);
    expect(await recordFleetCrash(dir, 'b', 1_010_000, 60)).toBe(2);
    expect(await recordFleetCrash(dir, 'a', 1_061_000, 60)).toBe(2); // the first one left the window
    clearFleetCrashes(dir);
    expect(await recordFleetCrash(dir, 'c', 1_062_000, 60)).toBe(1);
  });

  it('prunes old lines once it grows past its bound', async () => {
    const dir = runDir();
    writeFileSync(fleetCrashesFile(dir), Array.from({ length: 2500 }, (_, i) => `${i} old\n`).join(''));
    expect(await recordFleetCrash(dir, 'a', 5_000_000, 60)).toBe(1);
    expect(readFileSync(fleetCrashesFile(dir), 'utf8')).toBe('5000000 a\n');
  });
});
