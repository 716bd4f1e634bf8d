import { describe, expect, it } from 'vitest';
import type { FleetContext } from '../context/context.js';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { argvForHost, remoteAgent } from './remote.js';

const SEND_DROP = ['--message', '-m', '--file', '-f', '--source-label', '--source'];

describe('argvForHost', () => {
  it('drops the global --roster with its value, in both spellings and anywhere', () => {
    const agent = { given: 'alpha/a1', name: 'a1' };
    expect(argvForHost(['--roster', '/r.yaml', 'agent', 'tail', 'alpha/a1', '-n', '5'], agent)).toEqual(['agent', 'tail', 'a1', '-n', '5']);
    expect(argvForHost(['--roster=/r.yaml', 'agent', 'tail', 'alpha/a1'], agent)).toEqual(['agent', 'tail', 'a1']);
    expect(argvForHost(['agent', 'tail', 'alpha/a1', '--roster', '/r.yaml', '-n', '5'], agent)).toEqual(['agent', 'tail', 'a1', '-n', '5']);
    expect(argvForHost(['agent', 'tail', 'alpha/a1', '--roster=/r.yaml'], agent)).toEqual(['agent', 'tail', 'a1']);
    // A roster path that looks like the agent is still the roster's value, not the agent.
    expect(argvForHost(['--roster', 'alpha/a1', 'agent', 'tail', 'alpha/a1'], agent)).toEqual(['agent', 'tail', 'a1']);
  });

  it('replaces only the first occurrence of the agent argument', () => {
    const agent = { given: 'alpha/a1', name: 'a1' };
    expect(argvForHost(['agent', 'status', 'alpha/a1', 'alpha/a1'], agent)).toEqual(['agent', 'status', 'a1', 'alpha/a1']);
    expect(argvForHost(['agent', 'tail', 'a1', '--grep', 'a1'], { given: 'a1', name: 'a1' })).toEqual([
      'agent',
      'tail',
      'a1',
      '--grep',
      'a1',
    ]);
    // A word that merely contains the agent is not it.
    expect(argvForHost(['agent', 'tail', 'alpha/a1x', 'alpha/a1'], agent)).toEqual(['agent', 'tail', 'alpha/a1x', 'a1']);
  });

  it('drops listed options with their values, as `--opt value` and `--opt=value`', () => {
    const agent = { given: 'beta/b1', name: 'b1' };
    expect(argvForHost(['agent', 'send', 'beta/b1', '--message', 'hello world', '--verify', '--json'], agent, SEND_DROP)).toEqual([
      'agent',
      'send',
      'b1',
      '--verify',
      '--json',
    ]);
    expect(argvForHost(['agent', 'send', '--message=hi=there', 'beta/b1', '--json'], agent, SEND_DROP)).toEqual([
      'agent',
      'send',
      'b1',
      '--json',
    ]);
    expect(
      argvForHost(['agent', 'send', 'beta/b1', '-m', 'x', '--file', '/tmp/body', '--source-label', 'ci', '--json'], agent, SEND_DROP),
    ).toEqual(['agent', 'send', 'b1', '--json']);
    expect(argvForHost(['agent', 'send', 'beta/b1', '--file=/tmp/body', '--source=ci'], agent, SEND_DROP)).toEqual(['agent', 'send', 'b1']);
  });

  it('a dropped option whose value equals the agent argument does not consume the agent', () => {
    const agent = { given: 'b1', name: 'b1' };
    expect(argvForHost(['agent', 'send', '--message', 'b1', 'b1', '--json'], agent, SEND_DROP)).toEqual(['agent', 'send', 'b1', '--json']);
    expect(argvForHost(['agent', 'send', '--message', 'b1', 'beta/b1'], { given: 'beta/b1', name: 'b1' }, SEND_DROP)).toEqual([
      'agent',
      'send',
      'b1',
    ]);
  });

  it('keeps options that only share a prefix with a dropped one, and everything else in order', () => {
    const agent = { given: 'alpha/a1', name: 'a1' };
    expect(argvForHost(['agent', 'send', 'alpha/a1', '--messages', 'x', '--file-mode', 'y', '--json'], agent, SEND_DROP)).toEqual([
      'agent',
      'send',
      'a1',
      '--messages',
      'x',
      '--file-mode',
      'y',
      '--json',
    ]);
    const untouched = ['agent', 'logs', 'alpha/a1', '-n', '200', '--strip-ansi', '--since', '5m', '--', '--roster-like'];
    expect(argvForHost(untouched, agent)).toEqual([
      'agent',
      'logs',
      'a1',
      '-n',
      '200',
      '--strip-ansi',
      '--since',
      '5m',
      '--',
      '--roster-like',
    ]);
  });

  it('without the agent or anything to drop, gives the argv back as it was (a copy)', () => {
    const argv = ['agent', 'watch', 'x', '--json'];
    const out = argvForHost(argv, { given: 'nobody', name: 'nobody' });
    expect(out).toEqual(argv);
    expect(out).not.toBe(argv);
  });
});

describe('remoteAgent', () => {
  const view = {
    roster: parseRoster(
      `version: 1
transport: tmux
hosts:
  alpha: {ssh: alpha}
agents:
  - {name: h1, runtime: stub, working_directory: /w}
  - {name: a1, runtime: stub, host: alpha}
`,
      '/r.yaml',
      { env: { HOME: '/home/u' }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 'u', localHost: 'box' },
    ),
  } as unknown as FleetContext;

  it('names the host and plain name of an agent another host runs, and nothing for one that runs here', () => {
    expect(remoteAgent(view, 'a1')).toEqual({ host: 'alpha', name: 'a1' });
    expect(remoteAgent(view, 'alpha/a1')).toEqual({ host: 'alpha', name: 'a1' });
    expect(remoteAgent(view, 'h1')).toBeUndefined();
    expect(remoteAgent(view, 'box/h1')).toBeUndefined();
    expect(() => remoteAgent(view, 'beta/a1')).toThrow(/agent "beta\/a1" not in roster/);
  });
});

describe('argvForHost with short options', () => {
  it('drops a dropped short option with its value attached (-mhello, -f/tmp/body)', () => {
    expect(
      argvForHost(['agent', 'send', 'alpha/a1', '-mhello', '-f/tmp/body', '--verify'], { given: 'alpha/a1', name: 'a1' }, ['-m', '-f']),
    ).toEqual(['agent', 'send', 'a1', '--verify']);
  });
});
