import { systemdSetup } from './setup.js';
import { SystemdSupervisor } from './supervisor.js';
import type { Supervisor, SupervisorDeps } from '../supervisor/types.js';

/**
 * Loaded only for `supervisor: systemd`. Nothing is probed here: `fleet status` keeps working
 * from tmux alone; start/stop/restart/verify report a missing or unreachable user manager.
 */
export function loadSystemdSupervisor(deps: SupervisorDeps): Promise<Supervisor> {
  return Promise.resolve(new SystemdSupervisor(deps, systemdSetup(deps.host)));
}
