import { describe, expect, it } from 'vitest';
import { agentOfUnit, rosterHeaderLine, rosterOfUnitFile, unitNames, userUnitDir } from './names.js';

describe('unit names', () => {
  it('defaults to mosaic-tmux-holder / mosaic-agent@<agent> and keeps agent names verbatim', () => {
    const names = unitNames({});
    expect(names.holder).toBe('mosaic-tmux-holder.service');
    expect(names.template).toBe('mosaic-agent@.service');
    expect(names.agent('w.x-1_y')).toBe('mosaic-agent@w.x-1_y.service');
    expect(agentOfUnit(names, 'mosaic-agent@w.x-1_y.service')).toBe('w.x-1_y');
    expect(agentOfUnit(names, 'mosaic-agent@.service')).toBeUndefined();
    expect(agentOfUnit(names, 'other-agent@a.service')).toBeUndefined();
  });

  it('takes a prefix from MOSAIC_SYSTEMD_UNIT_PREFIX and validates it', () => {
    const names = unitNames({ MOSAIC_SYSTEMD_UNIT_PREFIX: 'mt-42' });
    expect(names.holder).toBe('mt-42-tmux-holder.service');
    expect(names.agentPattern).toBe('mt-42-agent@*.service');
    expect(() => unitNames({ MOSAIC_SYSTEMD_UNIT_PREFIX: 'a@b' })).toThrow(/not a usable unit-name prefix/);
    expect(() => unitNames({ MOSAIC_SYSTEMD_UNIT_PREFIX: '-x' })).toThrow(/not a usable unit-name prefix/);
  });

  it('refuses agent names that make unit names too long', () => {
    expect(() => unitNames({}).agent('a'.repeat(250))).toThrow(/does not fit/);
  });

  it('reads back the roster a unit file was rendered for from its header line', () => {
    const text = `# mosaic-fingerprint: sha256=00\n# Holder unit\n${rosterHeaderLine('/home/u/my fleet.d/roster.yaml')}\n[Unit]\n`;
    expect(rosterOfUnitFile(text)).toBe('/home/u/my fleet.d/roster.yaml');
    expect(rosterOfUnitFile('[Unit]\nDescription=not ours\n')).toBeUndefined();
  });

  it('writes units to $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user', () => {
    expect(userUnitDir({ HOME: '/home/u' })).toBe('/home/u/.config/systemd/user');
    expect(userUnitDir({ HOME: '/home/u', XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/systemd/user');
  });
});
