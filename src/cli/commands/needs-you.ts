import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { runNeedsYou } from '../../fleet/needs-you.js';
import { cliHost } from '../host.js';
import { err } from '../output.js';

/**
 * `mosaic _needs-you`: the fleet's needs-you process, started and restarted by the watchdog in
 * the holder session. Its stderr is appended to logs/supervisor.log. Exits 0 when the roster asks
 * for nothing (no `notify:`, no `on_limit: continue`) and when the fleet is stopped.
 */
export async function needsYou(command: Command): Promise<number> {
  const opts = command.optsWithGlobals<{ socket: string; roster?: string; tickMs?: string }>();
  const host = cliHost();
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.once(signal, () => controller.abort());
  const tickMs = opts.tickMs === undefined ? undefined : Number(opts.tickMs);
  if (tickMs !== undefined && !(tickMs >= 50)) throw new UsageError('--tick-ms must be a number of milliseconds ≥ 50');
  const end = await runNeedsYou(
    host,
    { roster: opts.roster },
    {
      signal: controller.signal,
      log: (line) => err(`${new Date().toISOString()} ${line}`),
      ...(tickMs !== undefined ? { tickMs } : {}),
    },
  );
  if (end !== 'unconfigured') err(`${new Date().toISOString()} needs-you: ${end}`);
  return 0;
}
