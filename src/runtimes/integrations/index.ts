import type { RuntimeIntegration } from './types.js';

/** Integrations are loaded only for the runtimes a fleet uses. */
const LOADERS: Record<string, () => Promise<RuntimeIntegration>> = {
  claude: async () => (await import('./claude.js')).claudeIntegration,
  codex: async () => (await import('./codex.js')).codexIntegration,
  pi: async () => (await import('./pi.js')).piIntegration,
  opencode: async () => (await import('./opencode.js')).opencodeIntegration,
};

export const INTEGRATED_RUNTIMES = Object.keys(LOADERS);

export async function integrationFor(runtime: string): Promise<RuntimeIntegration | undefined> {
  return LOADERS[runtime]?.();
}
