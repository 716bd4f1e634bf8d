import { describe, expect, it } from 'vitest';
import { createFleet, eventually, roster } from './harness.js';
import type { PsRow } from './ps.test.js';
import { MANAGER, RUN_SYSTEMD_TESTS, systemdWorld } from './systemd-env.js';

const byAgent = (rows: PsRow[]): Record<string, PsRow> => Object.fromEntries(rows.map((row) => [row.agent, row]));

describe.skipIf(!RUN_SYSTEMD_TESTS)(`fleet ps with systemd supervision${MANAGER.available ? '' : ` (${MANAGER.reason})`}`, () => {
  it('flags boot for units that are active but not enabled, or enabled only until the next reboot', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    fleet.writeRoster(
      roster(
        fleet.socket,
        'supervisor: systemd\ndefaults:\n  working_directory: work\nagents:\n  - {name: kept, runtime: stub}\n  - {name: lost, runtime: stub}\n  - {name: runtime-only, runtime: stub}\n  - {name: idle, runtime: stub}\n',
        'heartbeat:\n  interval_seconds: 2\n',
      ),
    );
    const installed = await world.mosaic(['fleet', 'install-systemd']);
    expect(installed.status, installed.stderr).toBe(0);
    const started = await world.mosaic(['fleet', 'start', 'kept', 'lost', 'runtime-only']);
    expect(started.status, started.stderr).toBe(0);
    const enabled = await world.mosaic(['fleet', 'enable', 'kept']);
    expect(enabled.status, enabled.stderr).toBe(0);
    const runtimeOnly = world.systemctl(['enable', '--runtime', '--', world.agentUnit('runtime-only')]);
    expect(runtimeOnly.status, runtimeOnly.stderr).toBe(0);

    const rows = await eventually(async () => {
      const r = byAgent(await world.json<PsRow[]>(['fleet', 'ps']));
      return r.kept!.heartbeat.health === 'healthy' && r.lost!.heartbeat.health === 'healthy' ? r : undefined;
    });
    for (const row of Object.values(rows)) {
      expect(row.supervisor).toBe('systemd');
      expect(row.tenant_id.length).toBeGreaterThan(0);
      expect(row.host.length).toBeGreaterThan(0);
    }
    expect(rows.kept!.unit).toEqual({
      name: world.agentUnit('kept'),
      load_state: 'loaded',
      active_state: 'active',
      sub_state: expect.any(String),
      unit_file_state: 'enabled',
    });
    expect(rows.kept!.flags).toEqual([]);
    expect(rows.kept).toMatchObject({ state: 'running', pane: 'alive' });

    expect(rows.lost!.unit).toMatchObject({ active_state: 'active', unit_file_state: 'disabled' });
    expect(rows.lost!.flags).toEqual(['boot']);
    expect(rows.lost!.reasons.boot).toMatch(/is active but not enabled: it will not come back after a reboot/);

    expect(rows['runtime-only']!.unit).toMatchObject({ active_state: 'active', unit_file_state: 'enabled-runtime' });
    expect(rows['runtime-only']!.flags).toEqual(['boot']);
    expect(rows['runtime-only']!.reasons.boot).toMatch(/enabled only until the next reboot/);

    // Not running at all: missing, but no boot warning (nothing is active to lose).
    expect(rows.idle!.unit).toMatchObject({ active_state: 'inactive', unit_file_state: 'disabled' });
    expect(rows.idle!.flags).toEqual(['missing']);

    const text = (await world.mosaic(['fleet', 'ps'])).stdout;
    expect(text).toMatch(/^kept\s.*\sactive\/enabled\s/m);
    expect(text).toMatch(/^lost\s.*\sactive\/disabled\s.*boot$/m);
    expect(text).toMatch(/lost: boot: /);

    expect(world.systemctl(['disable', '--runtime', '--', world.agentUnit('runtime-only')]).status).toBe(0);
  });
});
