import { describe, expect, it } from 'vitest';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { parseRoster, RosterError } from './load.js';

const options = (env: NodeJS.ProcessEnv = {}) => ({
  env: { HOME: '/home/u', ...env },
  knownRuntimes: BUILTIN_RUNTIMES,
  defaultTenant: 'u',
});

describe('roster parsing', () => {
  it('accepts camelCase, fills defaults and expands ~ and relative paths', () => {
    const roster = parseRoster(
      `version: 1
transport: tmux
tenantId: acme
tmux: { socketName: sock, holderSession: keep }
heartbeat: { intervalSeconds: 2 }
defaults: { workingDirectory: "~/code" }
runtimes: { pi: { resetCommand: /new } }
agents:
  - { name: a, runtime: pi, modelHint: fast, resetBetweenTasks: true, kickstartTemplate: go }
  - { name: b.c, runtime: stub, working_directory: rel/dir }
`,
      '/etc/fleet/roster.yaml',
      options(),
    );
    expect(roster).toMatchObject({
      tenantId: 'acme',
      socketName: 'sock',
      holderSession: 'keep',
      heartbeatIntervalSeconds: 2,
      supervisor: 'builtin',
    });
    expect(roster.agents[0]).toMatchObject({
      name: 'a',
      workingDirectory: '/home/u/code',
      modelHint: 'fast',
      resetBetweenTasks: true,
      kickstartTemplate: 'go',
    });
    expect(roster.agents[1]).toMatchObject({ name: 'b.c', session: 'b_c', workingDirectory: '/etc/fleet/rel/dir' });
    expect(roster.runtimes.pi?.resetCommand).toBe('/new');
  });

  it('takes the socket from MOSAIC_TMUX_SOCKET and the tenant from the login name', () => {
    const roster = parseRoster(
      'version: 1\ntransport: tmux\nagents: [{name: a, runtime: stub}]\n',
      'r.yaml',
      options({ MOSAIC_TMUX_SOCKET: 'override' }),
    );
    expect(roster.socketName).toBe('override');
    expect(roster.tenantId).toBe('u');
    expect(roster.restart).toEqual({ backoffInitialMs: 1000, backoffMaxMs: 60000, maxCrashes: 5, windowSeconds: 120, fleetMaxCrashes: 10 });
  });

  it('a custom runtime needs a command and gets one', () => {
    const roster = parseRoster(
      'version: 1\ntransport: tmux\nruntimes: {mine: {command: ["~/bin/agent", "--x"]}}\nagents: [{name: a, runtime: mine}]\n',
      'r.yaml',
      options(),
    );
    expect(roster.runtimes.mine?.command).toEqual(['/home/u/bin/agent', '--x']);
  });

  it('reports every problem at once with positions', () => {
    try {
      parseRoster(
        'version: 1\ntransport: tmux\nagents:\n  - {name: "x y", runtime: stub}\n  - {name: ok, runtime: nope}\n',
        'r.yaml',
        options(),
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RosterError);
      // Schema errors come first; rule errors only once the schema passes.
      expect((error as RosterError).issues).toEqual([{ line: 4, column: 12, message: 'agents[0].name must match ^[A-Za-z0-9_.-]+$' }]);
    }
  });

  it('reports what is wrong, without the schema keywords behind it (oneOf, property names)', () => {
    const issues = (text: string): unknown => {
      try {
        parseRoster(`version: 1\ntransport: tmux\n${text}agents: []\n`, 'r.yaml', options());
      } catch (error) {
        return (error as RosterError).issues.map((i) => i.message);
      }
      return expect.unreachable();
    };
    expect(issues('hosts:\n  x: {ssh: h, mosaic: []}\n')).toEqual([
      'hosts.x.mosaic must be string',
      'hosts.x.mosaic must NOT have fewer than 1 items',
    ]);
    expect(issues('hosts:\n  "bad host": {ssh: h}\n')).toEqual(['hosts must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$']);
  });

  it('refuses a restart policy out of range, or whose first wait is longer than its longest, at the line', () => {
    const issues = (restart: string) => {
      try {
        parseRoster(`version: 1\ntransport: tmux\nrestart:\n${restart}agents: [{name: a, runtime: stub}]\n`, 'r.yaml', options());
      } catch (error) {
        return (error as RosterError).issues;
      }
      return expect.unreachable();
    };
    expect(issues('  backoff_initial_ms: 90000000000\n  window_seconds: 1e300\n')).toEqual([
      { line: 4, column: 23, message: 'restart.backoff_initial_ms must be <= 86400000' },
      { line: 5, column: 19, message: 'restart.window_seconds must be <= 604800' },
    ]);
    expect(issues('  backoff_initial_ms: 90000\n')).toEqual([
      {
        line: 4,
        column: 23,
        message:
          'restart.backoff_initial_ms (90000) is more than restart.backoff_max_ms (60000, its default): the first wait would be longer than the longest',
      },
    ]);
    expect(issues('  backoffMaxMs: 10\n  backoffInitialMs: 20\n')[0]!.message).toBe(
      'restart.backoff_initial_ms (20) is more than restart.backoff_max_ms (10): the first wait would be longer than the longest',
    );
    // A maximum of 0 is given, not the default.
    expect(issues('  backoff_max_ms: 0\n')[0]!.message).toBe(
      'restart.backoff_initial_ms (1000) is more than restart.backoff_max_ms (0): the first wait would be longer than the longest',
    );
  });

  it("reports an agent using the holder session name at that agent's name, not at tmux:", () => {
    const text = `version: 1
transport: tmux
supervisor: builtin
tmux:
  socket_name: qb-x
agents:
  - name: ok
    runtime: stub
  - name: _holder
    runtime: stub
`;
    expect(() => parseRoster(text, 'r.yaml', options())).toThrow(RosterError);
    try {
      parseRoster(text, 'r.yaml', options());
    } catch (error) {
      expect((error as RosterError).issues).toEqual([
        { line: 9, column: 11, message: 'agent "_holder" uses the holder session name "_holder"' },
      ]);
    }
  });
});
