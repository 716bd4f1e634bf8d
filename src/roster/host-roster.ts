import { stringify } from 'yaml';

/** Top-level roster keys that describe the operator's view, not what a host runs. */
const OPERATOR_ONLY = new Set(['hosts', 'agents', 'tenant_id', 'tenantId']);

/**
 * The roster each host's own mosaic runs: everything the operator's roster says about how agents
 * run (tmux, heartbeat, restart, defaults, runtimes, notify, supervisor), and only that host's
 * agents, without their `host:`. Its tenant is the remote user (no tenant_id), and its paths are
 * read on that host.
 */
export function hostRosters(raw: Record<string, unknown>, hosts: readonly string[]): Record<string, string> {
  const shared = Object.fromEntries(Object.entries(raw).filter(([key]) => !OPERATOR_ONLY.has(key)));
  const agents = (raw.agents ?? []) as Record<string, unknown>[];
  const out: Record<string, string> = {};
  for (const host of hosts) {
    const own = agents.filter((agent) => agent.host === host).map(({ host: _host, ...agent }) => agent);
    if (own.length === 0) continue;
    out[host] = `# Written by mosaic from the operator's roster: edit that one, not this copy.\n${stringify({ ...shared, agents: own })}`;
  }
  return out;
}
