// bench/start: 500 stub agents with `mosaic fleet start` (size-chunked tmux batches)
// vs a naive start with one tmux invocation per agent; same run, printed as a ratio,
// plus the memory each stub agent costs. Also the floor: the very tmux command lists mosaic
// sends (sessions, marks, transcript pipes), prepared before the clock and sent from a bare
// loop, and for stop the same kill-session batch sent directly: what is left above the floor
// is mosaic's own cost (node start-up, roster, files); the floor is tmux and the agents.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CLI, emitResult, fmt, killSurvivors, median, now, stubAgents, treeMemory, until, world } from './lib.mjs';
import { sessionCreateCommands } from '../dist/supervisor/direct.js';
import { chunkGroups } from '../dist/supervisor/group-batch.js';
import { exactSession, joinCommands } from '../dist/tmux/client.js';

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
    const s0 = now();
    const stopped = w.mosaic(['fleet', 'stop']);
    if (stopped.status !== 0) throw new Error(`fleet stop failed: ${stopped.stderr}`);
    return { returned, running, memory, panes: pids.length, stop: now() - s0 };
  } finally {
    w.close();
  }
}

/** The naive loops: one tmux process per agent (argv from `argsFor`), timed until every heartbeat is there. */
async function oneTmuxCallPerAgent(w, label, argsFor) {
  const t0 = now();
  for (let i = 0; i < COUNT; i += 1) {
    const r = w.tmux(argsFor(i));
    if (r.status !== 0) throw new Error(`${label}: new-session failed: ${r.stderr}`);
  }
  const returned = now() - t0;
  await until(() => allHeartbeats(w), 60_000, `all heartbeats (${label})`);
  return { returned, running: now() - t0 };
}

async function naiveStart() {
  // What a shell loop does: one `tmux new-session` process per agent, each with its environment.
  const w = world('naive');
  w.writeRoster(stubAgents(COUNT), 'defaults:\n  working_directory: work\n');
  const stub = path.join(path.dirname(CLI), '..', '..', 'framework', 'bin', 'mosaic-stub-agent');
  try {
    spawnSync('mkdir', ['-p', path.join(w.home, 'run'), path.join(w.home, 'work')]);
    return await oneTmuxCallPerAgent(w, 'naive', (i) => [
      'new-session', '-d', '-s', `a${i}`, '-x', '200', '-y', '50', '-c', path.join(w.home, 'work'),
      '-e', `MOSAIC_AGENT_NAME=a${i}`, '-e', 'MOSAIC_AGENT_RUNTIME=stub', '-e', `MOSAIC_AGENT_WORKDIR=${path.join(w.home, 'work')}`,
      '-e', `MOSAIC_TMUX_SOCKET=${w.socket}`, '-e', `MOSAIC_HEARTBEAT_FILE=${path.join(w.home, 'run', `a${i}.hb`)}`,
      '--', 'sh', stub,
    ]); // prettier-ignore
  } finally {
    w.close();
  }
}

async function naiveSameWork() {
  // The same agents as mosaic starts (launcher, launch spec, @mosaic_agent mark, transcript pipe),
  // one tmux call per agent. The launch specs are prepared before the clock starts (a favour).
  const w = world('same');
  w.writeRoster(stubAgents(COUNT), 'defaults:\n  working_directory: work\n');
  try {
    const { runDir, logsDir, agent } = preparedSpecs(w);
    return await oneTmuxCallPerAgent(w, 'naive, same work', (i) => [
      '-f',
      '/dev/null',
      ...joinCommands(sessionCreateCommands(runDir, agent(i), logsDir)),
    ]);
  } finally {
    w.close();
  }
}

/** Launch specs and run state as `fleet start` writes them, kept for replays (a favour to the floor: no file is written on its clock). */
function preparedSpecs(w) {
  const runDir = path.join(w.home, 'run');
  const kept = path.join(w.dir, 'specs');
  if (w.mosaic(['fleet', 'start']).status !== 0) throw new Error('preparing specs failed');
  // Not the heartbeats, nor a heartbeat loop's temporary file, which can vanish mid-copy.
  cpSync(runDir, kept, { recursive: true, filter: (file) => !/\.hb(\.|$)/.test(path.basename(file)) });
  const agents = w.paneProcesses();
  if (w.mosaic(['fleet', 'stop']).status !== 0) throw new Error('stopping the preparing fleet failed');
  killSurvivors(agents); // a heartbeat loop that outlived its pane would write into the copy below
  rmSync(runDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }); // a last beat may still land
  cpSync(kept, runDir, { recursive: true });
  const agent = (i) => ({ name: `a${i}`, session: `a${i}`, workingDirectory: path.join(w.home, 'work') });
  return { runDir, logsDir: path.join(w.home, 'logs'), agent };
}

async function floor() {
  // The tmux floor: mosaic's own command lists for these agents, in the same size-bounded chunks,
  // from a bare loop; then the same kill-session batch mosaic's stop sends.
  const w = world('floor');
  w.writeRoster(stubAgents(COUNT), 'defaults:\n  working_directory: work\n');
  try {
    const { runDir, logsDir, agent } = preparedSpecs(w);
    const groups = Array.from({ length: COUNT }, (_, i) => sessionCreateCommands(runDir, agent(i), logsDir));
    const chunks = chunkGroups(groups);
    const kills = chunkGroups(Array.from({ length: COUNT }, (_, i) => [['kill-session', '-t', exactSession(`a${i}`)]]));
    const t0 = now();
    for (const chunk of chunks) {
      const r = w.tmux(['-f', '/dev/null', ...chunk]);
      if (r.status !== 0) throw new Error(`floor: creating failed: ${r.stderr}`);
    }
    const returned = now() - t0;
    await until(() => allHeartbeats(w), 60_000, 'all heartbeats (floor)');
    const running = now() - t0;
    const s0 = now();
    for (const chunk of kills) {
      const r = w.tmux(chunk);
      if (r.status !== 0) throw new Error(`floor: kill-session failed: ${r.stderr}`);
    }
    return { returned, running, stop: now() - s0, chunks: chunks.length };
  } finally {
    w.close();
  }
}

const mosaic = [];
const naive = [];
const same = [];
const floors = [];
for (let round = 0; round < ROUNDS; round += 1) {
  mosaic.push(await mosaicStart());
  floors.push(await floor());
  naive.push(await naiveStart());
  same.push(await naiveSameWork());
}
const sw = median(same.map((r) => r.running));
const m = median(mosaic.map((r) => r.running));
const n = median(naive.map((r) => r.running));
const mem = mosaic.at(-1).memory;
const fl = median(floors.map((r) => r.running));
const stopM = median(mosaic.map((r) => r.stop));
const stopF = median(floors.map((r) => r.stop));
console.log(`bench/start: ${COUNT} stub agents, ${ROUNDS} rounds each, median wall time until every agent wrote its first heartbeat`);
console.log(`  mosaic fleet start (batched)   : ${fmt(m)}  (command returned after ${fmt(median(mosaic.map((r) => r.returned)))})`);
console.log(`  naive, one tmux call per agent : ${fmt(n)}  (loop returned after ${fmt(median(naive.map((r) => r.returned)))})`);
console.log(`  naive, same agents as mosaic    : ${fmt(sw)}  (one tmux call per agent with the launcher and transcript pipe)`);
console.log(
  `  floor: same command lists, bare: ${fmt(fl)}  (${floors[0].chunks} tmux calls from a loop, nothing else; mosaic adds ${fmt(m - fl)})`,
);
console.log(`  fleet stop                     : ${fmt(stopM)}  (floor: the same kill-session batch sent directly ${fmt(stopF)})`);
console.log(`  ratio same-work naive / mosaic : ${(sw / m).toFixed(2)}x`);
console.log(`  ratio bare naive / mosaic      : ${(n / m).toFixed(2)}x   (the bare naive starts the stub without launcher or transcript)`);
console.log(
  `  memory per stub agent          : RSS ${(mem.rss / COUNT / 1024).toFixed(2)} MiB, PSS ${(mem.pss / COUNT / 1024).toFixed(2)} MiB` +
    ` (${(mem.processes / COUNT).toFixed(1)} processes per agent; ${(mem.pss / 1024).toFixed(0)} MiB PSS for all ${COUNT})`,
);
emitResult({
  ...(COUNT === 500 ? { id: 'start@500' } : { figure: `fleet start ${COUNT} (until all heartbeats)` }),
  mosaic: m,
  baseline: n,
  baseline_label: 'one tmux new-session each',
  ratio_of: 'loop/mosaic',
  floor: fl,
  floor_label: 'its command lists from a bare loop',
});
emitResult({
  figure: `fleet start ${COUNT} vs the same agents, one tmux call each`,
  mosaic: m,
  baseline: sw,
  baseline_label: 'same work, per agent',
  ratio_of: 'naive/mosaic',
});
emitResult({
  ...(COUNT === 500 ? { id: 'stop@500' } : { figure: `fleet stop ${COUNT} (vs its kill batch)` }),
  mosaic: stopM,
  baseline: stopF,
  baseline_label: 'floor: same batch, no mosaic',
  ratio_of: 'floor/mosaic',
  floor: stopF,
  floor_label: 'the same kill-session batch',
});
emitResult({ figure: 'memory per stub agent (PSS)', mosaic: mem.pss / COUNT / 1024, unit: 'MiB' });
