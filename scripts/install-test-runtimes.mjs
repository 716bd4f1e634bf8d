// Installs the real runtimes the e2e tests drive that cannot be devDependencies, pinned, into
// test/.runtimes. opencode-ai lists platform packages the npm registry mirror here does not
// serve, which leaves package-lock.json out of sync for `npm ci`; a separate prefix avoids that.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PINNED = { 'opencode-ai': '1.18.33' };
const prefix = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', '.runtimes');

for (const [name, version] of Object.entries(PINNED)) {
  // The installed version from its package.json: running the binary would write its caches into $HOME.
  const manifest = path.join(prefix, 'node_modules', name, 'package.json');
  const binary = path.join(prefix, 'node_modules', '.bin', 'opencode');
  if (existsSync(binary) && existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === version) continue;
  console.error(`installing ${name}@${version} for the e2e tests into ${prefix}`);
  // opencode-ai's install script runs `opencode --version`, which writes ~/.bun, ~/.cache, ~/.local and
  // ~/.config/opencode, and a directory in the temp dir: give it a HOME and TMPDIR of its own, removed
  // afterwards, while npm keeps the user's config (registry) and cache.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'mosaic-runtime-install-'));
  const env = {
    ...process.env,
    npm_config_userconfig: process.env.npm_config_userconfig ?? path.join(os.homedir(), '.npmrc'),
    npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), '.npm'),
    HOME: scratch,
    TMPDIR: scratch,
    XDG_CONFIG_HOME: path.join(scratch, '.config'),
    XDG_CACHE_HOME: path.join(scratch, '.cache'),
    XDG_DATA_HOME: path.join(scratch, '.local', 'share'),
    XDG_STATE_HOME: path.join(scratch, '.local', 'state'),
  };
  const install = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `${name}@${version}`], {
    stdio: 'inherit',
    env,
  });
  rmSync(scratch, { recursive: true, force: true });
  if (install.status !== 0) {
    console.error(`could not install ${name}@${version}; the ${name} e2e tests will fail`);
    process.exit(1);
  }
}
