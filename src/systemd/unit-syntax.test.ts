import { describe, expect, it } from 'vitest';
import { envFileLine, environmentWord, execWord, parseEnvFile, unitPath, unitText } from './unit-syntax.js';

describe('unit-file escaping', () => {
  it('quotes exec arguments and doubles % and $', () => {
    expect(execWord('/usr/bin/node')).toBe('"/usr/bin/node"');
    expect(execWord('/opt/my dir/a"b\\c')).toBe('"/opt/my dir/a\\"b\\\\c"');
    expect(execWord('100%$HOME')).toBe('"100%%$$HOME"');
  });

  it('keeps $ literal in Environment= words but doubles %', () => {
    expect(environmentWord('MOSAIC_FLEET_HOME', '/home/x/50% $off "q"')).toBe('"MOSAIC_FLEET_HOME=/home/x/50%% $off \\"q\\""');
  });

  it('refuses control characters and relative or padded paths', () => {
    expect(() => execWord('a\nb')).toThrow(/control character/);
    expect(() => environmentWord('X', 'a\u0000b')).toThrow(/control character/);
    expect(() => unitPath('relative/dir')).toThrow(/absolute path/);
    expect(() => unitPath('/tmp/x ')).toThrow(/absolute path/);
    expect(unitPath('/tmp/a b/%h')).toBe('/tmp/a b/%%h');
    expect(unitText('50% done')).toBe('50%% done');
  });
});

describe('EnvironmentFile lines', () => {
  const nasty = `/w/it's "quoted" $HOME \`cmd\` back\\slash 100% tab\there`;

  it('round-trips any printable value', () => {
    const line = envFileLine('MOSAIC_AGENT_WORKDIR', nasty);
    expect(line).toBe('MOSAIC_AGENT_WORKDIR="/w/it\'s \\"quoted\\" \\$HOME \\`cmd\\` back\\\\slash 100% tab\there"');
    expect(parseEnvFile(`# comment\n${line}\n`)).toEqual({ MOSAIC_AGENT_WORKDIR: nasty });
  });

  it('refuses newlines and bad names', () => {
    expect(() => envFileLine('A', 'x\ny')).toThrow(/control character/);
    expect(() => envFileLine('1A', 'x')).toThrow(/invalid environment variable name/);
  });
});
