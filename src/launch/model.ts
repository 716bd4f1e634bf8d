import type { AgentSpec } from '../roster/model.js';

/** The flag each built-in runtime takes its model with; custom runtimes and the stub take none. */
export const MODEL_FLAGS: Readonly<Record<string, string>> = { claude: '--model', codex: '-m', opencode: '-m', pi: '--model' };

export interface ModelChoice {
  /** What is passed to the runtime, or null when nothing is. */
  model: string | null;
  source: 'model' | 'model_hint' | 'none';
  /** Why a configured hint or model is not passed (a `fleet verify` warning). */
  warning?: string;
}

const CLAUDE_FAMILIES = ['opus', 'sonnet', 'haiku'];

/**
 * Upstream rosters carry free text ("Claude Opus", "Pi GPT-5.5"). A hint resolves only when it
 * names a model family the runtime knows by alias; anything else resolves to nothing (a warning),
 * never to a guessed flag the runtime would reject at start.
 */
export function modelFromHint(runtime: string, hint: string): string | null {
  const text = hint.toLowerCase();
  const family = CLAUDE_FAMILIES.find((name) => new RegExp(`\\b${name}\\b`).test(text));
  const gpt = /\bgpt[- ]?(\d+(?:\.\d+)?(?:-[a-z]+)?)\b/.exec(text)?.[1];
  switch (runtime) {
    case 'claude':
      return family ?? null; // claude's own aliases: opus, sonnet, haiku
    case 'pi':
      // pi resolves a pattern against its configured models; upstream runs GPT through openai-codex.
      if (gpt) return `openai-codex/gpt-${gpt}`;
      return family ?? null;
    case 'codex':
      return gpt ? `gpt-${gpt}` : null;
    case 'opencode':
      return gpt ? `openai/gpt-${gpt}` : null;
    default:
      return null;
  }
}

export function chooseModel(agent: Pick<AgentSpec, 'runtime' | 'model' | 'modelHint' | 'name'>): ModelChoice {
  const flag = MODEL_FLAGS[agent.runtime];
  if (agent.model !== undefined) {
    if (!flag)
      return {
        model: null,
        source: 'none',
        warning: `agent "${agent.name}": runtime "${agent.runtime}" takes no model flag; model "${agent.model}" is not passed`,
      };
    return { model: agent.model, source: 'model' };
  }
  if (agent.modelHint === undefined) return { model: null, source: 'none' };
  const resolved = flag ? modelFromHint(agent.runtime, agent.modelHint) : null;
  if (resolved === null) {
    return {
      model: null,
      source: 'none',
      warning: `agent "${agent.name}": model_hint "${agent.modelHint}" names no model mosaic knows for runtime "${agent.runtime}"; the runtime's default model is used (set model: to choose one)`,
    };
  }
  return { model: resolved, source: 'model_hint' };
}
