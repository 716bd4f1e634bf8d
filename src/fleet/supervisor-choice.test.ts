import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetContext } from '../context/context.js';
import type { Roster } from '../roster/model.js';
import { unitNames } from '../systemd/names.js';
import { rosterHeaderLine } from '../systemd/names.js';
import { describeSupervisor, resolveSupervisor } from './supervisor-choice.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A context whose user unit directory holds an enabled holder unit rendered for /cfg/roster.yaml. */
function ctxWith(roster: Partial<Roster>): FleetContext {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosaic-choice-'));
  dirs.push(dir);
  const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_RUNTIME_DIR: path.join(dir, 'r') };
  const unitDir = path.join(dir, 'c', 'systemd', 'user');
  const holder = unitNames(env).holder;
  mkdirSync(path.join(unitDir, 'default.target.wants'), { recursive: true });
  writeFileSync(path.join(unitDir, holder), `# Holder unit\n${rosterHeaderLine('/cfg/roster.yaml')}\n[Unit]\n`);
  symlinkSync(path.join(unitDir, holder), path.join(unitDir, 'default.target.wants', holder));
  const full = { file: '/cfg/roster.yaml', supervisor: 'builtin', supervisorSource: 'default', ...roster } as Roster;
  return { host: { env, uid: 0 }, roster: full } as unknown as FleetContext;
}

describe('resolving the supervisor of a roster', () => {
  it('no supervisor: line and enabled units for this roster: systemd, source "detected"', () => {
    const resolved = resolveSupervisor(ctxWith({}));
    expect(resolved.roster).toMatchObject({ supervisor: 'systemd', supervisorSource: 'detected' });
    expect(describeSupervisor(resolved.roster)).toMatch(/^systemd supervisor, detected: no supervisor: in the roster, .*enabled$/);
  });

  it('an explicit supervisor: builtin is kept whatever is installed (and nothing is probed)', () => {
    const ctx = ctxWith({ supervisorSource: 'roster' });
    expect(resolveSupervisor(ctx)).toBe(ctx);
    expect(describeSupervisor(ctx.roster)).toBe('builtin supervisor');
  });

  it('no supervisor: line, units for another roster: built-in, source "default"', () => {
    const ctx = ctxWith({ file: '/other/roster.yaml' });
    expect(resolveSupervisor(ctx).roster).toMatchObject({ supervisor: 'builtin', supervisorSource: 'default' });
    expect(describeSupervisor(ctx.roster)).toMatch(
      /^builtin supervisor, by default: no supervisor: in the roster and no enabled systemd units/,
    );
  });
});
