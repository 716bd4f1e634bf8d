import type { AgentSpec, Roster } from '../../roster/model.js';

/** What an integration needs to prepare one agent. */
export interface IntegrationContext {
  roster: Roster;
  agent: AgentSpec;
  /** The agent's private config directory for this runtime: <config root>/agents/<agent>/<runtime>. */
  configDir: string;
  /** Absolute path of framework/bin/mosaic-report. */
  reporter: string;
  /** The node binary that runs framework/bin/mosaic-permission from a hook (default: the one running mosaic). */
  node?: string;
  /** The environment mosaic runs with (HOME, API keys the operator exported). */
  env: NodeJS.ProcessEnv;
  /** The agent's environment so far (roster runtime env + agent env). */
  agentEnv: Record<string, string>;
  /** What to append to the runtime's system prompt (the contract, then the persona), for runtimes that take it in their config. */
  persona?: { file: string; text: string };
}

/** What the launch gets from an integration. */
export interface PreparedLaunch {
  env: Record<string, string>;
  /** Extra launch arguments, placed before the roster's agent args. */
  args: string[];
}

export interface HookCheck {
  installed: boolean;
  detail: string;
}

/**
 * A real runtime's own extension point, wired so the running agent reports prompt submitted,
 * busy, waiting and idle to mosaic (through framework/bin/mosaic-report), with the runtime's
 * configuration kept in a private per-agent directory: the operator's global config is never edited.
 */
export interface RuntimeIntegration {
  readonly runtime: string;
  prepare(context: IntegrationContext): Promise<PreparedLaunch>;
  /** Is our hook in place (and current) in this agent's config directory? (The detail says what is missing; doctor adds the remedy.) */
  checkHook(configDir: string): Promise<HookCheck>;
  /** Does it look like the runtime can reach a model (key in env, login file, provider config)? */
  credentials(context: Pick<IntegrationContext, 'configDir' | 'env' | 'agentEnv'>): Promise<HookCheck>;
}
