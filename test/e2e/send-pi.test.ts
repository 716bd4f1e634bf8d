import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeFor } from '../../src/messaging/deliver.js';
import { detectorFor } from '../../src/runtimes/detectors/index.js';
import { captureScreen, createFleet, eventually, ROOT, roster, type TestFleet } from './harness.js';

/** The real pi TUI (@mariozechner/pi-coding-agent, a pinned devDependency), offline and without an API key. */
const PI = path.join(ROOT, 'node_modules', '.bin', 'pi');

function piFleet(): { fleet: TestFleet; env: NodeJS.ProcessEnv } {
  const fleet = createFleet();
  fleet.writeRoster(
    roster(
      fleet.socket,
      `runtimes:\n  pi:\n    command: ["${PI}"]\nagents:\n  - name: pi0\n    runtime: pi\n    working_directory: work\n`,
    ),
  );
  // The pane inherits the tmux server's environment: PI_OFFLINE skips the fd/rg download,
  // PI_CODING_AGENT_DIR keeps pi's settings and sessions inside the test's directory.
  const env = { ...fleet.env, PI_OFFLINE: '1', PI_CODING_AGENT_DIR: path.join(fleet.dir, 'pi-agent') };
  return { fleet, env };
}

describe('agent send to the real pi TUI', () => {
  it('send --verify is accepted; text typed without Enter is a draft', async () => {
    const { fleet, env } = piFleet();
    const started = await fleet.mosaic(['fleet', 'start'], { env });
    expect(started.status, started.stderr).toBe(0);
    await eventually(
      () => fleet.tmux(['display-message', '-p', '-t', '=pi0:0.0', '#{pane_current_command}']).stdout.trim() === 'pi',
      20_000,
      'pi running',
    );

    // The readiness gate waits for pi's editor before pasting.
    const run = await fleet.mosaic(
      ['agent', 'send', 'pi0', '--verify', '--verify-timeout', '30000', '--json', '-m', 'hello pi, please list the files'],
      { env },
    );
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    const result = JSON.parse(run.stdout) as { status: string; detail: string; tenant_id: string; host: string };
    expect(result.status, result.detail).toBe('accepted');
    // Evidence from whichever answers first: pi's own hook (the send id) or its screen (the input
    // cleared; the screen detector's verdicts are also covered by the captured-screen tests).
    expect(result.detail).toMatch(/input cleared|runtime acknowledged send #[0-9a-f]{8}/);
    expect(result.tenant_id).toBeTruthy();
    // pi took it: without an API key it answers with an error, and its editor is empty again.
    await eventually(
      () => (captureScreen(fleet, 'pi0').lines.join('\n').includes('No API key found') ? true : undefined),
      10_000,
      'pi answer',
    );

    // Text typed without Enter stays in pi's editor: the pi detector calls it a draft.
    const before = captureScreen(fleet, 'pi0');
    const text = 'typed but never submitted';
    fleet.tmux(['send-keys', '-t', '=pi0:0.0', '-l', text]);
    const pi = detectorFor('pi');
    const draft = await eventually(
      () => {
        const screen = captureScreen(fleet, 'pi0');
        return pi.draftVisible(screen, probeFor(text, before)) ? screen : undefined;
      },
      10_000,
      'draft in the editor',
    );
    expect(pi.classify(draft, { ...probeFor(text, before), draft }, 1000).kind).toBe('draft');

    // Clear the editor (Ctrl-C in pi); the next send goes through as usual.
    fleet.tmux(['send-keys', '-t', '=pi0:0.0', 'C-c']);
    await eventually(() => (captureScreen(fleet, 'pi0').lines.join('\n').includes(text) ? undefined : true), 10_000, 'editor cleared');
    const again = await fleet.mosaic(['agent', 'send', 'pi0', '--verify', '--verify-timeout', '20000', '-m', 'second message'], { env });
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^pi0: accepted/);
  }, 90_000);
});
