import { describe, expect, it } from 'vitest';
import { classifyGenerated, isUntouchedGenerated, withFingerprint } from './fingerprint.js';

describe('generated-file fingerprint', () => {
  const v1 = withFingerprint('[Unit]\nDescription=one\n');
  const v2 = withFingerprint('[Unit]\nDescription=two\n');

  it('tells missing, current, outdated, modified and foreign apart', () => {
    expect(classifyGenerated(undefined, v1)).toBe('missing');
    expect(classifyGenerated(v1, v1)).toBe('current');
    expect(classifyGenerated(v1, v2)).toBe('outdated');
    expect(classifyGenerated(v1.replace('one', 'uno'), v1)).toBe('modified');
    expect(classifyGenerated('[Unit]\nDescription=hand made\n', v1)).toBe('foreign');
    expect(classifyGenerated('', v1)).toBe('foreign');
  });

  it('only untouched files of ours may be rewritten or removed', () => {
    expect(isUntouchedGenerated('current')).toBe(true);
    expect(isUntouchedGenerated('outdated')).toBe(true);
    expect(isUntouchedGenerated('modified')).toBe(false);
    expect(isUntouchedGenerated('foreign')).toBe(false);
  });
});
