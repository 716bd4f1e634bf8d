import { describe, expect, it } from 'vitest';
import { BUILTIN_RULES, DENY_RULE_ID, denyPattern, filler, looksLikeSecretValue, scanText, selfTest } from './rules.js';

// Every secret-shaped string here is assembled at run time, so this file passes the gate it tests.
const rulesOnly = { rules: BUILTIN_RULES, deny: [] };
const ruleIds = (line: string): string[] => scanText(line, rulesOnly).map((f) => f.rule);

describe('built-in rules', () => {
  it('every rule flags its own sample and leaves its clean lines alone (the self-test)', () => {
    expect(selfTest(rulesOnly).filter((r) => !r.ok)).toEqual([]);
    for (const rule of BUILTIN_RULES) expect(ruleIds(rule.sample()), rule.id).toContain(rule.id);
  });

  it.each([
    ['github-token', `x ${'gh' + 's_'}${filler(36)} y`],
    ['gitlab-token', `"${'gl' + 'rt-'}${filler(24)}"`],
    ['gitea-token', `curl -H "Authorization: token ${filler(40, '0123456789abcdef')}"`],
    ['gitea-token', `gitea_pat: "${filler(40, '0123456789abcdef')}"`],
    ['aws-access-key-id', `key=${'AS' + 'IA'}${filler(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`],
    ['private-key', `${'-----BEGIN RSA ' + 'PRIVATE'} KEY-----`],
    ['private-key', `${'-----BEGIN PGP PRIVATE KEY ' + 'BLOCK'}-----`],
    ['secret-assignment', `export ${'GITHUB' + '_TOKEN'}=${filler(10)}`],
    ['secret-assignment', `  "${'api' + 'Key'}": "${filler(20)}",`],
    ['secret-assignment', `${'pass' + 'word'}: '${filler(9)}'`],
    ['secret-assignment', `https://host/cb?${'to' + 'ken'}=${filler(16)}&x=1`],
  ])('%s: %s', (rule, line) => {
    expect(ruleIds(line)).toEqual([rule]);
  });

  it('reports line and column, one finding per rule and line', () => {
    const gh = `${'gh' + 'p_'}${filler(36)}`;
    const text = ['clean line', `a ${gh} and again ${gh}`, '', `    ${'-----BEGIN EC ' + 'PRIVATE'} KEY-----`].join('\n');
    expect(scanText(text, rulesOnly)).toEqual([
      { line: 2, column: 3, rule: 'github-token' },
      { line: 4, column: 5, rule: 'private-key' },
    ]);
  });

  it('the generic assignment rule stays quiet where a specific rule fired', () => {
    expect(ruleIds(`${'GITHUB' + '_TOKEN'}=${'gh' + 'p_'}${filler(36)}`)).toEqual(['github-token']);
  });

  it.each([
    'password: string;',
    'const token = await readToken(file);',
    'token = options.token',
    `${'pass' + 'word'}=$DB_PASSWORD`,
    `${'pass' + 'word'}: \${{ secrets.DB_PASSWORD }}`,
    `${'to' + 'ken'}: "<paste your token>"`,
    `${'to' + 'ken'}=xxxxxxxxxxxx`,
    `${'to' + 'ken'}_count = 12345678`,
    `${'pass' + 'word'}: hunter2`,
    `commit ${filler(40, '0123456789abcdef')}`,
    '-----BEGIN CERTIFICATE-----',
  ])('not a secret: %s', (line) => {
    expect(ruleIds(line)).toEqual([]);
  });

  it('looksLikeSecretValue: long, letters and digits, not a reference, path, URL or placeholder', () => {
    expect(looksLikeSecretValue(filler(12))).toBe(true);
    for (const value of [
      'short1',
      'onlyletters',
      '12345678901',
      '$VAR12345',
      '/run/secret1',
      'https://x/y1',
      'a.b.c1',
      'changeme123',
      '11111111',
    ]) {
      expect(looksLikeSecretValue(value), value).toBe(false);
    }
  });
});

describe('deny list', () => {
  it('case-insensitive, not inside a longer word, the entry numbered', () => {
    const deny = ['git.corp.example', 'jdoe'];
    const find = (line: string) => scanText(line, { rules: [], deny });
    expect(find('clone https://GIT.corp.example/x')).toEqual([{ line: 1, column: 15, rule: DENY_RULE_ID, entry: 1 }]);
    expect(find('User=jdoe')).toEqual([{ line: 1, column: 6, rule: DENY_RULE_ID, entry: 2 }]);
    expect(find('jdoes and xjdoe and git.corp.examples')).toEqual([]);
    expect(denyPattern('a.b').test('axb')).toBe(false);
  });

  it('skips: rules switched off for a file, and the deny list for the config itself', () => {
    const line = `jdoe ${'gh' + 'p_'}${filler(36)}`;
    const scan = { rules: BUILTIN_RULES, deny: ['jdoe'] };
    expect(scanText(line, scan).map((f) => f.rule)).toEqual(['github-token', DENY_RULE_ID]);
    expect(scanText(line, scan, { rules: new Set(['github-token']) }).map((f) => f.rule)).toEqual([DENY_RULE_ID]);
    expect(scanText(line, scan, { deny: true }).map((f) => f.rule)).toEqual(['github-token']);
  });

  it('the self-test covers each deny entry', () => {
    expect(selfTest({ rules: [], deny: ['jdoe', 'git.corp.example'] })).toEqual([
      { rule: 'deny-list #1', ok: true },
      { rule: 'deny-list #2', ok: true },
    ]);
  });
});
