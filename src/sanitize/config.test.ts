import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { allowedRules, globToRegExp, parseSanitizeConfig } from './config.js';

const parse = (text: string) => parseSanitizeConfig(text, '.mosaic/sanitize.yaml');
const errorOf = (text: string): string => {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected an error');
};

describe('sanitize config', () => {
  it('deny and allow; an empty file is an empty config', () => {
    expect(parse('')).toEqual({ deny: [], allow: [] });
    const config = parse(
      'deny: [git.corp.example, jdoe]\nallow:\n  - docs/vendor/**\n  - path: test/*.txt\n    rules: [github-token]\n    reason: fake\n',
    );
    expect(config.deny).toEqual(['git.corp.example', 'jdoe']);
    expect(allowedRules({ ...config }, 'docs/vendor/a/b.md')).toBe('all');
    expect(allowedRules({ ...config }, 'test/x.txt')).toEqual(new Set(['github-token']));
    expect(allowedRules({ ...config }, 'test/sub/x.txt')).toEqual(new Set());
  });

  it.each([
    ['deny: [jdoe\n', /:2: not valid YAML/],
    ['deny:\n  - jdoe\n  - 42\n', /:3: each "deny" entry must be a string/],
    ['deny:\n  - ab\n', /:2: deny entry "ab" is shorter than 3 characters/],
    ['deny: jdoe\n', /:1: "deny" must be a list/],
    ['\n\nallow:\n  - path: x\n    rules: [no-such-rule]\n', /:5: unknown rule "no-such-rule"/],
    ['allow:\n  - rules: [github-token]\n', /:2: an "allow" entry needs a "path"/],
    ['allow:\n  - path: x\n    because: y\n', /:3: unknown key "because"/],
    ['deny: []\nignore: [x]\n', /:2: unknown key "ignore" \(known: deny, allow\)/],
    ['- a\n- b\n', /:1: expected a mapping/],
    ['deny: [a1b]\ndeny: [c2d]\n', /:2: not valid YAML/],
  ])('bad config %j → exit 2 with file:line', (text, message) => {
    const error = errorOf(text);
    expect(error).toMatch(/^\.mosaic\/sanitize\.yaml:\d+: /);
    expect(error).toMatch(message);
  });
});

describe('globs', () => {
  it.each([
    ['docs/**', 'docs/a/b.md', true],
    ['docs/', 'docs/a.md', true],
    ['docs/*.md', 'docs/a/b.md', false],
    ['docs/**/*.md', 'docs/b.md', true],
    ['*.pem', 'deep/dir/key.pem', true],
    ['./test/x?.ts', 'test/x1.ts', true],
    ['test/x?.ts', 'test/x12.ts', false],
    ['a.b', 'axb', false],
  ])('%s vs %s → %s', (glob, file, expected) => {
    expect(globToRegExp(glob).test(file)).toBe(expected);
  });
});
