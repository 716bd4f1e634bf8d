import os from 'node:os';
import path from 'node:path';
import { fileExists } from '../../system/fs.js';
import { applySeed, fileContains, linkCredential, readJsonObject, sh, writeJson } from './files.js';
import type { HookCheck, IntegrationContext, PreparedLaunch, RuntimeIntegration } from './types.js';

/** Claude Code hook events and what each says about the agent. */
const HOOKS: Record<string, string> = {
  SessionStart: 'idle SessionStart',
  UserPromptSubmit: 'busy --ack UserPromptSubmit',
  PreToolUse: 'busy PreToolUse',
  PermissionRequest: 'waiting PermissionRequest',
  PostToolUse: 'busy PostToolUse',
  Notification: 'notification Notification',
  Stop: 'idle Stop',
};

const hookCommand = (reporter: string, args: string): string => `sh ${sh(reporter)} ${args}`;

/**
 * Claude Code: CLAUDE_CONFIG_DIR points at the agent's own directory (settings.json with our
 * hooks, .claude.json with onboarding and this workspace's trust already answered), so no
 * dialog blocks the first prompt and ~/.claude is never written. The operator's login is
 * reused through a symlink to ~/.claude/.credentials.json when one exists.
 */
export const claudeIntegration: RuntimeIntegration = {
  runtime: 'claude',

  async prepare(context: IntegrationContext): Promise<PreparedLaunch> {
    const { configDir, agent, env, agentEnv } = context;
    await applySeed(context.roster.runtimes.claude?.seedDir, configDir);

    const settingsFile = path.join(configDir, 'settings.json');
    const settings = await readJsonObject(settingsFile);
    const hooks = (settings.hooks && typeof settings.hooks === 'object' ? settings.hooks : {}) as Record<string, unknown[]>;
    for (const [event, args] of Object.entries(HOOKS)) {
      // Keep hooks the seed brought; replace only ours (recognised by the reporter path).
      const others = (hooks[event] ?? []).filter((group) => !JSON.stringify(group).includes(context.reporter));
      hooks[event] = [...others, { hooks: [{ type: 'command', command: hookCommand(context.reporter, args) }] }];
    }
    await writeJson(settingsFile, { ...settings, hooks });

    const stateFile = path.join(configDir, '.claude.json');
    const state = await readJsonObject(stateFile);
    const projects = (state.projects && typeof state.projects === 'object' ? state.projects : {}) as Record<
      string,
      Record<string, unknown>
    >;
    projects[agent.workingDirectory] = {
      ...projects[agent.workingDirectory],
      hasTrustDialogAccepted: true,
      hasCompletedProjectOnboarding: true,
    };
    const key = agentEnv.ANTHROPIC_API_KEY ?? env.ANTHROPIC_API_KEY;
    const responses = (state.customApiKeyResponses ?? { approved: [], rejected: [] }) as { approved: string[]; rejected: string[] };
    if (key && !responses.approved.includes(key.slice(-20))) responses.approved.push(key.slice(-20));
    await writeJson(stateFile, {
      theme: 'dark',
      ...state,
      hasCompletedOnboarding: true,
      lastOnboardingVersion: state.lastOnboardingVersion ?? '99.0.0',
      customApiKeyResponses: responses,
      projects,
    });
    await linkCredential(path.join(env.HOME ?? os.homedir(), '.claude', '.credentials.json'), path.join(configDir, '.credentials.json'));
    return { env: { CLAUDE_CONFIG_DIR: configDir, DISABLE_AUTOUPDATER: '1' }, args: [] };
  },

  async checkHook(configDir: string): Promise<HookCheck> {
    const file = path.join(configDir, 'settings.json');
    const ok = await fileContains(file, 'mosaic-report');
    return { installed: ok, detail: ok ? `hooks in ${file}` : `no mosaic hooks in ${file}: run \`mosaic fleet restart <agent>\`` };
  },

  async credentials({ configDir, env, agentEnv }): Promise<HookCheck> {
    for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN']) {
      if (agentEnv[name] ?? env[name]) return { installed: true, detail: `${name} is set` };
    }
    if (await fileExists(path.join(configDir, '.credentials.json'))) return { installed: true, detail: 'login credentials present' };
    return { installed: false, detail: 'no ANTHROPIC_API_KEY and no login: run `claude` once and log in, or export ANTHROPIC_API_KEY' };
  },
};
