// bench/compare-builds: the same commands from two builds of mosaic, on the same fleet, in one run:
// `agent send --verify` to a stub, and `fleet ps --json` at 10, 100 and 500 stub agents. Runs in
// blocks (A B A B), the first run of each block dropped (the two builds may key the roster cache
// differently, so each block's first run refills it). Prints medians and new/old ratios.
// Run: BENCH_OLD_CLI=/path/to/old/dist/cli/main.js node bench/compare-builds.mjs
//      (build the old one with `git worktree add /tmp/old <rev> && cd /tmp/old && npm ci && npm run build`)
import { spawnSync } from 'node:child_process';
import { CLI, median, stubAgents, world } from './lib.mjs';

const OLD = process.env.BENCH_OLD_CLI;
if (!OLD) {
  console.error('set BENCH_OLD_CLI to the dist/cli/main.js of the build to compare against');
  process.exit(2);
}
const SIZES = (process.env.BENCH_SIZES ?? '10,100,500').split(',').map(Number);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 8);
const worlds = [];
process.on('exit', () => worlds.splice(0).forEach((w) => w.close()));

/** Median milliseconds per build of `args` (a function of the run number), in alternating blocks. */
function compare(w, args, blocks) {
  const times = { old: [], new: [] };
  for (let block = 0; block < blocks; block++) {
    const [name, cli] = block % 2 ? ['new', CLI] : ['old', OLD];
    for (let run = 0; run < BLOCK; run++) {
      const started = performance.now();
      const result = spawnSync(process.execPath, [cli, ...args(block, run)], { env: w.env, encoding: 'utf8', maxBuffer: 1 << 26 });
      if (result.status !== 0) throw new Error(`${name}: ${result.stderr}${result.stdout}`);
      if (run > 0) times[name].push(performance.now() - started);
    }
  }
  return { old: median(times.old), new: median(times.new) };
}

const line = (what, r) =>
  console.log(
    `${what.padEnd(26)} old ${r.old.toFixed(0).padStart(5)} ms  new ${r.new.toFixed(0).padStart(5)} ms  new/old ${(r.new / r.old).toFixed(2)}`,
  );

{
  const w = world('cmp-send');
  worlds.push(w);
  w.writeRoster(stubAgents(1, 's'), 'defaults:\n  working_directory: work\n');
  if (w.mosaic(['fleet', 'start']).status !== 0) throw new Error('fleet start failed');
  w.mosaic(['agent', 'send', 's0', '--verify', '-m', 'warm up']);
  line(
    'agent send --verify',
    compare(w, (block, run) => ['agent', 'send', 's0', '--verify', '-m', `message ${block}.${run}`], 6),
  );
  w.mosaic(['fleet', 'stop']);
}
for (const size of SIZES) {
  const w = world(`cmp-ps${size}`);
  worlds.push(w);
  w.writeRoster(stubAgents(size), 'defaults:\n  working_directory: work\n');
  if (w.mosaic(['fleet', 'start']).status !== 0) throw new Error('fleet start failed');
  for (let i = 0; i < 600; i++) {
    const rows = JSON.parse(w.mosaic(['fleet', 'ps', '--json']).stdout);
    if (rows.filter((row) => row.heartbeat.health === 'healthy').length === size) break;
  }
  line(
    `fleet ps --json @${size}`,
    compare(w, () => ['fleet', 'ps', '--json'], 4),
  );
  w.mosaic(['fleet', 'stop']);
}
