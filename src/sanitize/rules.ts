/*
 * The sanitization gate's rules, as data: an id, what it finds, a regular expression, an optional
 * filter for matches that are references rather than values, and self-test lines built at run
 * time by concatenation, so that no real-looking secret is ever written in this repository (and
 * the gate does not flag its own source).
 */

export interface Rule {
  id: string;
  description: string;
  /** Global (g) expressions; matched line by line. */
  pattern: RegExp;
  /** Keep a match? (references, placeholders and code are not secrets) */
  accept?: (match: RegExpExecArray) => boolean;
  /** A line this rule must flag. */
  sample: () => string;
  /** Lines this rule must leave alone. */
  clean?: () => string[];
}

/** `n` characters of letters and digits: "a1B2c3…", so samples look like tokens without being any. */
export function filler(n: number, alphabet = 'aB3dE5gH7jK9mN2pQ4sT6vW8yZ0'): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[(i * 7 + 3) % alphabet.length];
  return out;
}
const upperFiller = (n: number): string => filler(n, 'QWERTY2345ZXCVB6789NMASDFGHJKLP');
const hexFiller = (n: number): string => filler(n, '0123456789abcdef');

/** Words that make an assignment's value a secret: password=…, api_key: …, GITHUB_TOKEN=… */
const SECRET_KEY = String.raw`(?:password|passwd|pwd|passphrase|secret|secret[_-]?key|token|api[_-]?key|access[_-]?key|private[_-]?key)`;

const PLACEHOLDER = /example|placeholder|redacted|changeme|your[_-]|xxxx|\*\*\*|<|>/i;
const DOTTED_NAME = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;

/** An assigned value that is a literal secret, not a reference ($VAR, ${…}, {{…}}, <…>), code, a path or a placeholder. */
export function looksLikeSecretValue(value: string): boolean {
  if (value.length < 8) return false;
  if (/^[$%<{[(@&*#\\/.~]/.test(value)) return false;
  if (/[(){}[\]]/.test(value) || value.includes('://')) return false;
  if (!/[A-Za-z]/.test(value) || !/\d/.test(value)) return false;
  if (PLACEHOLDER.test(value) || DOTTED_NAME.test(value)) return false;
  if (/^(.)\1+$/.test(value)) return false;
  return true;
}

const assign = (key: string, value: string, quote = ''): string => `${key}=${quote}${value}${quote}`;

export const BUILTIN_RULES: readonly Rule[] = [
  {
    id: 'github-token',
    description: 'GitHub token (ghp_, gho_, ghu_, ghs_, ghr_)',
    pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g,
    sample: () => `token in a log: ${'gh' + 'p_'}${filler(36)}`,
    clean: () => [`${'gh' + 'p_'}short`],
  },
  {
    id: 'github-fine-grained-token',
    description: 'GitHub fine-grained personal access token (github_pat_)',
    pattern: /\bgithub_pat_[A-Za-z0-9_]{50,255}\b/g,
    sample: () => `${'github' + '_pat_'}${filler(22)}_${filler(59)}`,
  },
  {
    id: 'gitlab-token',
    description: 'GitLab token (glpat-, gldt-, glrt-, glptt-, …)',
    pattern: /\bgl(?:pat|dt|rt|ptt|cbt|oas|soat|ffct|imt|agent)-[A-Za-z0-9_-]{20,}/g,
    sample: () => `${'glp' + 'at-'}${filler(20)}`,
  },
  {
    id: 'gitea-token',
    description: 'Gitea access token (40 hex digits assigned to a Gitea token, or in "Authorization: token …")',
    pattern: /(?:\bgitea[\w-]*(?:token|key|secret|password|pat)["']?\s*[:=]\s*["']?|\bauthorization:\s*token\s+)[0-9a-f]{40}\b/gi,
    sample: () => `${'GITEA' + '_TOKEN'}=${hexFiller(40)}`,
    clean: () => [`commit ${hexFiller(40)}`, `GITEA_TOKEN=$GITEA_TOKEN`],
  },
  {
    id: 'aws-access-key-id',
    description: 'AWS access key id (AKIA…, ASIA…)',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
    sample: () => `aws_access_key_id = ${'AK' + 'IA'}${upperFiller(16)}`,
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key assignment',
    pattern: /\baws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi,
    sample: () => `${'aws_secret' + '_access_key'} = ${filler(30)}/${filler(9)}`,
  },
  {
    id: 'private-key',
    description: 'private key block (PEM, OpenSSH, PGP)',
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g,
    sample: () => `${'-----BEGIN' + ' OPENSSH PRIVATE'} KEY-----`,
    clean: () => ['-----BEGIN PUBLIC KEY-----'],
  },
  {
    id: 'slack-token',
    description: 'Slack token (xoxb-, xoxp-, …)',
    pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g,
    sample: () => `${'xo' + 'xb-'}${filler(12)}-${filler(24)}`,
  },
  {
    id: 'anthropic-api-key',
    description: 'Anthropic API key (sk-ant-)',
    pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/g,
    sample: () => `${'sk-' + 'ant-'}api03-${filler(40)}`,
  },
  {
    id: 'openai-api-key',
    description: 'OpenAI API key',
    pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}/g,
    sample: () => `${'sk-' + 'proj-'}${filler(20)}${'T3Blbk' + 'FJ'}${filler(20)}`,
  },
  {
    id: 'npm-token',
    description: 'npm access token (npm_)',
    pattern: /\bnpm_[A-Za-z0-9]{36}\b/g,
    sample: () => `//registry.npmjs.org/:_authToken=${'np' + 'm_'}${filler(36)}`,
  },
  {
    id: 'jwt',
    description: 'JSON Web Token (three base64url parts, header and payload starting eyJ)',
    pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g,
    sample: () => `Bearer ${'ey' + 'J'}${filler(16)}.${'ey' + 'J'}${filler(24)}.${filler(30)}`,
  },
  {
    id: 'secret-assignment',
    description: 'a literal value assigned to a password, token, secret or key (password=…, token: …)',
    pattern: new RegExp(String.raw`(?<![\w.-])[\w.-]*${SECRET_KEY}(["']?)\s*(?::=|=|:)\s*(["'\x60]?)([^\s"'\x60,;]+)`, 'gi'),
    accept: (match) => looksLikeSecretValue(match[3] ?? ''),
    sample: () => assign('db_' + 'password', `${filler(6)}42${filler(4)}`),
    clean: () => [
      assign('password', '${DB_PASSWORD}'),
      'token: string;',
      'const token = randomBytes(32).toString("hex");',
      'token: opts.token2',
      `${'api_key'}: "<your key here>"`,
      'token_count = 12345678',
      'password_file=/run/secrets/db1',
    ],
  },
];

/** The rule for deny-list entries: private host and user names from the config. */
export const DENY_RULE_ID = 'deny-list';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A deny-list entry as a case-insensitive match that does not start or end inside a word. */
export function denyPattern(entry: string): RegExp {
  return new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(entry)}(?![A-Za-z0-9])`, 'gi');
}

export interface LineFinding {
  line: number;
  column: number;
  rule: string;
  /** For deny-list findings: which entry (1-based), so the name itself need not be printed. */
  entry?: number;
}

export interface ScanRules {
  rules: readonly Rule[];
  deny: readonly string[];
}

/** The generic rule: quiet on a line where a specific format matched. */
export const GENERIC_RULE_ID = 'secret-assignment';

/** 1-based column of the rule's first accepted match on the line. */
function firstMatch(rule: Rule, line: string): number | undefined {
  rule.pattern.lastIndex = 0;
  for (let match = rule.pattern.exec(line); match; match = rule.pattern.exec(line)) {
    if (match[0].length === 0) rule.pattern.lastIndex++;
    if (!rule.accept || rule.accept(match)) return match.index + 1;
  }
  return undefined;
}

/** Every finding in `text`, at most one per rule and line; the generic assignment rule only where no specific format matched. */
export function scanText(text: string, scan: ScanRules, skip: { rules?: ReadonlySet<string>; deny?: boolean } = {}): LineFinding[] {
  const findings: LineFinding[] = [];
  const denyPatterns = skip.deny ? [] : scan.deny.map((entry, index) => ({ index, pattern: denyPattern(entry) }));
  const ordered = [...scan.rules.filter((r) => r.id !== GENERIC_RULE_ID), ...scan.rules.filter((r) => r.id === GENERIC_RULE_ID)];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    const onLine: LineFinding[] = [];
    // A specific format on the line (reported, or allowed for this file) silences the generic rule there.
    let specific = false;
    for (const rule of ordered) {
      const generic = rule.id === GENERIC_RULE_ID;
      if (generic && (specific || skip.rules?.has(rule.id))) continue;
      const column = firstMatch(rule, line);
      if (column === undefined) continue;
      if (!generic) specific = true;
      if (!skip.rules?.has(rule.id)) onLine.push({ line: i + 1, column, rule: rule.id });
    }
    if (!skip.rules?.has(DENY_RULE_ID)) {
      for (const { index, pattern } of denyPatterns) {
        pattern.lastIndex = 0;
        const match = pattern.exec(line);
        if (match) onLine.push({ line: i + 1, column: match.index + 1, rule: DENY_RULE_ID, entry: index + 1 });
      }
    }
    findings.push(...onLine);
  }
  return findings;
}

export interface SelfTestResult {
  rule: string;
  ok: boolean;
  problem?: string;
}

/** Each rule flags its sample and leaves its clean lines alone; each deny entry flags a line that names it. */
export function selfTest(scan: ScanRules): SelfTestResult[] {
  const results: SelfTestResult[] = [];
  for (const rule of scan.rules) {
    const only = { rules: [rule], deny: [] };
    const fired = scanText(rule.sample(), only).some((f) => f.rule === rule.id);
    const falsePositive = (rule.clean?.() ?? []).find((line) => scanText(line, only).length > 0);
    results.push(
      !fired
        ? { rule: rule.id, ok: false, problem: 'its sample was not flagged' }
        : falsePositive !== undefined
          ? { rule: rule.id, ok: false, problem: 'it flagged a line it must leave alone' }
          : { rule: rule.id, ok: true },
    );
  }
  scan.deny.forEach((entry, index) => {
    const fired = scanText(`see ${entry}, then`, { rules: [], deny: [entry] }).some((f) => f.entry === 1);
    results.push(
      fired
        ? { rule: `${DENY_RULE_ID} #${index + 1}`, ok: true }
        : { rule: `${DENY_RULE_ID} #${index + 1}`, ok: false, problem: 'not found in a line naming it' },
    );
  });
  return results;
}
