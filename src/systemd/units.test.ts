import { describe, expect, it } from 'vitest';
import { parseRoster } from '../roster/load.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { classifyGenerated } from './fingerprint.js';
import { unitNames } from './names.js';
import { parseProperties } from './systemctl.js';
import { parseEnvFile } from './unit-syntax.js';
import { renderAgentEnvFile, renderAgentTemplate, renderHolderUnit, type UnitContext } from './units.js';

const ctx: UnitContext = {
  names: unitNames({ MOSAIC_SYSTEMD_UNIT_PREFIX: 'mx' }),
  version: '9.9.9',
  rosterFile: '/home/u/.config/mosaic/fleet/roster.yaml',
  root: '/home/u/100% fleet',
  agentsDir: '/home/u/100% fleet/agents',
  socket: 'mosaic-factory',
  tmuxTmpdir: undefined,
  nodeBinary: '/usr/bin/node',
  mainScript: '/opt/mosaic $dir/dist/cli/main.js',
  tmuxBinary: '/usr/bin/tmux',
  agentStartScript: '/opt/mosaic $dir/framework/bin/mosaic-systemd-agent',
  holderScript: '/opt/mosaic $dir/framework/bin/mosaic-systemd-holder',
  holderSession: '_holder',
};

const lines = (text: string, key: string): string[] => text.split('\n').filter((line) => line.startsWith(`${key}=`));

describe('generated units', () => {
  it('holder: tmux server in the foreground as the main process, sh steps before and after it', () => {
    const unit = renderHolderUnit(ctx);
    expect(lines(unit, 'Type')).toEqual(['Type=simple']);
    expect(lines(unit, 'ExecStart')).toEqual(['ExecStart="/usr/bin/tmux" "-L" "mosaic-factory" "-f" "/dev/null" "-D"']);
    // The steps' last words are the Node CLI, which the ready step falls back to when nothing was prepared.
    const step = (name: string) =>
      `"/bin/sh" "/opt/mosaic $$dir/framework/bin/mosaic-systemd-holder" "${name}" "/usr/bin/tmux" "_holder" "/home/u/100%% fleet" ` +
      `"/usr/bin/node" "/opt/mosaic $$dir/dist/cli/main.js" "--roster" "/home/u/.config/mosaic/fleet/roster.yaml"`;
    expect(lines(unit, 'ExecStartPre')).toEqual([`ExecStartPre=${step('check')}`]);
    expect(lines(unit, 'ExecStartPost')).toEqual([`ExecStartPost=${step('ready')}`]);
    // tmux needs ~2 fds per pane: the manager's default soft limit of 1024 would cap the fleet near 500 agents.
    expect(lines(unit, 'LimitNOFILE')).toEqual(['LimitNOFILE=65536:524288']);
    expect(lines(unit, 'Environment')).toEqual(['Environment="MOSAIC_FLEET_HOME=/home/u/100%% fleet" "MOSAIC_TMUX_SOCKET=mosaic-factory"']);
    expect(lines(unit, 'WantedBy')).toEqual(['WantedBy=default.target']);
  });

  it('agent template: bound to the holder, oneshot, per-agent EnvironmentFile, exact kill on stop', () => {
    const unit = renderAgentTemplate({ ...ctx, tmuxTmpdir: '/tmp/t' });
    for (const key of ['Requires', 'After', 'PartOf']) expect(lines(unit, key)).toEqual([`${key}=mx-tmux-holder.service`]);
    // BindsTo= would stop the agents when the server dies, and the holder's restart would not bring them back.
    expect(lines(unit, 'BindsTo')).toEqual([]);
    expect(lines(unit, 'Type')).toEqual(['Type=oneshot']);
    expect(lines(unit, 'RemainAfterExit')).toEqual(['RemainAfterExit=yes']);
    expect(lines(unit, 'Slice')).toEqual(['Slice=app.slice']);
    expect(lines(unit, 'EnvironmentFile')).toEqual(['EnvironmentFile=/home/u/100%% fleet/agents/%i.env']);
    expect(lines(unit, 'Environment')[0]).toContain('"TMUX_TMPDIR=/tmp/t" "MOSAIC_AGENT_NAME=%i"');
    expect(lines(unit, 'ExecStart')).toEqual([
      'ExecStart="/bin/sh" "/opt/mosaic $$dir/framework/bin/mosaic-systemd-agent" "/usr/bin/tmux" "start"',
    ]);
    // The same script kills the session (only while marked as the agent); a failure to kill does not fail the stop.
    expect(lines(unit, 'ExecStop')).toEqual([
      'ExecStop=-"/bin/sh" "/opt/mosaic $$dir/framework/bin/mosaic-systemd-agent" "/usr/bin/tmux" "stop"',
    ]);
  });

  it('renders byte-identical files for the same inputs, which the fingerprint recognises', () => {
    expect(renderAgentTemplate(ctx)).toBe(renderAgentTemplate(ctx));
    expect(classifyGenerated(renderHolderUnit(ctx), renderHolderUnit(ctx))).toBe('current');
    expect(classifyGenerated(renderHolderUnit(ctx), renderHolderUnit({ ...ctx, socket: 'other' }))).toBe('outdated');
  });

  it('env file carries the roster values verbatim', () => {
    const roster = parseRoster(
      `version: 1\ntransport: tmux\nagents:\n  - name: w.x\n    runtime: stub\n    working_directory: '/w/"q" $HOME \\\\ 100%'\n`,
      '/r/roster.yaml',
      { env: { HOME: '/h' }, knownRuntimes: BUILTIN_RUNTIMES, defaultTenant: 't' },
    );
    const env = parseEnvFile(renderAgentEnvFile(ctx, roster.agents[0]!));
    expect(env).toEqual({
      MOSAIC_AGENT_NAME: 'w.x',
      MOSAIC_AGENT_SESSION: 'w_x',
      MOSAIC_AGENT_RUNTIME: 'stub',
      MOSAIC_AGENT_WORKDIR: '/w/"q" $HOME \\\\ 100%',
    });
  });

  it('parses systemctl show output', () => {
    expect(parseProperties('Id=a.service\nExecMainStatus=0\nEnvironment=A=1 B=2\n')).toEqual({
      Id: 'a.service',
      ExecMainStatus: '0',
      Environment: 'A=1 B=2',
    });
  });
});
