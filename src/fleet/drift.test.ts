import { describe, expect, it } from 'vitest';
import type { Roster } from '../roster/model.js';
import { expectedDescription, isLauncher, matchesRuntime, runtimeMatcher, shorten } from './drift.js';

const roster = (runtimes: Roster['runtimes'] = {}): Roster =>
  ({
    file: '/r.yaml',
    version: 1,
    tenantId: 't',
    supervisor: 'builtin',
    socketName: 's',
    holderSession: '_holder',
    heartbeatIntervalSeconds: 15,
    restart: { backoffInitialMs: 1, backoffMaxMs: 1, maxCrashes: 1, windowSeconds: 1 },
    defaultWorkingDirectory: '/w',
    runtimes,
    agents: [],
  }) as Roster;

describe('matchesRuntime', () => {
  const pi = runtimeMatcher(roster(), 'pi');

  it('recognises pi by its process name and as a script run by node', () => {
    expect(matchesRuntime(pi, 'pi', ['pi'])).toBe(true); // pi 0.73 sets its title
    expect(matchesRuntime(pi, 'node', ['node', '/usr/local/bin/pi'])).toBe(true);
    expect(matchesRuntime(pi, 'node', ['node', '--no-warnings', '/home/u/.npm-global/bin/pi', '--continue'])).toBe(true);
    expect(matchesRuntime(pi, 'MainThread', ['/usr/bin/node', '/opt/pi'])).toBe(true);
  });

  it('does not take another program, or another script under an interpreter, for pi', () => {
    expect(matchesRuntime(pi, 'sh', ['sh', '/opt/mosaic/framework/bin/mosaic-stub-agent'])).toBe(false);
    expect(matchesRuntime(pi, 'node', ['node', '/usr/lib/node_modules/other/cli.js'])).toBe(false);
    expect(matchesRuntime(pi, 'bash', ['bash'])).toBe(false);
    expect(matchesRuntime(pi, 'python3', ['python3', 'dogfood-agent.py'])).toBe(false);
  });

  it('recognises the stub and claude by their scripts', () => {
    expect(matchesRuntime(runtimeMatcher(roster(), 'stub'), 'sh', ['sh', '/x/framework/bin/mosaic-stub-agent', '--interval', '1'])).toBe(
      true,
    );
    const claude = runtimeMatcher(roster(), 'claude');
    expect(matchesRuntime(claude, 'claude', ['claude'])).toBe(true);
    expect(matchesRuntime(claude, 'node', ['node', '/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js'])).toBe(true);
  });

  it('compares a custom runtime against its own command, arguments included', () => {
    const custom = runtimeMatcher(roster({ bot: { command: ['python3', 'bot.py'] } }), 'bot');
    expect(custom.kind).toBe('command');
    expect(matchesRuntime(custom, 'python3', ['python3', 'bot.py', '--fast'])).toBe(true);
    expect(matchesRuntime(custom, 'python3', ['python3', 'other.py'])).toBe(false);
    // A script with a shebang line runs as "<interpreter> <path of the script>".
    const script = runtimeMatcher(roster({ tool: { command: ['/opt/bin/agent-tool', '--serve'] } }), 'tool');
    expect(matchesRuntime(script, 'node', ['node', '/opt/bin/agent-tool', '--serve'])).toBe(true);
    expect(matchesRuntime(script, 'agent-tool', ['/opt/bin/agent-tool', '--serve'])).toBe(true);
    expect(matchesRuntime(script, 'agent-tool', ['/opt/bin/agent-tool'])).toBe(false);
    // Overriding a built-in runtime's command makes that command the reference.
    const piOverride = runtimeMatcher(roster({ pi: { command: ['sh', '/x/mosaic-stub-agent'] } }), 'pi');
    expect(matchesRuntime(piOverride, 'sh', ['sh', '/x/mosaic-stub-agent'])).toBe(true);
    expect(matchesRuntime(piOverride, 'pi', ['pi'])).toBe(false);
  });
});

describe('descriptions', () => {
  it('says what was expected and shortens long paths', () => {
    expect(expectedDescription(runtimeMatcher(roster(), 'pi'))).toBe('pi or <interpreter> …/pi');
    expect(expectedDescription(runtimeMatcher(roster({ w: { command: ['wrapper', '-x'] } }), 'w'))).toBe('"wrapper -x"');
    expect(shorten(['sh', '/very/long/path/to/framework/bin/mosaic-stub-agent', 'a', 'b', 'c'])).toBe('sh …/mosaic-stub-agent a b …');
    expect(isLauncher(['sh', '/x/framework/bin/mosaic-launch', '/run/a.launch', '0.2'])).toBe(true);
    expect(isLauncher(['sh', '/x/framework/bin/mosaic-stub-agent'])).toBe(false);
  });
});
