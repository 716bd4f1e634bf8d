import { UsageError } from '../core/errors.js';

/**
 * A count given on the command line (`-n 20`): ASCII digits only, within [min, max]. Number() alone would take
 * '' (0), ' 3', '0x10', '1e2' and '+5'; an option that means "how many" takes none of those.
 */
export function parseWholeNumber(flag: string, value: string, min: number, max: number): number {
  const parsed = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return parsed;
}
