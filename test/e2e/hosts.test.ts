import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, roster, type TestFleet } from './harness.js';
import { createSshWorld, type SshWorld } from './sshd.js';

interface Row {
  tenant_id: string;
  host: string;
  agent: string;
  state: string;
  pane: string;
  flags: string[];
  reachable: boolean;
  stale_seconds: number | null;
}

const canNetns = process.getuid?.() === 0;
const HOST_TIMEOUT_S = 10;

/**
 * A fleet of three machines: this one (agent here1), host alpha (a real sshd on loopback) and host
 * beta (a real sshd in its own network namespace), each with its own HOME, TMUX_TMPDIR and mosaic.
 */
async function threeHosts(): Promise<{ fleet: TestFleet; world: SshWorld; env: NodeJS.ProcessEnv }> {
  const fleet = createFleet();
  const world = await createSshWorld({ hosts: [{ name: 'alpha' }, { name: 'beta', netns: canNetns }] });
  mkdirSync(path.join(fleet.dir, 'work'), { recursive: true });
  fleet.writeRoster(
    roster(
      fleet.socket,
      [
        'defaults:',
        '  working_directory: "~"',
        'hosts:',
        // The default (10 s): the roster's first sync runs node and validates it there, which took over
        // 4 s on this shared box under a full suite (2026-12-05).
        `  alpha: {ssh: alpha, timeout_seconds: ${HOST_TIMEOUT_S}}`,
        `  beta: {ssh: beta, timeout_seconds: ${HOST_TIMEOUT_S}}`,
        'agents:',
        `  - {name: here1, runtime: stub, working_directory: ${JSON.stringify(path.join(fleet.dir, 'work'))}}`,
        '  - {name: a1, runtime: stub, host: alpha}',
        '  - {name: a2, runtime: stub, host: alpha}',
        '  - {name: b1, runtime: stub, host: beta}',
        '',
      ].join('\n'),
    ),
  );
  // ssh comes from PATH: the world's wrapper adds its config (keys, known hosts, the namespace proxy).
  const env = { ...fleet.env, PATH: world.env.PATH, XDG_RUNTIME_DIR: world.env.XDG_RUNTIME_DIR };
  return { fleet, world, env };
}

describe('many hosts over OpenSSH (real sshd on loopback, one in its own network namespace)', () => {
  it('starts, lists, messages byte-exact, tails and stops agents on three machines; an unreachable host is shown stale and comes back', async () => {
    const { fleet, world, env } = await threeHosts();
    const mosaic = (args: string[], input?: string) => fleet.mosaic(args, { env, ...(input !== undefined ? { input } : {}) });

    const started = await mosaic(['fleet', 'start', '--json']);
    expect(started.status, started.stderr).toBe(0);
    const outcomes = JSON.parse(started.stdout) as { host: string; agent: string; result: string }[];
    expect(outcomes.map((o) => `${o.host === 'alpha' || o.host === 'beta' ? o.host : 'here'}/${o.agent}:${o.result}`).sort()).toEqual([
      'alpha/a1:started',
      'alpha/a2:started',
      'beta/b1:started',
      'here/here1:started',
    ]);

    // ps merges all three machines; remote rows carry the roster's host names.
    const ps = await mosaic(['fleet', 'ps', '--json']);
    expect(ps.status, ps.stderr).toBe(0);
    const rows = JSON.parse(ps.stdout) as Row[];
    expect(rows.map((r) => `${r.host}/${r.agent}:${r.state}`).filter((r) => !r.startsWith('alpha') && !r.startsWith('beta'))).toEqual([
      `${rows[0]!.host}/here1:running`,
    ]);
    expect(rows.filter((r) => r.host !== rows[0]!.host).map((r) => `${r.host}/${r.agent}:${r.state}:${r.reachable}`)).toEqual([
      'alpha/a1:running:true',
      'alpha/a2:running:true',
      'beta/b1:running:true',
    ]);
    // Each host's agents live in that host's own tmux server, not in ours.
    expect(fleet.tmux(['list-sessions', '-F', '#{session_name}']).stdout.split('\n').filter(Boolean).sort()).toEqual(['_holder', 'here1']);
    const alphaSessions = await world.ssh('alpha', `tmux -L ${fleet.socket} list-sessions -F '#{session_name}'`);
    expect(alphaSessions.stdout.split('\n').filter(Boolean).sort()).toEqual(['_holder', 'a1', 'a2']);

    // A 100 KB hostile body to an agent on the namespaced host, verified there, byte-exact.
    const hostile = `it's "q" $(touch /tmp/pwned) \`id\` ; | & < > \\ ✓ \t end\n`;
    const body = (hostile.repeat(Math.ceil(100_000 / Buffer.byteLength(hostile))) + 'LAST').slice(0, 100_000);
    const sent = await mosaic(['agent', 'send', 'beta/b1', '--verify', '--json'], body);
    expect(sent.status, `${sent.stdout}\n${sent.stderr}`).toBe(0);
    const verdict = JSON.parse(sent.stdout) as { host: string; agent: string; status: string; bytes: number; detail: string };
    expect(verdict).toMatchObject({ host: 'beta', agent: 'b1', status: 'accepted' });
    expect(verdict.detail).toMatch(/bytes and checksum match/);
    // By plain name too, with --message: the stub on alpha acknowledges exactly these bytes.
    const short = await mosaic(['agent', 'send', 'a2', '--verify', '--json', '--message', `two\nlines ${hostile}`]);
    expect(short.status, short.stderr).toBe(0);
    expect(JSON.parse(short.stdout)).toMatchObject({ host: 'alpha', agent: 'a2', status: 'accepted' });

    // A broadcast to this host's agent (named with its host) and one remote agent reaches exactly those two.
    const here = rows[0]!.host;
    const cast = await mosaic(['agent', 'broadcast', `${here}/here1`, 'alpha/a1', '--verify', '--json', '--message', 'to two']);
    expect(cast.status, cast.stderr).toBe(0);
    expect(
      (JSON.parse(cast.stdout) as { host: string; agent: string; status: string }[]).map((r) => `${r.host}/${r.agent}:${r.status}`).sort(),
    ).toEqual([`alpha/a1:accepted`, `${here}/here1:accepted`].sort());

    // host check: both reachable, the same mosaic, tmux on the non-interactive PATH.
    const checked = await mosaic(['host', 'check', '--json']);
    expect(checked.status, checked.stderr).toBe(0);
    const checks = JSON.parse(checked.stdout) as { host: string; ok: boolean; reachable: boolean; mosaic_version: string; tmux: string }[];
    expect(checks.map((c) => [c.host, c.ok, c.reachable, c.mosaic_version === checks[0]!.mosaic_version, /^tmux \d/.test(c.tmux)])).toEqual(
      [
        ['alpha', true, true, true, true],
        ['beta', true, true, true, true],
      ],
    );
    const status = await mosaic(['agent', 'status', 'b1', '--json']);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ host: 'beta', agent: 'b1', state: 'running' });

    // tail and logs of a remote agent come from that host.
    const tail = await mosaic(['agent', 'tail', 'alpha/a2', '-n', '200']);
    expect(tail.status, tail.stderr).toBe(0);
    expect(tail.stdout).toContain('two');
    const logs = await mosaic(['agent', 'logs', 'a2', '-n', '200', '--strip-ansi']);
    expect(logs.status, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('lines');
    // So does show (it said: agent "a2" not in roster … (known: here1)); done and rm answer there too.
    const shown = await mosaic(['agent', 'show', 'alpha/a2', '--json']);
    expect(shown.status, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ agent: 'a2', origin: 'roster', status: { state: 'running' } });
    const done = await mosaic(['agent', 'done', 'a2']);
    expect([done.status, done.stderr]).toEqual([1, expect.stringContaining('agent "a2" has no worktree')]);
    const rm = await mosaic(['agent', 'rm', 'a2']);
    expect([rm.status, rm.stderr]).toEqual([1, expect.stringMatching(/agent "a2" is in the roster .*, not an ephemeral agent/)]);

    // beta's sshd dies: ps answers within the host timeout, alpha and this host still fresh, beta stale.
    await world.host('beta').stop();
    const before = Date.now();
    const partial = await mosaic(['fleet', 'ps', '--json']);
    expect(Date.now() - before).toBeLessThan(HOST_TIMEOUT_S * 1000 + 3000);
    expect(partial.status).toBe(3);
    expect(partial.stderr).toMatch(/host beta: unreachable/);
    const partialRows = JSON.parse(partial.stdout) as Row[];
    const b1 = partialRows.find((r) => r.agent === 'b1')!;
    expect(b1).toMatchObject({ host: 'beta', state: 'running', reachable: false });
    expect(b1.flags).toContain('stale');
    expect(b1.stale_seconds).toBeGreaterThanOrEqual(0);
    expect(partialRows.filter((r) => r.reachable).map((r) => r.agent)).toEqual(['here1', 'a1', 'a2']);
    const down = await mosaic(['host', 'check', 'beta']);
    expect(down.status).toBe(1);
    expect(down.stdout).toMatch(/beta: unreachable/);

    // sshd back: the next ps is whole again, with no manual step (a stale master socket is replaced).
    await world.host('beta').start();
    const healed = await eventually(
      async () => {
        const again = await mosaic(['fleet', 'ps', '--json']);
        return again.status === 0 ? (JSON.parse(again.stdout) as Row[]) : undefined;
      },
      20_000,
      'ps to reach beta again',
    );
    expect(healed.find((r) => r.agent === 'b1')).toMatchObject({ state: 'running', reachable: true, stale_seconds: null });

    const stopped = await mosaic(['fleet', 'stop', '--json']);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect((JSON.parse(stopped.stdout) as { result: string }[]).every((o) => o.result === 'stopped')).toBe(true);
    const after = await world.ssh('alpha', `tmux -L ${fleet.socket} list-sessions`);
    expect(after.status).not.toBe(0); // its server is gone with its last agent
  });

  it('refuses a host whose destination could be read as an option, and an agent naming an unknown host, with file and line', async () => {
    const fleet = createFleet();
    fleet.writeRoster(roster(fleet.socket, 'hosts:\n  evil: {ssh: "-oProxyCommand=touch /tmp/x"}\nagents: []\n'));
    const option = await fleet.mosaic(['fleet', 'ps']);
    expect(option.status).toBe(1);
    expect(option.stderr).toMatch(/roster\.yaml:\d+:\d+: hosts\.evil\.ssh "-oProxyCommand=touch \/tmp\/x" must not start with "-"/);
    fleet.writeRoster(roster(fleet.socket, 'hosts:\n  far: {ssh: far.example}\nagents:\n  - {name: a, runtime: stub, host: nowhere}\n'));
    const unknown = await fleet.mosaic(['fleet', 'ps']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(
      /roster\.yaml:\d+:\d+: agent "a" names host "nowhere", which is neither this machine .* nor in hosts: \(far\)/,
    );
  });

  it('a host that refuses connections (no sshd): agent roster and agent status still name its agents, nothing says "no agents", verify wants no server here', async () => {
    const fleet = createFleet();
    const work = JSON.stringify(path.join(fleet.dir, 'work'));
    fleet.writeRoster(
      roster(
        fleet.socket,
        'hosts:\n  down: {ssh: nobody@127.0.0.1, port: 1, timeout_seconds: 5}\n' +
          `agents:\n  - {name: here1, runtime: stub, working_directory: ${work}}\n  - {name: d1, runtime: stub, host: down, working_directory: /srv}\n`,
      ),
    );
    const listed = await fleet.mosaic(['agent', 'roster', '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Row[]).map((r) => r.agent)).toEqual(['here1', 'd1']);
    expect(JSON.parse(listed.stdout)[1]).toMatchObject({ host: 'down', working_directory: '/srv' });
    // Every agent's status is `fleet status`'s: the host that did not answer is named, and the exit is 1, not 0.
    const status = await fleet.mosaic(['agent', 'status', '--json']);
    expect(status.status).toBe(1);
    expect(status.stderr).toMatch(/host down: unreachable: .*Connection refused/);
    expect((JSON.parse(status.stdout) as Row[]).map((r) => r.agent)).toEqual(['here1']);
    const stopped = await fleet.mosaic(['fleet', 'stop', 'd1']);
    expect(stopped.status).toBe(1);
    expect(stopped.stdout).not.toMatch(/no agents/);
    expect(stopped.stderr).toMatch(/host down: unreachable/);

    // Every agent on the other host: no server here is expected (`fleet start` starts none), not a problem.
    fleet.writeRoster(
      roster(
        fleet.socket,
        'hosts:\n  down: {ssh: nobody@127.0.0.1, port: 1, timeout_seconds: 5}\nagents:\n  - {name: d1, runtime: stub, host: down, working_directory: /srv}\n',
      ),
    );
    const verified = await fleet.mosaic(['fleet', 'verify', '--json']);
    expect(verified.status).toBe(1);
    expect((JSON.parse(verified.stdout) as { problems: string[] }).problems).toEqual([
      expect.stringMatching(/^down: unreachable: .*Connection refused/),
    ]);
  });
});
