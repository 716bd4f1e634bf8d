import { describe, expect, it } from 'vitest';
import { unitNames } from './names.js';
import { renderAgentTemplate, renderHolderUnit, type UnitContext } from './units.js';

const ctx: UnitContext = {
  names: unitNames({}),
  version: '1.0.0',
  rosterFile: '/cfg/roster.yaml',
  root: '/cfg',
  runDir: '/cfg/run',
  agentsDir: '/cfg/agents',
  socket: 's',
  tmuxTmpdir: undefined,
  nodeBinary: '/usr/bin/node',
  mainScript: '/m.js',
  tmuxBinary: '/usr/bin/tmux',
  agentStartScript: '/a.sh',
  holderScript: '/h.sh',
  holderSession: '_holder',
};
const env = (text: string): string[] => text.split('\n').filter((line) => line.startsWith('Environment='));

describe('units of a roster with its own run directory', () => {
  it('the default roster renders exactly as before (no MOSAIC_FLEET_RUN_DIR)', () => {
    expect(renderAgentTemplate(ctx)).toBe(renderAgentTemplate({ ...ctx, runDir: undefined }));
    expect(renderHolderUnit(ctx)).toBe(renderHolderUnit({ ...ctx, runDir: undefined }));
    expect(env(renderAgentTemplate(ctx)).join('\n')).not.toContain('MOSAIC_FLEET_RUN_DIR');
  });

  it('another roster passes its run directory to the agent start script', () => {
    const other = {
      ...ctx,
      rosterFile: '/w/usc.yaml',
      runDir: '/cfg/rosters/usc-0123456789/run',
      agentsDir: '/cfg/rosters/usc-0123456789/agents',
    };
    expect(env(renderAgentTemplate(other))[0]).toContain('"MOSAIC_FLEET_RUN_DIR=/cfg/rosters/usc-0123456789/run"');
    expect(renderAgentTemplate(other)).toContain('EnvironmentFile=/cfg/rosters/usc-0123456789/agents/%i.env');
  });
});
