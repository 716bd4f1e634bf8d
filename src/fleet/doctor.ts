import path from 'node:path';
import type { Roster } from '../roster/model.js';
import { INTEGRATED_RUNTIMES, integrationFor } from '../runtimes/integrations/index.js';
import { resolveRuntime } from '../runtimes/registry.js';
import { findExecutable, findRuntimeBinDirs, prefixedPath } from '../launch/spec.js';
import type { Host } from '../host/host.js';
import { isSupportedVersion } from '../tmux/client.js';

export interface RuntimeReport {
  runtime: string;
  installed: boolean;
  executable: string | null;
  version: string | null;
  install_hint: string;
}

export interface AgentReport {
  agent: string;
  runtime: string;
  hook: { installed: boolean; detail: string } | null;
  credentials: { configured: boolean; detail: string } | null;
}

export interface DoctorReport {
  tenant_id: string;
  host: string;
  ok: boolean;
  tmux: { version: string | null; ok: boolean };
  runtimes: RuntimeReport[];
  agents: AgentReport[];
  /** What to fix, one line each. */
  problems: string[];
}

/**
 * Per runtime: installed (on the PATH the panes get), version; per agent: our hook in its
 * private config directory, and whether credentials look configured. One `--version` call per
 * runtime, run in parallel.
 */
export async function runDoctor(options: {
  roster: Roster | undefined;
  agentsDir: string;
  host: Host;
  /** The roster's tenant, else the host's. */
  tenantId?: string;
}): Promise<DoctorReport> {
  const { roster, host } = options;
  const { env, runner } = host;
  const problems: string[] = [];
  const searchPath = prefixedPath(await findRuntimeBinDirs(env), env.PATH);
  const version = async (argv: string[]): Promise<string | null> => {
    try {
      const result = await runner(argv, { env, timeoutMs: 15_000, allowFailure: true });
      return result.status === 0 ? (result.stdout.trim().split('\n')[0] ?? null) : null;
    } catch {
      return null;
    }
  };

  const tmuxVersion = await version(['tmux', '-V']);
  const tmuxOk = tmuxVersion !== null && isSupportedVersion(tmuxVersion);
  if (!tmuxOk)
    problems.push(
      tmuxVersion ? `${tmuxVersion} is too old: install tmux 3.2 or newer` : 'tmux is not installed: sudo apt-get install -y tmux',
    );

  const names = roster ? [...new Set(roster.agents.map((agent) => agent.runtime))] : [...INTEGRATED_RUNTIMES];
  const fallback: Roster | undefined = roster;
  const runtimes = await Promise.all(
    names.map(async (name): Promise<RuntimeReport> => {
      const definition = fallback ? resolveRuntime(fallback, name) : resolveRuntime(emptyRoster(), name);
      const executable = (await findExecutable(definition.command[0]!, searchPath)) ?? null;
      const report: RuntimeReport = {
        runtime: name,
        installed: executable !== null,
        executable,
        version: executable && name !== 'stub' ? await version([executable, ...definition.command.slice(1), '--version']) : null,
        install_hint: definition.installHint,
      };
      return report;
    }),
  );
  // In roster order, not in the order the lookups finished (a long PATH made it change from run to run).
  for (const r of runtimes) if (!r.installed) problems.push(`runtime ${r.runtime} is not installed: ${r.install_hint}`);

  const agents: AgentReport[] = [];
  for (const agent of roster?.agents ?? []) {
    const integration = await integrationFor(agent.runtime);
    if (!integration) {
      agents.push({ agent: agent.name, runtime: agent.runtime, hook: null, credentials: null });
      continue;
    }
    const configDir = path.join(options.agentsDir, agent.name, agent.runtime);
    const agentEnv = { ...roster!.runtimes[agent.runtime]?.env, ...agent.env };
    const found = await integration.checkHook(configDir);
    // The agent's launch writes its hooks into its private config: a restart puts them back.
    const hook = found.installed ? found : { ...found, detail: `${found.detail}: run \`mosaic fleet restart ${agent.name}\`` };
    const credentials = await integration.credentials({ configDir, env, agentEnv });
    if (!hook.installed) problems.push(`agent ${agent.name}: ${hook.detail}`);
    if (!credentials.installed) problems.push(`agent ${agent.name}: ${credentials.detail}`);
    agents.push({
      agent: agent.name,
      runtime: agent.runtime,
      hook,
      credentials: { configured: credentials.installed, detail: credentials.detail },
    });
  }
  return {
    tenant_id: options.tenantId ?? host.identity.tenantId,
    host: host.identity.host,
    ok: problems.length === 0,
    tmux: { version: tmuxVersion, ok: tmuxOk },
    runtimes,
    agents,
    problems,
  };
}

function emptyRoster(): Roster {
  return { runtimes: {} } as unknown as Roster;
}
