import path from 'node:path';
import { isExecutable } from '../system/fs.js';

/** Absolute path of an executable on PATH (units must not depend on the manager's PATH). */
export async function findOnPath(program: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean)) {
    const candidate = path.join(dir, program);
    if (path.isAbsolute(candidate) && (await isExecutable(candidate))) return candidate;
  }
  return undefined;
}
