import path from 'node:path';
import { readFileIfReadable } from '../system/fs.js';

/** The agent's runtime session id, as the launcher and the runtime's hooks record it. */
export const sessionIdFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.session`);
/** The recorded session id, if any (a plain id: anything else in the file is ignored, as the launcher does). */
export function readSessionId(runDir: string, agent: string): string | undefined {
  const id = readFileIfReadable(sessionIdFile(runDir, agent))?.split('\n')[0]?.trim();
  return id && /^[A-Za-z0-9_.-]+$/.test(id) ? id : undefined;
}
