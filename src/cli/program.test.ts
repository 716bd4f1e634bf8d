import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';

/** Parse argv with the named subcommand's action replaced by one that records what it got. */
async function parsed(path: string[], argv: string[]): Promise<{ args: string[]; opts: Record<string, unknown> }> {
  const program = buildProgram();
  let command: Command = program;
  for (const name of path) command = command.commands.find((c) => c.name() === name)!;
  let seen: { args: string[]; opts: Record<string, unknown> } | undefined;
  command.action((...values: unknown[]) => {
    const self = values[values.length - 1] as Command;
    seen = { args: self.args, opts: self.opts() };
  });
  await program.parseAsync(['node', 'mosaic', ...path, ...argv]);
  return seen!;
}

describe('upstream command-line compatibility', () => {
  it.each([['send'], ['broadcast']])('agent %s: --source is --source-label', async (verb) => {
    const agents = verb === 'send' ? ['a'] : ['a', 'b'];
    expect((await parsed(['agent', verb], [...agents, '--source', 'ci', '-m', 'hi'])).opts.sourceLabel).toBe('ci');
    expect((await parsed(['agent', verb], [...agents, '--source-label', 'ops', '-m', 'hi'])).opts.sourceLabel).toBe('ops');
  });

  it('agent status takes no agent name (all agents)', async () => {
    expect((await parsed(['agent', 'status'], [])).args).toEqual([]);
    expect((await parsed(['agent', 'status'], ['coder0', '--json'])).args).toEqual(['coder0']);
  });

  it('fleet stop --orphans [--socket <name>]; fleet init --profile usc', async () => {
    expect((await parsed(['fleet', 'stop'], ['--orphans', '--socket', 'mosaic-factory'])).opts).toMatchObject({
      orphans: true,
      socket: 'mosaic-factory',
    });
    expect((await parsed(['fleet', 'init'], ['--profile', 'usc'])).opts.profile).toBe('usc');
  });
});
