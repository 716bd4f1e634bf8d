import path from 'node:path';
import { fileExists } from '../system/fs.js';
import type { CommandRunner } from '../system/runner.js';

export interface LingerState {
  state: 'on' | 'off' | 'unknown';
  /** How we know (or why we cannot tell). */
  detail: string;
}

/** logind keeps one flag file per lingering user here; it is the fallback when logind cannot be asked. */
export const LINGER_DIR = '/var/lib/systemd/linger';

/**
 * Without lingering, logind stops the user manager (and with it the fleet) at the last logout,
 * and starts it at boot only when the user logs in.
 */
export async function lingerState(runner: CommandRunner, env: NodeJS.ProcessEnv, user: string): Promise<LingerState> {
  let reason: string;
  try {
    const result = await runner(['loginctl', 'show-user', user, '--property=Linger', '--value'], {
      env,
      allowFailure: true,
      timeoutMs: 10_000,
    });
    const value = result.stdout.trim();
    if (result.status === 0 && (value === 'yes' || value === 'no')) {
      return { state: value === 'yes' ? 'on' : 'off', detail: 'loginctl show-user' };
    }
    reason = result.stderr.trim().split('\n')[0] || `loginctl exited with ${result.status}`;
    // logind answered, and only knows users who are logged in or lingering.
    if (/not logged in or lingering/i.test(reason)) return { state: 'off', detail: `loginctl: ${reason}` };
  } catch (error) {
    reason = (error as Error).message;
  }
  if (await fileExists(path.join(LINGER_DIR, user))) return { state: 'on', detail: `${LINGER_DIR}/${user} exists` };
  return { state: 'unknown', detail: `loginctl could not tell (${reason}) and ${LINGER_DIR}/${user} does not exist` };
}
