import { describe, expect, it } from 'vitest';
import { rewriteAliases } from './aliases.js';

const run = (...args: string[]): string[] => rewriteAliases(['node', 'mosaic', ...args]).slice(2);

describe('upstream agent aliases', () => {
  it('rewrites --new, --list and --show right after agent, also behind global options', () => {
    expect(run('agent', '--new', 'w1', '--runtime', 'pi')).toEqual(['agent', 'new', 'w1', '--runtime', 'pi']);
    expect(run('agent', '--list', '--json')).toEqual(['agent', 'list', '--json']);
    expect(run('--roster', 'r.yaml', 'agent', '--show', 'w1')).toEqual(['--roster', 'r.yaml', 'agent', 'show', 'w1']);
  });

  it('leaves every other use alone', () => {
    expect(run('agent', 'reset', 'w1', '--new')).toEqual(['agent', 'reset', 'w1', '--new']);
    expect(run('fleet', 'agent', '--new')).toEqual(['fleet', 'agent', '--new']);
    expect(run('agent', 'send', 'w1', '-m', '--list')).toEqual(['agent', 'send', 'w1', '-m', '--list']);
  });
});
