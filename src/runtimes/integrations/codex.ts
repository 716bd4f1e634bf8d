import os from 'node:os';
import path from 'node:path';
import { fileExists, readFileOrUndefined, writeFileAtomic } from '../../system/fs.js';
import { applySeed, fileContains, linkCredential, permissionHook, sh, writeJson } from './files.js';
import type { HookCheck, IntegrationContext, PreparedLaunch, RuntimeIntegration } from './types.js';

const HOOKS: Record<string, string> = {
  SessionStart: 'idle SessionStart',
  UserPromptSubmit: 'busy --ack UserPromptSubmit',
  PreToolUse: 'busy PreToolUse',
  PostToolUse: 'busy PostToolUse',
  Stop: 'idle Stop',
};

/** Top-level TOML keys must come before the first table, so they are prepended when absent. */
function withTopLevel(toml: string, key: string, value: string): string {
  return new RegExp(`^\\s*${key}\\s*=`, 'm').test(toml) ? toml : `${key} = ${value}\n${toml}`;
}
function withTable(toml: string, header: string, body: string): string {
  return toml.includes(header) ? toml : `${toml.trimEnd()}\n\n${header}\n${body}\n`;
}
const tomlString = (value: string): string => JSON.stringify(value);

/**
 * Codex CLI: CODEX_HOME is the agent's own directory. Our hooks go in hooks.json; codex asks
 * the operator to trust new hooks, so the agent runs with --dangerously-bypass-hook-trust,
 * which is safe only because this CODEX_HOME holds no hooks but ours and the seed's.
 * The workspace is marked trusted and the background app-server daemon is not auto-started
 * (it would outlive the agent).
 */
export const codexIntegration: RuntimeIntegration = {
  runtime: 'codex',

  async prepare(context: IntegrationContext): Promise<PreparedLaunch> {
    const { configDir, agent, env } = context;
    await applySeed(context.roster.runtimes.codex?.seedDir, configDir);
    const hooks: Record<string, unknown[]> = {};
    for (const [event, args] of Object.entries(HOOKS)) {
      hooks[event] = [{ hooks: [{ type: 'command', command: `sh ${sh(context.reporter)} ${args}` }] }];
    }
    // codex 0.171 asks this hook before it shows its approval prompt (which appears only if the hook
    // answers nothing): the waiter reports "waiting" itself and answers `mosaic agent approve|deny`.
    hooks.PermissionRequest = [permissionHook(context, 'codex', '--report')];
    await writeJson(path.join(configDir, 'hooks.json'), { hooks });

    const configFile = path.join(configDir, 'config.toml');
    let toml = (await readFileOrUndefined(configFile)) ?? '';
    toml = withTopLevel(toml, 'check_for_update_on_startup', 'false');
    toml = withTable(toml, `[projects.${tomlString(agent.workingDirectory)}]`, 'trust_level = "trusted"');
    toml = withTable(toml, '[features]', 'daemon_auto_start = false');
    await writeFileAtomic(configFile, toml);
    await linkCredential(path.join(env.HOME ?? os.homedir(), '.codex', 'auth.json'), path.join(configDir, 'auth.json'));
    return { env: { CODEX_HOME: configDir }, args: ['--dangerously-bypass-hook-trust'] };
  },

  async checkHook(configDir: string): Promise<HookCheck> {
    const file = path.join(configDir, 'hooks.json');
    const ok = await fileContains(file, 'mosaic-report');
    if (ok && !(await fileContains(file, 'mosaic-permission'))) {
      return { installed: false, detail: `no approval hook (mosaic-permission) in ${file}` };
    }
    return { installed: ok, detail: ok ? `hooks in ${file}` : `no mosaic hooks in ${file}` };
  },

  async credentials({ configDir, env, agentEnv }): Promise<HookCheck> {
    for (const name of ['OPENAI_API_KEY', 'CODEX_API_KEY']) {
      if (agentEnv[name] ?? env[name]) return { installed: true, detail: `${name} is set` };
    }
    if (await fileExists(path.join(configDir, 'auth.json'))) return { installed: true, detail: 'login credentials present' };
    const toml = (await readFileOrUndefined(path.join(configDir, 'config.toml'))) ?? '';
    const envKey = /^\s*env_key\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
    if (envKey && (agentEnv[envKey] ?? env[envKey])) return { installed: true, detail: `provider key ${envKey} is set` };
    return { installed: false, detail: 'no OPENAI_API_KEY and no login: run `codex login`, or export OPENAI_API_KEY' };
  },
};
