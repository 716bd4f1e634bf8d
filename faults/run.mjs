#!/usr/bin/env node
// npm run faults: build first (the npm script does), then every cell of faults/cells.mjs on real
// fleets, printed as a fault × supervisor matrix. Exit 1 on any miss.
//   node faults/run.mjs                 every cell
//   node faults/run.mjs <cell> [<cell>…] only these (names as in `node faults/run.mjs --list`)
//   FAULTS_JOBS=<n>                     cells in parallel (default 3; heavy and `alone` cells run alone)
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { CELLS } from './cells.mjs';
import { CLI, probeManager, runInWorld, stopManagerIfOurs } from './lib.mjs';
import { missingManagerUnitDirs, removeEmptyDirs } from '../test/manager-unit-dirs.mjs';

// As in vitest.config.ts: node parses this workplace's CA bundle at every start (+40 ms of CPU), and no
// cell opens a TLS connection. Every fleet the cells start inherits the deletion.
delete process.env.NODE_EXTRA_CA_CERTS;

const print = (text = '') => process.stdout.write(`${text}\n`);
const args = process.argv.slice(2);
if (args.includes('--list')) {
  for (const c of CELLS) print(`${c.name.padEnd(34)} ${c.fault} (${c.sup})`);
  process.exit(0);
}
const unknown = args.filter((a) => !CELLS.some((c) => c.name === a));
if (unknown.length) {
  process.stderr.write(`unknown cell(s): ${unknown.join(', ')}; see node faults/run.mjs --list\n`);
  process.exit(2);
}
if (!existsSync(CLI)) {
  process.stderr.write(`${CLI} is missing: run npm run build (npm run faults does)\n`);
  process.exit(1);
}
const selected = args.length ? CELLS.filter((c) => args.includes(c.name)) : CELLS;
const jobs = Math.max(1, Number(process.env.FAULTS_JOBS) || 3);
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

const started = Date.now();
const tmpBefore = new Set(readdirSync(os.tmpdir()));
const madeBySystemctl = missingManagerUnitDirs(); // removed again below when empty
let systemdSkip = '';
if (selected.some((c) => c.sup === 'systemd')) {
  const m = probeManager();
  if (!m.available) systemdSkip = m.reason;
}

const results = new Map();
const log = (line) => process.stderr.write(`${line}\n`);

async function runCell(cell) {
  if (cell.sup === 'systemd' && systemdSkip) {
    // Without a manager a systemd cell cannot run: a miss in CI, a visible skip elsewhere.
    const r = IN_CI
      ? { ok: false, outcome: 'MISS', evidence: `no systemd user manager: ${systemdSkip}`, notes: [], ms: 0 }
      : { ok: true, outcome: 'skipped', evidence: `no systemd user manager: ${systemdSkip}`, notes: [], ms: 0 };
    results.set(cell.name, r);
    return;
  }
  log(`… ${cell.name}`);
  let extra = '';
  const r = await runInWorld(cell.name, { systemd: cell.sup === 'systemd' }, async (world) => {
    const outcome = await cell.run(world);
    extra = world.stormDetail ?? world.injectionDetail ?? world.sendDetail ?? world.sigstopDetail ?? world.frozenDetail ?? '';
    if (world.refusedNote) extra += ` (${world.refusedNote.trim()})`;
    return outcome;
  });
  r.detail = extra;
  results.set(cell.name, r);
  log(`${r.ok ? '✓' : '✗'} ${cell.name}: ${r.outcome} (${(r.ms / 1000).toFixed(1)} s)${r.ok ? '' : `\n    ${r.evidence}`}`);
}

// Heavy cells (load) and cells that disturb the shared user manager run alone; the others up
// to `jobs` at a time.
const light = selected.filter((c) => !c.heavy && !c.alone);
const heavy = selected.filter((c) => c.heavy || c.alone);
const queue = [...light];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let cell = queue.shift(); cell; cell = queue.shift()) await runCell(cell);
  }),
);
for (const cell of heavy) await runCell(cell);
stopManagerIfOurs();

// ------------------------------------------------------------------------------ report --
const faults = [...new Set(selected.map((c) => c.fault))];
const sups = ['builtin', 'systemd'];
const W = Math.max(30, ...faults.map((f) => f.length + 2));
const CW = 26;
const lines = [`${'fault'.padEnd(W)}${sups.map((s) => s.padEnd(CW)).join('')}`.trimEnd()];
for (const fault of faults) {
  const cols = sups.map((sup) => {
    const cell = selected.find((c) => c.fault === fault && c.sup === sup);
    if (!cell) return '-';
    const r = results.get(cell.name);
    return r.ok ? r.outcome : 'MISS';
  });
  lines.push(`${fault.padEnd(W)}${cols.map((c) => c.padEnd(CW)).join('')}`.trimEnd());
}
print(lines.join('\n'));
const misses = selected.filter((c) => !results.get(c.name).ok);
const details = selected.filter((c) => results.get(c.name).detail);
if (details.length) {
  print('');
  for (const c of details) print(`${c.name}: ${results.get(c.name).detail}`);
}
const skipped = selected.filter((c) => results.get(c.name).outcome === 'skipped');
for (const c of skipped) print(`skipped ${c.name}: ${results.get(c.name).evidence}`);
if (misses.length) {
  print('');
  for (const c of misses) print(`MISS ${c.name} (${c.fault}, ${c.sup}): ${results.get(c.name).evidence}`);
}
const notes = selected.flatMap((c) => results.get(c.name).notes.map((n) => `${c.name}: ${n}`));
removeEmptyDirs(madeBySystemctl);
// Nothing may be left in the temp dir by the suite.
const leftovers = readdirSync(os.tmpdir()).filter((e) => !tmpBefore.has(e) && e.startsWith('mosaic-faults-'));
if (leftovers.length) notes.push(`left in ${os.tmpdir()}: ${leftovers.join(' ')}`);
if (notes.length) {
  print('');
  for (const n of notes) print(`note ${n}`);
}
const total = ((Date.now() - started) / 1000).toFixed(1);
print(`\n${selected.length - misses.length}/${selected.length} cells passed, ${misses.length} missed, ${total} s`);
process.exit(misses.length ? 1 : 0);
