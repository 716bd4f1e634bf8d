import os from 'node:os';
import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../system/runner.js';
import { localHost } from './local.js';

describe('localHost', () => {
  it('hands every service the same injected runner through its tmux clients', async () => {
    const calls: (readonly string[])[] = [];
    const runner: CommandRunner = (argv) => {
      calls.push(argv);
      return Promise.resolve({ argv, status: 0, signal: null, stdout: '', stderr: '', durationMs: 0 });
    };
    const host = localHost({ env: { USER: 'someone', PATH: '/bin' }, runner, now: () => 42 });
    await host.tmux('sock-a').run(['list-sessions']);
    expect(calls).toEqual([['tmux', '-u', '-L', 'sock-a', '-f', '/dev/null', 'list-sessions']]);
    expect(host.runner).toBe(runner);
    expect(host.now()).toBe(42);
  });

  it('names this machine and the running user', () => {
    const host = localHost({ env: {} });
    expect(host.identity.host).toBe(os.hostname());
    expect(host.identity.tenantId).toBe(os.userInfo().username);
  });
});
