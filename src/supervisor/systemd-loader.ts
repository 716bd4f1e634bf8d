import { UserError } from '../core/errors.js';
import type { Supervisor, SupervisorDeps } from './types.js';

/** Placeholder until systemd supervision lands: say so plainly instead of pretending. */
export function loadSystemdSupervisor(deps: SupervisorDeps): Promise<Supervisor> {
  return Promise.reject(
    new UserError(`roster ${deps.roster.file} asks for "supervisor: systemd", which this version of mosaic does not support yet`, {
      hint: 'use "supervisor: builtin" (the default) for now',
    }),
  );
}
