// After tsc and postbuild: dist/cli/ becomes a bundle of the CLI (decision 027). Node 20 spends about a
// millisecond on every ES module it loads, whatever its size; an `agent send` loaded ~50 of them. The bundle has
// the same modules, in a few chunks: the entry (main.js, which answers --version alone), one chunk per lazily
// imported module (each verb module, the roster loader, tracing…), and one `core` chunk of what nearly every verb
// needs. Packages from node_modules stay outside it. Every chunk sits in dist/cli/, where main.js was, so the
// paths the code finds from its own file (the package root, package.json, verbs.json) are the same as before.
// The rest of dist/ stays tsc's output: the dashboard serves dist/fleet/ps-cells.js, and benches import modules.
import { chmodSync, copyFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const staging = `${dist}cli.bundle/`;

// Modules nearly every verb loads: one chunk instead of ~30 files. The roster's YAML/schema loader is not here
// (only a changed roster needs it), nor anything a single verb alone uses.
const CORE = /\/dist\/(core|system|tmux|host|context|events|heartbeat)\/|\/dist\/roster\/(model|cache|paths|ephemeral)\.js$/;

rmSync(staging, { recursive: true, force: true });
const bundle = await rolldown({
  input: { main: `${dist}cli/main.js` },
  platform: 'node',
  // node: builtins and packages (commander, yaml, ajv, ws, @opentelemetry/*) are loaded from node_modules as before.
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
  logLevel: 'warn',
  // A dynamic import of a module that is also imported statically (output.js, run-verb.js) stays where it is.
  onLog: (level, log, handler) => (log.code === 'INEFFECTIVE_DYNAMIC_IMPORT' ? undefined : handler(level, log)),
});
await bundle.write({
  dir: staging,
  format: 'esm',
  entryFileNames: '[name].js',
  chunkFileNames: '[name].js',
  codeSplitting: { groups: [{ name: 'core', test: CORE }] },
});
await bundle.close();
// What the bundled code reads next to its own file: the quick path's verb spec and the compiled roster validator.
copyFileSync(`${dist}cli/verbs.json`, `${staging}verbs.json`);
copyFileSync(`${dist}roster/roster-validator.cjs`, `${staging}roster-validator.cjs`);
rmSync(`${dist}cli`, { recursive: true });
renameSync(staging, `${dist}cli`);
chmodSync(`${dist}cli/main.js`, 0o755);
