import type { AgentSpec } from '../roster/model.js';

export interface KickstartValues {
  tenantId: string;
  host: string;
}

/**
 * The kickstart template with {agent} {class} {tenant_id} {host} {workdir} filled in (the
 * doubled-brace form `{{agent}}` of earlier rosters too). Unknown names are left as they are.
 */
export function renderKickstart(agent: AgentSpec, values: KickstartValues): string | undefined {
  if (!agent.kickstartTemplate) return undefined;
  const vars: Record<string, string> = {
    agent: agent.name,
    class: agent.class ?? '',
    tenant_id: values.tenantId,
    host: values.host,
    workdir: agent.workingDirectory,
  };
  return agent.kickstartTemplate.replace(/\{\{?\s*([a-z_]+)\s*\}?\}/g, (whole, name: string) => vars[name] ?? whole);
}
