import { describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { parseRoster } from '../roster/load.js';
import type { AgentSpec, Roster } from '../roster/model.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { asRosterHost, splitTargets } from './hosts.js';

const options = (localHost: string) => ({ env: { HOME: '/home/u' }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 'u', localHost });

/** here: h1, h2 on this machine (box.lan); alpha: a1, a2; beta: b1. */
const threeHosts = (): Roster =>
  parseRoster(
    `version: 1
transport: tmux
hosts:
  alpha: {ssh: u@alpha.example}
  beta: {ssh: beta}
  idle: {ssh: idle.example}
agents:
  - {name: h1, runtime: stub, working_directory: /w}
  - {name: a1, runtime: stub, host: alpha}
  - {name: h2, runtime: stub, host: box, working_directory: /w}
  - {name: b1, runtime: stub, host: beta}
  - {name: a2, runtime: stub, host: alpha}
`,
    '/etc/fleet/roster.yaml',
    options('box.lan'),
  );

const names = (agents: AgentSpec[]): string[] => agents.map((agent) => agent.name);
const remote = (map: Map<string, string[]>): Record<string, string[]> => Object.fromEntries(map);

describe('splitTargets', () => {
  it('no names: every local agent, and every host that has agents with [] (all of its agents)', () => {
    const roster = threeHosts();
    const targets = splitTargets(roster, []);
    expect(names(targets.local)).toEqual(['h1', 'h2']);
    expect(targets.local).toBe(roster.agents);
    // A host with no agents is not asked.
    expect(remote(targets.remote)).toEqual({ alpha: [], beta: [] });
    expect([...targets.remote.keys()]).toEqual(['alpha', 'beta']);
  });

  it('plain names go to the host that runs them, in roster order here', () => {
    const targets = splitTargets(threeHosts(), ['a2', 'h2', 'b1', 'h1', 'a1']);
    expect(names(targets.local)).toEqual(['h1', 'h2']);
    expect(remote(targets.remote)).toEqual({ alpha: ['a2', 'a1'], beta: ['b1'] });
  });

  it('host/agent names the agent on that host', () => {
    const targets = splitTargets(threeHosts(), ['alpha/a1', 'beta/b1']);
    expect(targets.local).toEqual([]);
    expect(remote(targets.remote)).toEqual({ alpha: ['a1'], beta: ['b1'] });
  });

  it("this machine's full or short name names a local agent", () => {
    for (const given of [['box/h1'], ['box.lan/h1'], ['h1']]) {
      const targets = splitTargets(threeHosts(), given);
      expect(names(targets.local), given[0]).toEqual(['h1']);
      expect(targets.remote.size, given[0]).toBe(0);
    }
    expect(names(splitTargets(threeHosts(), ['box/h2', 'box.lan/h1']).local)).toEqual(['h1', 'h2']);
  });

  it('a name given twice locally is one target', () => {
    expect(names(splitTargets(threeHosts(), ['h1', 'box/h1']).local)).toEqual(['h1']);
  });

  it('only local names: no host is asked', () => {
    expect(splitTargets(threeHosts(), ['h2']).remote.size).toBe(0);
  });

  it('unknown names are one error listing every unknown and every known name', () => {
    let caught: unknown;
    try {
      splitTargets(threeHosts(), ['h1', 'nope', 'alpha/a1', 'ghost/x']);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UserError);
    const message = (caught as Error).message;
    expect(message).toMatch(/^agents "nope", "ghost\/x" not in roster \/etc\/fleet\/roster\.yaml/);
    expect(message).toContain('(known: h1, h2, alpha/a1, beta/b1, alpha/a2)');
    expect(() => splitTargets(threeHosts(), ['zzz'])).toThrow(/^agent "zzz" not in roster/);
  });

  it('an agent named under the wrong host is unknown', () => {
    for (const given of [
      'beta/a1',
      'alpha/b1',
      'alpha/h1',
      'box/a1',
      'box.lan/b1',
      'idle/a1',
      'other.lan/h1',
      '/a1',
      'alpha/',
      'box.other/h1',
    ]) {
      expect(() => splitTargets(threeHosts(), [given]), given).toThrow(
        new RegExp(`^agent "${given.replace(/[./]/g, '\\$&')}" not in roster`),
      );
    }
  });

  it('works on a roster built in code without hosts', () => {
    const agent: AgentSpec = { name: 'solo', session: 'solo', runtime: 'stub', workingDirectory: '/w', args: [], mode: 'safe', line: 1 };
    const roster: Roster = {
      file: '/r.yaml',
      version: 1,
      tenantId: 'u',
      supervisor: 'builtin',
      socketName: 's',
      holderSession: '_holder',
      heartbeatIntervalSeconds: 15,
      restart: { backoffInitialMs: 1, backoffMaxMs: 1, maxCrashes: 1, windowSeconds: 1, fleetMaxCrashes: 1 },
      defaultWorkingDirectory: '/w',
      runtimes: {},
      agents: [agent],
    };
    expect(splitTargets(roster, [])).toEqual({ local: [agent], remote: new Map() });
    expect(names(splitTargets(roster, ['solo']).local)).toEqual(['solo']);
    expect(() => splitTargets(roster, ['x/solo'])).toThrow(UserError);
  });
});

describe('asRosterHost', () => {
  it("stamps every row with the roster's name for the host, without touching the input", () => {
    const rows = [{ host: 'alpha.internal', agent: 'a1' }, { agent: 'a2' }];
    expect(asRosterHost(rows, 'alpha')).toEqual([
      { host: 'alpha', agent: 'a1' },
      { host: 'alpha', agent: 'a2' },
    ]);
    expect(rows[0]!.host).toBe('alpha.internal');
  });
});

describe('selectAgents and the roster loader with hosts', () => {
  it('takes `<this host>/agent` for an agent of this machine (short or full name)', async () => {
    const { selectAgents } = await import('../context/context.js');
    const roster = threeHosts();
    expect(names(selectAgents(roster, ['box/h1', 'box.lan/h2']))).toEqual(['h1', 'h2']);
    expect(() => selectAgents(roster, ['alpha/h1'])).toThrow(/not in roster/);
  });

  it('refuses paths of other hosts that are relative to this roster (working directory, persona, shared defaults)', () => {
    const load = (body: string) => () =>
      parseRoster(`version: 1\ntransport: tmux\nhosts:\n  alpha: {ssh: alpha}\n${body}`, '/etc/fleet/roster.yaml', options('box'));
    expect(load('agents:\n  - {name: a1, runtime: stub, host: alpha, working_directory: rel/dir}\n')).toThrow(
      /working directory "rel\/dir" must be absolute or start with ~\//,
    );
    expect(load('agents:\n  - {name: a1, runtime: stub, host: alpha, persona_file: p.md}\n')).toThrow(
      /persona_file "p.md" must be absolute/,
    );
    expect(load('defaults:\n  persona_file: p.md\nagents:\n  - {name: a1, runtime: stub, host: alpha}\n')).toThrow(
      /defaults.persona_file "p.md" is shared with other hosts/,
    );
    expect(load('agents:\n  - {name: a1, runtime: stub, host: alpha, working_directory: ~/w, persona_file: /etc/p.md}\n')).not.toThrow();
  });
});
