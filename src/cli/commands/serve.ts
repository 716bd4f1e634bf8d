import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { loadFleetContext, type FleetContext } from '../../context/context.js';
import { resolveSupervisor } from '../../fleet/supervisor-choice.js';
import { loadAssets } from '../../serve/assets.js';
import { DashboardFleet } from '../../serve/dashboard-fleet.js';
import { startServer } from '../../serve/server.js';
import { serveToken } from '../../serve/token.js';
import { packageRoot, packageVersion } from '../../system/package.js';
import { cliHost } from '../host.js';
import { err, out } from '../output.js';
import { parseWholeNumber } from '../whole-number.js';

interface ServeFlags {
  roster?: string;
  port: string;
  host: string;
  readOnly?: boolean;
  tokenFile?: string;
  rotateToken?: boolean;
}

export const DEFAULT_SERVE_PORT = 7420;

/** `--host`: an IPv6 address may come bracketed as in a URL (`[::1]`); the socket wants it bare. */
export const bindAddress = (host: string): string => host.replace(/^\[([0-9A-Fa-f:.]+)\]$/, '$1');

const isLoopback = (address: string): boolean => address === 'localhost' || address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address);

/** `--port`: ASCII digits only (Number() took 0x1f40, 8e3 and ' 8000'). */
export const parsePort = (value: string): number => parseWholeNumber('--port', value, 0, 65_535);

/** `mosaic fleet serve`: the web dashboard until Ctrl-C (or SIGTERM). */
export async function serve(command: Command): Promise<number> {
  const flags = command.optsWithGlobals<ServeFlags>();
  const port = parsePort(flags.port);
  const bind = bindAddress(flags.host);
  if (!isLoopback(bind) && flags.tokenFile === undefined) {
    throw new UsageError(`--host ${flags.host} would expose the fleet beyond this machine; that needs --token-file`, {
      hint: 'make a private token file (chmod 600) and pass --token-file, or keep the default 127.0.0.1 and use an SSH tunnel',
    });
  }
  // First: a broken install fails before a token file is made or the fleet is read.
  const assets = loadAssets(path.join(packageRoot(), 'web'));
  const host = cliHost();
  const view = async (): Promise<FleetContext> => resolveSupervisor(await loadFleetContext(host, { roster: flags.roster }));
  const first = await view();
  await first.tmux.assertSupportedVersion();
  const { token, file } = await serveToken(host, {
    stateDir: first.paths.stateDir,
    ...(flags.tokenFile !== undefined ? { tokenFile: flags.tokenFile } : {}),
    ...(flags.rotateToken ? { rotate: true } : {}),
  });
  const server = await startServer({
    bind,
    port,
    token,
    readOnly: Boolean(flags.readOnly),
    version: packageVersion(),
    assets,
    fleet: new DashboardFleet(view, flags.roster),
    tmux: first.tmux,
    controlSlotDir: first.paths.runDir,
    log: (line) => err(`mosaic: ${line}`),
  });
  out(`mosaic: serving ${server.url}?token=${token}`);
  err(`token kept in ${file}${flags.readOnly ? '; read-only' : ''}; Ctrl-C stops the server (the agents keep running)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
