import { describe, expect, it } from 'vitest';
import type { CommandRunner, RunOptions, RunResult } from '../system/runner.js';
import { CommandError } from '../core/errors.js';
import { TmuxClient } from '../tmux/client.js';
import { pressEnterMany, snapshotAndPaste } from './paste.js';
import { captureMany, parseScreens } from './screen.js';

interface Call {
  argv: readonly string[];
  options: RunOptions | undefined;
}

function recordingTmux(answer: (argv: readonly string[], options?: RunOptions) => Partial<RunResult>): { tmux: TmuxClient; calls: Call[] } {
  const calls: Call[] = [];
  const runner: CommandRunner = async (argv, options) => {
    calls.push({ argv, options });
    const result = { argv, status: 0, signal: null, stdout: '', stderr: '', durationMs: 1, ...answer(argv, options) };
    if (result.status !== 0 && !options?.allowFailure) throw new CommandError(argv, result.status, null, result.stderr, 1);
    return result;
  };
  return { tmux: new TmuxClient({ socket: 'sock', runner, env: {} }), calls };
}

/** What tmux would print for display-message + capture-pane of a 3-row pane. */
const screenOutput = (argv: readonly string[], rows: string[]): string => {
  const format = argv[argv.indexOf('display-message') + 4]!;
  const marker = format.split(' ')[0]!;
  return `${marker} 0 0 1 80 3\n${rows.join('\n')}\n`;
};

describe('snapshotAndPaste', () => {
  it('captures, then loads the text from stdin into a unique buffer and pastes it bracketed, in one call', async () => {
    const { tmux, calls } = recordingTmux((argv) => ({ stdout: screenOutput(argv, ['stub>', '', '']) }));
    const text = '$(rm -rf ~); `id` && -x\n"quoted" ;';
    const before = await snapshotAndPaste(tmux, 'a', text);
    expect('lines' in before && before.lines).toEqual(['stub>', '', '']);
    expect(calls).toHaveLength(1);
    const { argv, options } = calls[0]!;
    expect(argv.slice(0, 6)).toEqual(['tmux', '-u', '-L', 'sock', '-f', '/dev/null']);
    expect(options?.input).toBe(text);
    expect(argv.join(' ')).not.toContain('rm -rf'); // the body never travels as an argument
    const load = argv.indexOf('load-buffer');
    const buffer = argv[load + 2]!;
    expect(argv.slice(load, load + 4)).toEqual(['load-buffer', '-b', buffer, '-']);
    expect(argv.slice(argv.indexOf('paste-buffer'))).toEqual(['paste-buffer', '-p', '-d', '-b', buffer, '-t', '=a:0.0']);
    expect(argv.filter((arg) => arg === '-t' || arg.startsWith('=')).filter((arg) => arg.startsWith('='))).toEqual([
      '=a:0.0',
      '=a:0.0',
      '=a:0.0',
    ]);

    await snapshotAndPaste(tmux, 'a', text);
    const second = calls[1]!.argv;
    expect(second[second.indexOf('load-buffer') + 2]).not.toBe(buffer);
  });

  it('reports a missing pane and deletes the buffer, pasting nothing', async () => {
    const { tmux, calls } = recordingTmux((argv) =>
      argv.includes('display-message') ? { status: 1, stderr: "can't find pane: =gone:0.0" } : {},
    );
    const result = await snapshotAndPaste(tmux, 'gone', 'hi');
    expect(result).toEqual({ error: "can't find pane: =gone:0.0" });
    expect(calls[1]!.argv).toContain('delete-buffer');
  });
});

describe('screens', () => {
  it('ignores forged markers inside the screen content', () => {
    const out = '@@m@@ 0 1 2 80 3 1\nline @@m@@ 0 0 0 0 0\n@@other@@ 1 1 1 1 1\nthird\n';
    const [screen] = parseScreens(out, '@@m@@');
    expect(screen).toMatchObject({ alternate: true, cursorY: 2, width: 80, height: 3, inMode: true, dead: false });
    expect(screen!.lines).toEqual(['line @@m@@ 0 0 0 0 0', '@@other@@ 1 1 1 1 1', 'third']);
  });

  it('captures many panes in one tmux call', async () => {
    const { tmux, calls } = recordingTmux((argv) => {
      const marker = argv[argv.indexOf('display-message') + 4]!.split(' ')[0]!;
      return { stdout: ['a', 'b', 'c'].map((name) => `${marker} 0 0 0 80 1\nscreen of ${name}\n`).join('') };
    });
    const screens = await captureMany(tmux, ['a', 'b', 'c']);
    expect(calls).toHaveLength(1);
    expect(screens.map((s) => ('lines' in s ? s.lines[0] : s.message))).toEqual(['screen of a', 'screen of b', 'screen of c']);
  });
});

describe('pressEnterMany', () => {
  it('presses Enter in all panes with one call', async () => {
    const { tmux, calls } = recordingTmux(() => ({}));
    expect(await pressEnterMany(tmux, ['a', 'b'])).toEqual([true, true]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.argv.slice(6)).toEqual(['send-keys', '-t', '=a:0.0', 'Enter', ';', 'send-keys', '-t', '=b:0.0', 'Enter']);
  });

  it('when a pane is gone, never presses twice in the panes before it', async () => {
    const { tmux, calls } = recordingTmux((argv) => {
      if (argv.includes('list-sessions')) return { stdout: 'a\nc\n' };
      if (argv.includes('=b:0.0')) return { status: 1, stderr: "can't find pane" };
      return {};
    });
    const results = await pressEnterMany(tmux, ['a', 'b', 'c']);
    expect(results[0]).toBe(true);
    expect(results[1]).toBeInstanceOf(Error);
    expect(results[2]).toBe(true);
    const single = calls.slice(1).filter((call) => call.argv.includes('send-keys'));
    expect(single.map((call) => call.argv[call.argv.indexOf('-t') + 1])).toEqual(['=c:0.0']);
  });
});
