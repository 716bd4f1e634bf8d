import type { Host } from '../host/host.js';
import { localHost } from '../host/local.js';

let host: Host | undefined;

/** The host this CLI process acts on: this machine, as the user running it. */
export function cliHost(): Host {
  host ??= localHost({ env: process.env });
  return host;
}
