import path from 'node:path';
import { UsageError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import { BUILTIN_RUNTIMES } from '../runtimes/registry.js';
import { REMOTE_PROTOCOL } from '../remote/remote-mosaic.js';
import { parseRoster } from '../roster/load.js';
import { resolveFleetPaths } from '../roster/paths.js';
import { packageVersion } from '../system/package.js';

/**
 * The receiving end of a multi-host roster (`mosaic _host-roster --origin <who>`, run over ssh):
 * the operator's mosaic sends this host's part of its roster; it is validated here, as this host
 * reads it, and kept at `<config root>/hosts/<origin>.yaml` (0600, atomic, rewritten only when it
 * changed). Every later command from that operator names this file with --roster.
 */
export async function storeHostRoster(
  host: Host,
  origin: string,
  yaml: string,
): Promise<{ file: string; changed: boolean; protocol: number; version: string }> {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,100}$/.test(origin)) throw new UsageError(`--origin "${origin}" is not a valid origin name`);
  const root = resolveFleetPaths(host.env).root;
  const file = path.join(root, 'hosts', `${origin}.yaml`);
  parseRoster(yaml, file, {
    env: host.env,
    knownRuntimes: BUILTIN_RUNTIMES,
    defaultTenant: host.identity.tenantId,
    localHost: host.identity.host,
  });
  const changed = (await host.files.read(file)) !== yaml;
  if (changed) {
    await host.files.ensurePrivateDir(path.dirname(file));
    await host.files.writeAtomic(file, yaml, { mode: 0o600, durable: true });
  }
  return { file, changed, protocol: REMOTE_PROTOCOL, version: packageVersion() };
}
