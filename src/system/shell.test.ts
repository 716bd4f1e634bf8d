import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from './shell.js';

describe('shellQuote', () => {
  it('survives a real sh byte for byte', () => {
    for (const value of ["it's", '$(rm -rf /)', '`x`', 'a b\tc', '"q"', '\\', '#{x}', 'ünï', '', '-n', '~', '*']) {
      const result = spawnSync('sh', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' });
      expect(result.stdout, value).toBe(value);
    }
  });

  it('leaves plain words bare and quotes everything a shell would read', () => {
    expect(shellQuote('fleet')).toBe('fleet');
    expect(shellQuote('--json')).toBe('--json');
    expect(shellQuote('/a/b.c')).toBe('/a/b.c');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('~')).toBe("'~'");
    expect(shellQuote('*')).toBe("'*'");
    expect(shellQuote('#{x}')).toBe("'#{x}'"); // tmux formats: the callers double the # themselves
  });
});
