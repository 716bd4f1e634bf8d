import os from 'node:os';
import path from 'node:path';
import { fileExists } from '../../system/fs.js';
import { applySeed, fileContains, linkCredential, permissionHook, readJsonObject, sh, writeJson } from './files.js';
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
  // Fires instead of Stop when an API error (a rate limit among them) ended the turn.
  StopFailure: 'idle StopFailure',
};

/**
 * framework/bin/mosaic-limit, beside the reporter in the same hook group: StopFailure with error
 * "rate_limit" writes the agent's .limit file, a Stop (a turn that went through) removes it.
 */
const LIMIT_HOOKS: Record<string, string> = { StopFailure: 'hook', Stop: 'clear' };
const limitScript = (reporter: string): string => path.join(path.dirname(reporter), 'mosaic-limit');

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
    const waiter = permissionHook(context, 'claude');
    const ours = (group: unknown): boolean => {
      const text = JSON.stringify(group);
      return text.includes(context.reporter) || text.includes("/mosaic-permission'");
    };
    for (const [event, args] of Object.entries(HOOKS)) {
      // Keep hooks the seed brought; replace only ours (recognised by the reporter and waiter paths).
      const others = (hooks[event] ?? []).filter((group) => !ours(group));
      const limit = LIMIT_HOOKS[event]
        ? [{ type: 'command', command: hookCommand(limitScript(context.reporter), LIMIT_HOOKS[event]) }]
        : [];
      hooks[event] = [...others, { hooks: [{ type: 'command', command: hookCommand(context.reporter, args) }, ...limit] }];
      // claude runs an event's hooks in parallel: the reporter says "waiting" while the waiter waits.
      if (event === 'PermissionRequest') hooks[event].push(waiter);
    }
    // A subscriber's status line gets `rate_limits` (5 h and 7 d windows): mosaic-limit prints a short
    // line and records a window at 100%. The operator's own status line (from the seed) is kept.
    const statusLine =
      settings.statusLine && !JSON.stringify(settings.statusLine).includes('mosaic-limit')
        ? settings.statusLine
        : { type: 'command', command: hookCommand(limitScript(context.reporter), 'statusline') };
    await writeJson(settingsFile, { ...settings, hooks, statusLine });

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
    if (ok && !(await fileContains(file, 'mosaic-permission'))) {
      return { installed: false, detail: `no approval hook (mosaic-permission) in ${file}` };
    }
    return { installed: ok, detail: ok ? `hooks in ${file}` : `no mosaic hooks in ${file}` };
  },

  async credentials({ configDir, env, agentEnv }): Promise<HookCheck> {
    for (const name of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN']) {
      if (agentEnv[name] ?? env[name]) return { installed: true, detail: `${name} is set` };
    }
    if (await fileExists(path.join(configDir, '.credentials.json'))) return { installed: true, detail: 'login credentials present' };
    return { installed: false, detail: 'no ANTHROPIC_API_KEY and no login: run `claude` once and log in, or export ANTHROPIC_API_KEY' };
  },
};
