// bench/start: 500 stub agents with `mosaic fleet start` (size-chunked tmux batches)
// vs a naive start with one tmux invocation per agent; same run, printed as a ratio,
// plus the memory each stub agent costs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CLI, fmt, median, now, stubAgents, treeMemory, until, world } from './lib.mjs';

const COUNT = Number(process.env.BENCH_AGENTS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

function allHeartbeats(w) {
  for (let i = 0; i < COUNT; i += 1) if (!existsSync(path.join(w.home, 'run', `a${i}.hb`))) return false;
  return true;
}

async function mosaicStart() {
  const w = world('start');
  w.writeRoster(stubAgents(COUNT), 'defaults:\n  working_directory: work\n');
  try {
    const t0 = now();
    const result = w.mosaic(['fleet', 'start']);
    if (result.status !== 0) throw new Error(`fleet start failed: ${result.stderr}`);
    const returned = now() - t0;
    await until(() => allHeartbeats(w), 60_000, 'all heartbeats (mosaic)');
    const running = now() - t0;
    const pids = w
      .tmux(['list-panes', '-a', '-F', '#{session_name} #{pane_pid}'])
      .stdout.trim()
      .split('\n')
      .filter((line) => !line.startsWith('_holder'))
      .map((line) => Number(line.split(' ')[1]));
    const memory = treeMemory(pids);
    return { returned, running, memory, panes: pids.length };
  } finally {
    w.close();
  }
}

async function naiveStart() {
  // What a shell loop does: one `tmux new-session` process per agent, each with its environment.
  const w = world('naive');
  w.writeRoster(stubAgents(COUNT), 'defaults:\n  working_directory: work\n');
  const stub = path.join(path.dirname(CLI), '..', '..', 'framework', 'bin', 'mosaic-stub-agent');
  try {
    spawnSync('mkdir', ['-p', path.join(w.home, 'run'), path.join(w.home, 'work')]);
    const t0 = now();
    for (let i = 0; i < COUNT; i += 1) {
      const r = w.tmux([
        'new-session', '-d', '-s', `a${i}`, '-x', '200', '-y', '50', '-c', path.join(w.home, 'work'),
        '-e', `MOSAIC_AGENT_NAME=a${i}`, '-e', 'MOSAIC_AGENT_RUNTIME=stub', '-e', `MOSAIC_AGENT_WORKDIR=${path.join(w.home, 'work')}`,
        '-e', `MOSAIC_TMUX_SOCKET=${w.socket}`, '-e', `MOSAIC_HEARTBEAT_FILE=${path.join(w.home, 'run', `a${i}.hb`)}`,
        '--', 'sh', stub,
      ]); // prettier-ignore
      if (r.status !== 0) throw new Error(`naive new-session failed: ${r.stderr}`);
    }
    const returned = now() - t0;
    await until(() => allHeartbeats(w), 60_000, 'all heartbeats (naive)');
    return { returned, running: now() - t0 };
  } finally {
    w.close();
  }
}

const mosaic = [];
const naive = [];
for (let round = 0; round < ROUNDS; round += 1) {
  mosaic.push(await mosaicStart());
  naive.push(await naiveStart());
}
const m = median(mosaic.map((r) => r.running));
const n = median(naive.map((r) => r.running));
const mem = mosaic.at(-1).memory;
console.log(`bench/start: ${COUNT} stub agents, ${ROUNDS} rounds each, median wall time until every agent wrote its first heartbeat`);
console.log(`  mosaic fleet start (batched)   : ${fmt(m)}  (command returned after ${fmt(median(mosaic.map((r) => r.returned)))})`);
console.log(`  naive, one tmux call per agent : ${fmt(n)}  (loop returned after ${fmt(median(naive.map((r) => r.returned)))})`);
console.log(`  ratio naive / mosaic           : ${(n / m).toFixed(2)}x   (target: mosaic <= 3000 ms, ratio >= 2x)`);
console.log(
  `  memory per stub agent          : RSS ${(mem.rss / COUNT / 1024).toFixed(2)} MiB, PSS ${(mem.pss / COUNT / 1024).toFixed(2)} MiB` +
    ` (${(mem.processes / COUNT).toFixed(1)} processes per agent; ${(mem.pss / 1024).toFixed(0)} MiB PSS for all ${COUNT})`,
);
