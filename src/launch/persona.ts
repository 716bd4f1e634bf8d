import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AgentSpec } from '../roster/model.js';
import { packageRoot } from '../system/package.js';

/** Shipped personas: framework/personas/<class>.md. */
export const shippedPersonaFile = (agentClass: string): string => path.join(packageRoot(), 'framework', 'personas', `${agentClass}.md`);

/** The agent's persona file: the roster's persona_file, else the shipped one for its class, else none. */
export function personaFileFor(agent: Pick<AgentSpec, 'personaFile' | 'class'>): string | undefined {
  if (agent.personaFile) return agent.personaFile;
  if (!agent.class || !/^[A-Za-z0-9_.-]+$/.test(agent.class)) return undefined;
  const shipped = shippedPersonaFile(agent.class);
  return existsSync(shipped) ? shipped : undefined;
}
