import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';

export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/**
 * The page's files, read once: everything directly in the package's `web/` folder at `/<name>`
 * (index.html at `/`), the fleet table's cells (`/cells.js`, compiled from src/fleet/ps-cells.ts),
 * and xterm.js from its npm package at `/vendor/…`. Nothing comes from a CDN,
 * so the page works offline, and nothing outside these files can be requested.
 */
export function loadAssets(webDir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const add = (route: string, file: string): void => {
    const type = TYPES[path.extname(file)];
    if (type) assets.set(route, { type, body: missingAsUserError(() => readFileSync(file), file, 'file') });
  };
  for (const name of missingAsUserError(() => readdirSync(webDir), webDir, 'directory'))
    add(name === 'index.html' ? '/' : `/${name}`, path.join(webDir, name));
  if (!assets.has('/')) throw incomplete(path.join(webDir, 'index.html'), 'file');
  // The table's cells: the same compiled module the CLI's `fleet ps` uses (it has no run-time imports).
  add('/cells.js', fileURLToPath(new URL('../fleet/ps-cells.js', import.meta.url)));
  const xterm = path.dirname(createRequire(import.meta.url).resolve('@xterm/xterm/package.json'));
  add('/vendor/xterm.mjs', path.join(xterm, 'lib', 'xterm.mjs'));
  add('/vendor/xterm.css', path.join(xterm, 'css', 'xterm.css'));
  return assets;
}

/** A file the package ships that is not there: the install is broken, not the user's input. */
function incomplete(what: string, kind: 'file' | 'directory'): UserError {
  return new UserError(`the dashboard's ${kind} ${what} is missing: this install of mosaic-fleet is incomplete`, {
    hint: 'reinstall the package (npm install -g mosaic-fleet, or npm ci and npm run build in a checkout)',
  });
}

function missingAsUserError<T>(read: () => T, what: string, kind: 'file' | 'directory'): T {
  try {
    return read();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw incomplete(what, kind);
    throw error;
  }
}
