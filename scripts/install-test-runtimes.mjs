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
  // Its own TMPDIR, removed afterwards: opencode-ai's install script leaves a directory in the temp dir.
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mosaic-runtime-install-'));
  const install = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `${name}@${version}`], {
    stdio: 'inherit',
    env: { ...process.env, TMPDIR: tmp },
  });
  rmSync(tmp, { recursive: true, force: true });
  if (install.status !== 0) {
    console.error(`could not install ${name}@${version}; the ${name} e2e tests will fail`);
    process.exit(1);
  }
}
