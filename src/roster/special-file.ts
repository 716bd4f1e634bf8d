import { stat } from 'node:fs/promises';
import { UserError } from '../core/errors.js';

/**
 * The roster path names something that reading would not end on (a FIFO would block until a writer comes,
 * a device could stream forever): refused before any read. Returns the error, or undefined for a regular
 * file, a directory or a missing path (the read says what is wrong with those).
 */
export async function notARegularFile(file: string): Promise<UserError | undefined> {
  const stats = await stat(file).catch(() => undefined);
  if (!stats || stats.isFile() || stats.isDirectory()) return undefined;
  const kind = stats.isFIFO() ? 'a named pipe (FIFO)' : stats.isSocket() ? 'a socket' : 'a device';
  return new UserError(`roster ${file} is ${kind}, not a regular file`, {
    hint: 'pass the roster as a file with --roster <path> (the default is <config root>/roster.yaml)',
  });
}
