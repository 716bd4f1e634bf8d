import { copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensurePrivateDir, fileExists } from '../../system/fs.js';
import { packageRoot } from '../../system/package.js';
import { applySeed, fileContains, linkCredential, readJsonObject } from './files.js';
import type { HookCheck, IntegrationContext, PreparedLaunch, RuntimeIntegration } from './types.js';

const EXTENSION = 'mosaic-events.ts';
const extensionSource = (): string => path.join(packageRoot(), 'framework', 'integrations', 'pi', EXTENSION);

/**
 * pi: PI_CODING_AGENT_DIR is the agent's own directory; pi auto-loads extensions/*.ts from it,
 * where ours reports input (with the prompt, for the acknowledgement), agent_start and agent_end.
 * The operator's models.json and settings.json are copied in when the agent has none, and the
 * login (auth.json) is linked, so the agent works like the operator's pi without touching ~/.pi.
 */
export const piIntegration: RuntimeIntegration = {
  runtime: 'pi',

  async prepare(context: IntegrationContext): Promise<PreparedLaunch> {
    const { configDir, env } = context;
    await applySeed(context.roster.runtimes.pi?.seedDir, configDir);
    const userDir = path.join(env.HOME ?? os.homedir(), '.pi', 'agent');
    for (const name of ['models.json', 'settings.json']) {
      const target = path.join(configDir, name);
      if (!(await fileExists(target)) && (await fileExists(path.join(userDir, name)))) await copyFile(path.join(userDir, name), target);
    }
    await linkCredential(path.join(userDir, 'auth.json'), path.join(configDir, 'auth.json'));
    await ensurePrivateDir(path.join(configDir, 'extensions'));
    await copyFile(extensionSource(), path.join(configDir, 'extensions', EXTENSION));
    return { env: { PI_CODING_AGENT_DIR: configDir }, args: [] };
  },

  async checkHook(configDir: string): Promise<HookCheck> {
    const file = path.join(configDir, 'extensions', EXTENSION);
    const ok = await fileContains(file, 'mosaic-events 1');
    return { installed: ok, detail: ok ? `extension ${file}` : `no mosaic extension at ${file}` };
  },

  async credentials({ configDir, env, agentEnv }): Promise<HookCheck> {
    if (await fileExists(path.join(configDir, 'auth.json'))) return { installed: true, detail: 'auth.json present' };
    const models = await readJsonObject(path.join(configDir, 'models.json')).catch(() => ({}));
    if (JSON.stringify(models).includes('apiKey')) return { installed: true, detail: 'a provider with an apiKey in models.json' };
    for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'OPENROUTER_API_KEY']) {
      if (agentEnv[name] ?? env[name]) return { installed: true, detail: `${name} is set` };
    }
    return { installed: false, detail: 'no auth.json, no provider key: run `pi` and `/login`, or export a provider API key' };
  },
};
