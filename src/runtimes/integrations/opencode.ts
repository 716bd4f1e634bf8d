import { copyFile, readdir, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensurePrivateDir, fileExists, readFileOrUndefined, writeFileAtomic } from '../../system/fs.js';
import { packageRoot } from '../../system/package.js';
import { applySeed, fileContains, linkCredential, readJsonObject, writeJson } from './files.js';
import type { HookCheck, IntegrationContext, PreparedLaunch, RuntimeIntegration } from './types.js';

const PLUGIN = 'mosaic-events.js';
const pluginSource = (): string => path.join(packageRoot(), 'framework', 'integrations', 'opencode', PLUGIN);
const dirs = (configDir: string) => ({
  config: path.join(configDir, 'config'),
  data: path.join(configDir, 'data'),
  state: path.join(configDir, 'state'),
  cache: path.join(configDir, 'cache'),
});

const PERSONA = 'mosaic-persona.md';

/**
 * The persona goes in as one of opencode's `instructions` files, which opencode appends after its
 * own system prompt: a copy at a fixed name in the agent's config, listed once in opencode.json
 * (and taken out again when the agent no longer has a persona).
 */
async function placePersona(opencodeConfig: string, text: string | undefined): Promise<void> {
  const file = path.join(opencodeConfig, PERSONA);
  const configFile = path.join(opencodeConfig, 'opencode.json');
  const config = await readJsonObject(configFile);
  const listed = Array.isArray(config.instructions) ? (config.instructions as unknown[]).filter((entry) => entry !== file) : [];
  if (text === undefined) {
    await rm(file, { force: true });
    if (Array.isArray(config.instructions) && listed.length !== config.instructions.length) {
      await writeJson(configFile, { ...config, instructions: listed });
    }
    return;
  }
  await writeFileAtomic(file, text);
  await writeJson(configFile, { ...config, instructions: [...listed, file] });
}

const PLUGIN_PACKAGE = '@opencode-ai/plugin';
/** Says the lock is mosaic's declaration, not an install: taken back when other code may need the package. */
const DECLARED_BY = 'mosaic: its plugin imports nothing from this package, so opencode need not install it';
/** Where opencode loads a config directory's own code from (plugins and custom tools may import the package). */
const CODE_DIRS = ['plugin', 'plugins', 'tool', 'tools'];

const declaredByUs = (lockText: string): boolean => {
  try {
    return (JSON.parse(lockText) as { mosaic?: unknown } | null)?.mosaic === DECLARED_BY;
  } catch {
    return false;
  }
};

/**
 * At every start, opencode installs `@opencode-ai/plugin` into a config directory that has no
 * `node_modules`, or whose `package-lock.json` does not list the package (Npm.install in 1.18):
 * 64 MB from the npm registry, 16 s of CPU, and on a machine without the registry a blank
 * screen for over a minute until the install fails, at every start. mosaic's plugin needs
 * nothing from the package, so when it is the only code in the directory the lock says the
 * package is there. As soon as other code is (a seeded plugin or tool may import it), or the
 * directory has its own package.json or node_modules, the declaration goes or is never made,
 * and opencode installs as it would without mosaic.
 */
export async function declarePluginPackage(opencodeConfig: string): Promise<'declared' | 'left'> {
  const lockFile = path.join(opencodeConfig, 'package-lock.json');
  const nodeModules = path.join(opencodeConfig, 'node_modules');
  const lockText = await readFileOrUndefined(lockFile);
  const ours = lockText !== undefined && declaredByUs(lockText);
  const otherCode = await Promise.all(
    CODE_DIRS.map(async (dir) => (await readdir(path.join(opencodeConfig, dir)).catch(() => [] as string[])).some((f) => f !== PLUGIN)),
  );
  if (otherCode.includes(true)) {
    if (ours) await Promise.all([rm(lockFile, { force: true }), rmdir(nodeModules).catch(() => undefined)]);
    return 'left';
  }
  if (ours) return 'declared';
  // Any lock of its own, even one that does not parse, is the operator's or opencode's: never overwritten.
  if (lockText !== undefined || (await fileExists(nodeModules)) || (await fileExists(path.join(opencodeConfig, 'package.json')))) {
    return 'left';
  }
  await ensurePrivateDir(nodeModules);
  await writeJson(lockFile, {
    mosaic: DECLARED_BY,
    lockfileVersion: 3,
    requires: true,
    packages: { '': { dependencies: { [PLUGIN_PACKAGE]: '*' } } },
  });
  return 'declared';
}

/**
 * opencode: its four XDG directories point into the agent's own directory; the plugin in
 * config/opencode/plugin reports session.status busy/idle, permission requests and each chat
 * message. The seed directory is copied to config/opencode (opencode.json, plugins and tools of
 * the operator's own, with their node_modules if they need packages).
 */
export const opencodeIntegration: RuntimeIntegration = {
  runtime: 'opencode',

  async prepare(context: IntegrationContext): Promise<PreparedLaunch> {
    const { configDir, env } = context;
    const d = dirs(configDir);
    const opencodeConfig = path.join(d.config, 'opencode');
    await applySeed(context.roster.runtimes.opencode?.seedDir, opencodeConfig);
    for (const dir of Object.values(d)) await ensurePrivateDir(dir);
    await ensurePrivateDir(path.join(opencodeConfig, 'plugin'));
    await copyFile(pluginSource(), path.join(opencodeConfig, 'plugin', PLUGIN));
    await declarePluginPackage(opencodeConfig);
    await placePersona(opencodeConfig, context.persona?.text);
    await ensurePrivateDir(path.join(d.data, 'opencode'));
    await linkCredential(
      path.join(env.HOME ?? os.homedir(), '.local', 'share', 'opencode', 'auth.json'),
      path.join(d.data, 'opencode', 'auth.json'),
    );
    return {
      env: {
        XDG_CONFIG_HOME: d.config,
        XDG_DATA_HOME: d.data,
        XDG_STATE_HOME: d.state,
        XDG_CACHE_HOME: d.cache,
        OPENCODE_DISABLE_AUTOUPDATE: '1',
      },
      args: [],
    };
  },

  async checkHook(configDir: string): Promise<HookCheck> {
    const file = path.join(dirs(configDir).config, 'opencode', 'plugin', PLUGIN);
    const ok = await fileContains(file, 'mosaic-events 1');
    return { installed: ok, detail: ok ? `plugin ${file}` : `no mosaic plugin at ${file}` };
  },

  async credentials({ configDir, env, agentEnv }): Promise<HookCheck> {
    if (await fileExists(path.join(dirs(configDir).data, 'opencode', 'auth.json'))) return { installed: true, detail: 'auth.json present' };
    const config = (await readFileOrUndefined(path.join(dirs(configDir).config, 'opencode', 'opencode.json'))) ?? '';
    if (/"apiKey"/.test(config)) return { installed: true, detail: 'a provider with an apiKey in opencode.json' };
    for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENROUTER_API_KEY']) {
      if (agentEnv[name] ?? env[name]) return { installed: true, detail: `${name} is set` };
    }
    return { installed: false, detail: 'no auth.json, no provider key: run `opencode auth login`, or export a provider API key' };
  },
};
