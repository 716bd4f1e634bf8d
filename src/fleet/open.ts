import { loadFleetContext, type FleetContext, type GlobalOptions } from '../context/context.js';
import type { Host } from '../host/host.js';
import { DirectSupervisor } from '../supervisor/direct.js';
import { tracedSupervisor } from '../supervisor/traced.js';
import type { Supervisor } from '../supervisor/types.js';
import { resolveSupervisor } from './supervisor-choice.js';
import { withEventLog } from './event-log.js';

/** A fleet with the supervisor its roster names: for the verbs that start, stop, restart or check. */
export interface SupervisedFleet extends FleetContext {
  supervisor: Supervisor;
}

export async function openFleet(host: Host, globals: GlobalOptions): Promise<SupervisedFleet> {
  // A roster without `supervisor:` runs under systemd when its units are installed and enabled.
  const ctx = resolveSupervisor(await loadFleetContext(host, globals));
  return { ...ctx, supervisor: tracedSupervisor(withEventLog(await createSupervisor(ctx), ctx.paths.logsDir), ctx) };
}

async function createSupervisor(ctx: FleetContext): Promise<Supervisor> {
  if (ctx.roster.supervisor === 'systemd') {
    const { loadSystemdSupervisor } = await import('../systemd/loader.js');
    return loadSystemdSupervisor(ctx);
  }
  return new DirectSupervisor(ctx);
}
