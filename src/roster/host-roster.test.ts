import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { hostRosters } from './host-roster.js';
import { parseRoster } from './load.js';

const options = (localHost: string) => ({ env: { HOME: '/home/u' }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 'u', localHost });

const OPERATOR = `version: 1
transport: tmux
tenant_id: acme
supervisor: builtin
tmux: {socket_name: fleet-sock, holder_session: keep}
heartbeat: {interval_seconds: 3}
restart: {backoff_initial_ms: 500, max_crashes: 7}
defaults: {working_directory: "~/work", mode: safe, on_limit: continue}
runtimes:
  tool: {command: [/usr/bin/env, tool], env: {A: "1"}}
notify:
  - {exec: [/usr/bin/true], on: [failed]}
hosts:
  alpha: {ssh: u@alpha.example, port: 2222, timeout_seconds: 5}
  beta: {ssh: beta}
  empty: {ssh: empty.example}
agents:
  - {name: h1, runtime: stub, working_directory: /here}
  - {name: a1, runtime: stub, host: alpha, args: [--x, "it's"], env: {K: v}, class: build}
  - {name: b1, runtime: tool, host: beta, working_directory: /srv/b}
  - {name: a2, runtime: stub, host: alpha, mode: yolo}
  - {name: h2, runtime: stub, host: box, working_directory: /here}
`;

const SHARED = ['version', 'transport', 'supervisor', 'tmux', 'heartbeat', 'restart', 'defaults', 'runtimes', 'notify'];

describe('hostRosters', () => {
  const raw = parse(OPERATOR) as Record<string, unknown>;
  const out = hostRosters(raw, ['alpha', 'beta', 'empty']);

  it('gives each host only its own agents, without host:, in roster order, with everything else they say', () => {
    expect(parse(out.alpha!).agents).toEqual([
      { name: 'a1', runtime: 'stub', args: ['--x', "it's"], env: { K: 'v' }, class: 'build' },
      { name: 'a2', runtime: 'stub', mode: 'yolo' },
    ]);
    expect(parse(out.beta!).agents).toEqual([{ name: 'b1', runtime: 'tool', working_directory: '/srv/b' }]);
  });

  it('gives a host without agents nothing, and no host outside the list', () => {
    expect(Object.keys(out).sort()).toEqual(['alpha', 'beta']);
    expect(hostRosters(raw, [])).toEqual({});
  });

  it('copies the shared sections as they are and leaves out hosts and tenant_id', () => {
    for (const host of ['alpha', 'beta']) {
      const copy = parse(out[host]!) as Record<string, unknown>;
      expect(Object.keys(copy).sort(), host).toEqual([...SHARED, 'agents'].sort());
      for (const key of SHARED) expect(copy[key], `${host}: ${key}`).toEqual(raw[key]);
      expect(copy).not.toHaveProperty('hosts');
      expect(copy).not.toHaveProperty('tenant_id');
    }
    const camel = hostRosters({ version: 1, transport: 'tmux', tenantId: 'x', agents: [{ name: 'a', runtime: 'stub', host: 'h' }] }, ['h']);
    expect(parse(camel.h!)).toEqual({ version: 1, transport: 'tmux', agents: [{ name: 'a', runtime: 'stub' }] });
  });

  it('says where it came from, and does not change the operator roster it was given', () => {
    expect(out.alpha!.startsWith('# Written by mosaic from the operator')).toBe(true);
    expect(raw).toEqual(parse(OPERATOR));
  });

  it("parses back, on the host, as a valid roster of that host's own agents (no hosts there)", () => {
    for (const [host, names] of [
      ['alpha', ['a1', 'a2']],
      ['beta', ['b1']],
    ] as const) {
      const roster = parseRoster(out[host]!, `/home/u/.config/mosaic/fleet/hosts/${host}.yaml`, options(host));
      expect(
        roster.agents.map((a) => a.name),
        host,
      ).toEqual(names);
      expect(roster.hosts).toEqual({});
      expect(roster.remoteAgents).toEqual([]);
      expect(roster.hostRosters).toBeUndefined();
      expect(roster.tenantId).toBe('u'); // the remote user, not the operator's tenant
      expect(roster.socketName).toBe('fleet-sock');
      expect(roster.holderSession).toBe('keep');
      expect(roster.heartbeatIntervalSeconds).toBe(3);
      expect(roster.restart).toMatchObject({ backoffInitialMs: 500, maxCrashes: 7 });
      expect(roster.notify).toEqual([{ exec: ['/usr/bin/true'], on: ['failed'] }]);
      expect(roster.runtimes.tool).toEqual({ command: ['/usr/bin/env', 'tool'], env: { A: '1' } });
    }
    const alpha = parseRoster(out.alpha!, '/r.yaml', options('alpha'));
    // ~ is the host's own HOME, read there.
    expect(alpha.agents[0]).toMatchObject({
      workingDirectory: '/home/u/work',
      args: ['--x', "it's"],
      env: { K: 'v' },
      class: 'build',
      onLimit: 'continue',
    });
    expect(alpha.agents[1]).toMatchObject({ mode: 'yolo' });
  });

  it('is what the loader hands each host of an operator roster', () => {
    const roster = parseRoster(OPERATOR, '/etc/fleet/roster.yaml', options('box'));
    expect(roster.hostRosters).toEqual(out);
    expect(roster.agents.map((a) => a.name)).toEqual(['h1', 'h2']);
    expect(roster.remoteAgents!.map((a) => `${a.host}/${a.name}`)).toEqual(['alpha/a1', 'beta/b1', 'alpha/a2']);
  });

  it('the loader writes no host rosters when no agent runs elsewhere', () => {
    const roster = parseRoster(
      'version: 1\ntransport: tmux\nhosts:\n  alpha: {ssh: alpha}\nagents:\n  - {name: h1, runtime: stub, working_directory: /w}\n',
      '/r.yaml',
      options('box'),
    );
    expect(roster.hostRosters).toBeUndefined();
  });
});
