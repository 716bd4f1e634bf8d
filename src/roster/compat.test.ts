import { describe, expect, it } from 'vitest';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { parseRoster, RosterError } from './load.js';

const options = { env: { HOME: '/home/u' }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 'u' };
const head = 'version: 1\ntransport: tmux\n';
const agents = 'agents:\n  - name: a\n    runtime: stub\n  - name: b\n    runtime: stub\n    working_directory: /own\n';

describe('upstream roster compatibility', () => {
  it('top-level working_directory is defaults.working_directory, with a warning naming defaults:', () => {
    const roster = parseRoster(`${head}working_directory: ~/src/usc\n${agents}`, '/etc/fleet/usc.yaml', options);
    expect(roster.defaultWorkingDirectory).toBe('/home/u/src/usc');
    expect(roster.agents.map((a) => a.workingDirectory)).toEqual(['/home/u/src/usc', '/own']);
    expect(roster.warnings).toHaveLength(1);
    expect(roster.warnings![0]).toMatch(/^\/etc\/fleet\/usc\.yaml:3: top-level working_directory .*defaults:/);
    // camelCase too
    expect(parseRoster(`${head}workingDirectory: rel\n${agents}`, '/etc/fleet/r.yaml', options).defaultWorkingDirectory).toBe(
      '/etc/fleet/rel',
    );
  });

  it('top-level and defaults.working_directory together are an error pointing at the top-level one', () => {
    const text = `${head}working_directory: /x\ndefaults:\n  working_directory: /y\n${agents}`;
    expect(() => parseRoster(text, '/r.yaml', options)).toThrow(RosterError);
    expect(() => parseRoster(text, '/r.yaml', options)).toThrow(/r\.yaml:3:1: top-level working_directory and defaults\.working_directory/);
  });

  it('a roster without working_directory anywhere has no warnings', () => {
    expect(parseRoster(`${head}${agents}`, '/r.yaml', options).warnings).toEqual([]);
  });

  it('supervisor: explicit is "roster"; absent is "default" (built-in until the fleet layer detects systemd units)', () => {
    expect(parseRoster(`${head}${agents}`, '/r.yaml', options)).toMatchObject({ supervisor: 'builtin', supervisorSource: 'default' });
    for (const kind of ['builtin', 'systemd'] as const) {
      expect(parseRoster(`${head}supervisor: ${kind}\n${agents}`, '/r.yaml', options)).toMatchObject({
        supervisor: kind,
        supervisorSource: 'roster',
      });
    }
  });
});
