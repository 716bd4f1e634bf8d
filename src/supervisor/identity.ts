import type { FleetContext } from '../context/context.js';
import type { LaunchIdentity } from '../launch/spec.js';

/** Who an agent of this fleet runs as, and where (for the kickstart and the yolo expansion). */
export const launchIdentity = (ctx: Pick<FleetContext, 'host' | 'roster'>): LaunchIdentity => ({
  uid: ctx.host.uid,
  host: ctx.host.identity.host,
  tenantId: ctx.roster.tenantId,
});
