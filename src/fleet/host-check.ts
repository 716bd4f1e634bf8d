import type { FleetContext } from '../context/context.js';
import { UserError } from '../core/errors.js';
import { HostUnreachableError, REMOTE_PROTOCOL } from '../remote/remote-mosaic.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { monotonicMs } from '../system/clock.js';
import { remoteMosaic } from './hosts.js';

export interface HostCheck {
  tenant_id: string;
  host: string;
  ssh: string;
  ok: boolean;
  reachable: boolean;
  /** Why not ok, in words (empty when ok). */
  problems: string[];
  mosaic_version: string | null;
  protocol: number | null;
  tmux: string | null;
  /** Each runtime's executable on the host's non-interactive PATH, or null. */
  runtimes: Record<string, string | null>;
  linger: boolean | null;
  systemd_user: string | null;
  round_trip_ms: number | null;
}

const PROBE = [
  'tmux -V 2>/dev/null || echo "tmux -"',
  ...['node', ...BUILTIN_RUNTIMES.filter((r) => r !== 'stub')].map((name) => `printf '%s ' ${name}; command -v ${name} || echo -`),
  'printf "linger "; test -e "/var/lib/systemd/linger/$(id -un)" && echo yes || echo no',
  'printf "systemd "; systemctl --user is-system-running 2>/dev/null || echo unreachable',
].join('; ');

/**
 * `mosaic host check`: can we reach each host, does it run a mosaic we can drive (same protocol),
 * tmux, and which runtimes are on its non-interactive PATH (where agents and ssh commands look).
 */
export async function checkHosts(view: FleetContext, names: readonly string[]): Promise<HostCheck[]> {
  const hosts = view.roster.hosts ?? {};
  const wanted = names.length > 0 ? names : Object.keys(hosts);
  const unknown = wanted.filter((name) => !hosts[name]);
  if (unknown.length > 0) {
    throw new UserError(`no host ${unknown.map((n) => `"${n}"`).join(', ')} in roster ${view.roster.file}`, {
      hint: Object.keys(hosts).length > 0 ? `hosts: ${Object.keys(hosts).join(', ')}` : 'add a hosts: section to the roster',
    });
  }
  return Promise.all(wanted.map((name) => checkOne(view, name)));
}

async function checkOne(view: FleetContext, name: string): Promise<HostCheck> {
  const remote = await remoteMosaic(view, name);
  const check: HostCheck = {
    tenant_id: view.roster.tenantId,
    host: name,
    ssh: remote.spec.ssh,
    ok: false,
    reachable: false,
    problems: [],
    mosaic_version: null,
    protocol: null,
    tmux: null,
    runtimes: {},
    linger: null,
    systemd_user: null,
    round_trip_ms: null,
  };
  try {
    const started = monotonicMs();
    check.mosaic_version = await remote.version();
    check.round_trip_ms = Math.round(monotonicMs() - started);
    check.reachable = true;
    const probe = await remote.shell(['sh', '-c', PROBE]);
    for (const line of probe.stdout.split('\n')) {
      const [key, ...rest] = line.trim().split(' ');
      const value = rest.join(' ');
      if (key === 'tmux') check.tmux = value === '-' ? null : line.trim();
      else if (key === 'linger') check.linger = value === 'yes';
      else if (key === 'systemd') check.systemd_user = value;
      else if (key) check.runtimes[key] = value === '-' ? null : value;
    }
    if (!check.tmux) check.problems.push('tmux is not on the non-interactive PATH');
    // The roster exchange is where the protocol is checked; it also proves the host accepts its roster.
    await remote.run(['fleet', 'ps', '--json']);
    check.protocol = REMOTE_PROTOCOL;
  } catch (error) {
    if (error instanceof HostUnreachableError) check.problems.push(`unreachable: ${error.reason}`);
    else check.problems.push(error instanceof Error ? error.message : String(error));
  }
  check.ok = check.reachable && check.protocol === REMOTE_PROTOCOL && check.tmux !== null;
  return check;
}
