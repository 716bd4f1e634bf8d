import type { FleetContext } from '../context/context.js';
import { systemdUnitsEnabledFor } from '../systemd/detect.js';

/**
 * A roster that says `supervisor:` gets exactly that (no systemd probe at all). One that does not
 * gets systemd when its units are installed and enabled (a few file reads, no systemctl), else the
 * built-in supervisor; `roster.supervisorSource` records which (`detected` or `default`).
 */
export function resolveSupervisor<T extends FleetContext>(ctx: T): T {
  const { roster } = ctx;
  if (roster.supervisorSource !== 'default') return ctx;
  if (!systemdUnitsEnabledFor(ctx.host.env, ctx.host.uid, roster.file)) return ctx;
  return { ...ctx, roster: { ...roster, supervisor: 'systemd', supervisorSource: 'detected' } };
}

/** How `fleet start`/`status` name the supervisor in effect and why. */
export function describeSupervisor(roster: FleetContext['roster']): string {
  switch (roster.supervisorSource) {
    case 'detected':
      return `${roster.supervisor} supervisor, detected: no supervisor: in the roster, its systemd units are installed and enabled`;
    case 'default':
      return `${roster.supervisor} supervisor, by default: no supervisor: in the roster and no enabled systemd units for it`;
    default:
      return `${roster.supervisor} supervisor`;
  }
}
