import { describe, expect, it } from 'vitest';
import type { FakeRequestEntry } from '../fake-model/server.mjs';
import { createFleet, eventually } from './harness.js';
import { fakeModel, runtimeSection } from './runtime-fixtures.js';
import { panePids, RUN_SYSTEMD_TESTS, systemdWorld, type SystemdWorld } from './systemd-env.js';

interface PsRow {
  agent: string;
  activity: string;
  session_id: string | null;
}

const mainRequest = (text: string) => (entry: FakeRequestEntry) =>
  !entry.isTitle && entry.status === 200 && entry.lastUserText.includes(text);

async function idle(world: SystemdWorld): Promise<PsRow> {
  return eventually(
    async () => {
      const row = (await world.json<PsRow[]>(['fleet', 'ps'])).find((r) => r.agent === 'p1');
      return row?.activity === 'idle' ? row : undefined;
    },
    90_000,
    'p1 idle',
  );
}

describe.runIf(RUN_SYSTEMD_TESTS)('resume under systemd', () => {
  it('a unit restart brings pi back in the same conversation, without a second kickstart', async () => {
    const model = await fakeModel({ logBodies: true });
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    fleet.writeRoster(
      `version: 1\ntransport: tmux\nsupervisor: systemd\ntmux:\n  socket_name: ${fleet.socket}\nheartbeat:\n  interval_seconds: 2\n` +
        `defaults:\n  working_directory: work\nruntimes:\n${runtimeSection('pi', model, fleet.dir)}agents:\n` +
        `  - name: p1\n    runtime: pi\n    mode: yolo\n    kickstart_template: "KICKSTART-{agent}"\n`,
    );
    for (const args of [
      ['fleet', 'install-systemd'],
      ['fleet', 'start'],
    ]) {
      const result = await world.mosaic(args);
      expect(result.status, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    }
    const send = async (text: string): Promise<void> => {
      const sent = await world.mosaic(['agent', 'send', 'p1', '--verify', '--verify-timeout', '30000', '--no-preamble', '-m', text]);
      expect(sent.status, sent.stderr).toBe(0);
    };
    await model.waitForRequest(mainRequest('KICKSTART-p1'), 90_000);
    await idle(world);
    await send('remember the word MANGO');
    await model.waitForRequest(mainRequest('remember the word MANGO'), 30_000);
    const before = await eventually(async () => {
      const row = await idle(world);
      return row.session_id ? row : undefined;
    });
    const panePid = panePids(fleet).p1;

    const restarted = world.systemctl(['restart', world.agentUnit('p1')]);
    expect(restarted.status, restarted.stderr).toBe(0);
    await eventually(() => (panePids(fleet).p1 && panePids(fleet).p1 !== panePid ? true : undefined), 30_000, 'a new p1 pane');
    await idle(world);
    await send('systemd-resume-check: the word?');
    const resumed = await model.waitForRequest(mainRequest('systemd-resume-check'), 30_000);
    expect(JSON.stringify(resumed.body), 'the request after the unit restart carries the earlier turn').toContain('MANGO');
    expect((await world.json<PsRow[]>(['fleet', 'ps'])).find((r) => r.agent === 'p1')?.session_id).toBe(before.session_id);
    expect(model.requests.filter(mainRequest('KICKSTART-p1')).length).toBe(1);
    expect((await world.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 240_000);
});
