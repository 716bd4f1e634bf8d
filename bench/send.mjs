// bench/send: whole-process `mosaic agent send --verify` to an accepting stub agent vs an
// upstream-style send (a shell script: tmux load-buffer + paste-buffer, fixed 0.5 s sleep,
// Enter, fixed 1.2 s sleep, capture-pane), in the same run, printed as medians and a ratio;
// then 50 parallel sends to 50 agents (time until all are accepted). The floor of both is
// bench/send-floor.mjs, the least verified send a Node program can make here, run beside them.
// Run: npm run build && node bench/send.mjs   (BENCH_ROUNDS=n, BENCH_AGENTS=n to change sizes)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, ROOT, world as benchWorld, emitResult, median, stubAgents, timed } from './lib.mjs';

/** The build's tmux client protocol, for bench/send-floor.mjs (the least verified send in Node). */
const WIRE = path.join(path.dirname(CLI), '..', 'tmux', 'wire.js');
const floorArgv = (w, agent, text) => [process.execPath, path.join(ROOT, 'bench', 'send-floor.mjs'), WIRE, w.socket, `=${agent}:0.0`, text];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 50);

const worlds = [];
/** lib's world: its close() also ends what a stub left running past the server (a last heartbeat into run/). */
function world(name, agents) {
  const w = benchWorld(`send-${name}`);
  w.writeRoster(stubAgents(agents, 's'), 'defaults:\n  working_directory: work\n');
  worlds.push(w);
  return w;
}

function closeAll() {
  for (const w of worlds.splice(0)) w.close();
}
process.on('exit', closeAll);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const ms = (value) => `${value.toFixed(0)} ms`;

// The upstream shape, done the way its shell tool does it: separate tmux processes, a shared
// fixed buffer name, fixed sleeps, one capture at the end. (Written for this benchmark.)
const UPSTREAM = `
set -u
S=$1; T=$2; MSG=$3
printf '%s' "$MSG" | tmux -L "$S" load-buffer -b __upstream_send -
tmux -L "$S" paste-buffer -d -p -b __upstream_send -t "$T"
sleep 0.5
tmux -L "$S" send-keys -t "$T" Enter
sleep 1.2
tmux -L "$S" capture-pane -p -t "$T" | grep -q 'ack seq='
`;

async function waitReady(w, agents) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = spawnSync('tmux', ['-L', w.socket, 'list-panes', '-a', '-F', '#{session_name}'], { env: w.env, encoding: 'utf8' }).stdout;
    const ready = agents.every((name) => {
      if (!out.split('\n').includes(name)) return false;
      const screen = spawnSync('tmux', ['-L', w.socket, 'capture-pane', '-p', '-t', `=${name}:0.0`], {
        env: w.env,
        encoding: 'utf8',
      }).stdout;
      return screen.includes('stub>');
    });
    if (ready) return;
    if (Date.now() > deadline) throw new Error('agents did not come up');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function single() {
  const w = world('one', 1);
  const start = spawnSync(process.execPath, [CLI, 'fleet', 'start'], { env: w.env, encoding: 'utf8' });
  if (start.status !== 0) throw new Error(`fleet start failed: ${start.stderr}`);
  await waitReady(w, ['s0']);
  const script = path.join(w.dir, 'upstream-send.sh');
  writeFileSync(script, UPSTREAM);

  const baseline = { node: [], version: [], refused: [], mosaic: [], delivery: [], upstream: [], floor: [] };
  const check = (what, r) => {
    if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stdout}${r.stderr}`);
  };
  for (let i = 0; i < 2; i++)
    check('warm-up', await timed([process.execPath, CLI, 'agent', 'send', 's0', '--verify', '-m', `warm ${i}`], w.env));
  for (let i = 0; i < ROUNDS; i++) {
    const m = await timed(
      [process.execPath, CLI, 'agent', 'send', 's0', '--verify', '--json', '-m', `bench message ${i}: $(x) "q"`],
      w.env,
    );
    check('mosaic send', m);
    const result = JSON.parse(m.stdout);
    if (result.status !== 'accepted') throw new Error(`not accepted: ${m.stdout}`);
    baseline.mosaic.push(m.ms);
    baseline.delivery.push(result.duration_ms);
    const u = await timed(['sh', script, w.socket, '=s0:0.0', `upstream message ${i}`], w.env);
    check('upstream send', u);
    baseline.upstream.push(u.ms);
    const f = await timed(floorArgv(w, 's0', `floor message ${i}`), w.env);
    check('send floor', f);
    baseline.floor.push(f.ms);
    baseline.node.push((await timed([process.execPath, '-e', '0'], w.env)).ms);
    baseline.version.push((await timed([process.execPath, CLI, '--version'], w.env)).ms);
    // Refused before the roster is read: node + CLI + the send modules, no tmux.
    baseline.refused.push((await timed([process.execPath, CLI, 'agent', 'send', 's0', '--message', ''], w.env)).ms);
  }
  return Object.fromEntries(Object.entries(baseline).map(([k, v]) => [k, median(v)]));
}

async function parallel() {
  const w = world('fifty', AGENTS);
  const names = Array.from({ length: AGENTS }, (_, i) => `s${i}`);
  const start = spawnSync(process.execPath, [CLI, 'fleet', 'start'], { env: w.env, encoding: 'utf8' });
  if (start.status !== 0) throw new Error(`fleet start failed: ${start.stderr}`);
  await waitReady(w, names);
  const script = path.join(w.dir, 'upstream-send.sh');
  writeFileSync(script, UPSTREAM.replaceAll('__upstream_send', '__upstream_send_$T'));

  // Steady state: the validated roster is cached after the first send.
  const warm = await timed([process.execPath, CLI, 'agent', 'send', 's0', '--verify', '-m', 'warm-up'], w.env);
  if (warm.status !== 0) throw new Error(`warm-up failed: ${warm.stdout}${warm.stderr}`);
  /** One process per agent, all started at once: their results and the wall time until the last ended. */
  const atOnce = async (argvOf) => {
    const t0 = performance.now();
    const results = await Promise.all(names.map((n) => timed(argvOf(n), w.env)));
    return { results, ms: performance.now() - t0 };
  };
  const sendTo = (n) => [process.execPath, CLI, 'agent', 'send', n, '--verify', '--json', '-m', `parallel to ${n}`];
  const { results: runs, ms: processes } = await atOnce(sendTo);
  const failed = runs.filter((r) => r.status !== 0 || !/"status": "accepted"/.test(r.stdout));
  if (failed.length) throw new Error(`${failed.length} parallel sends not accepted: ${failed[0].stdout}${failed[0].stderr}`);

  const b = await timed([process.execPath, CLI, 'agent', 'broadcast', '--all', '--verify', '-m', 'broadcast to all'], w.env);
  if (b.status !== 0) throw new Error(`broadcast failed: ${b.stdout}${b.stderr}`);
  const accepted = b.stdout.split('\n').filter((line) => /: accepted/.test(line)).length;
  if (accepted !== AGENTS) throw new Error(`broadcast: ${accepted}/${AGENTS} accepted`);

  // What separate processes cost here before any send work: the same number of bare CLI starts, and of bare
  // node starts (any Node program started 50 times at once pays it).
  const versions = (await atOnce(() => [process.execPath, CLI, '--version'])).ms;
  const bareNode = (await atOnce(() => [process.execPath, '-e', '0'])).ms;
  // The floor: the least verified send in Node (bench/send-floor.mjs), one process per agent, all at once.
  const { results: floorRuns, ms: floor } = await atOnce((n) => floorArgv(w, n, `floor to ${n}`));
  if (floorRuns.some((r) => r.status !== 0)) throw new Error(`send floor failed: ${floorRuns.find((r) => r.status !== 0).stderr}`);

  const { results: upstream, ms: upstreamMs } = await atOnce((n) => ['sh', script, w.socket, `=${n}:0.0`, `upstream parallel ${n}`]);
  if (upstream.some((r) => r.status !== 0)) throw new Error('upstream-style parallel send failed');
  const delivery = median(runs.map((r) => JSON.parse(r.stdout).duration_ms));
  return { processes, broadcast: b.ms, upstream: upstreamMs, delivery, versions, bareNode, floor };
}

try {
  console.log(`bench/send: ${ROUNDS} rounds, node ${process.version}, ${os.cpus().length} CPUs (${os.loadavg()[0].toFixed(1)} load)`);
  const s = await single();
  console.log('\none message to one accepting stub agent (whole process, median):');
  console.log(`  mosaic agent send --verify    ${ms(s.mosaic).padStart(8)}   (target <= 100 ms, issue 18)`);
  console.log(`  upstream-style send           ${ms(s.upstream).padStart(8)}   (paste, sleep 0.5, Enter, sleep 1.2)`);
  console.log(
    `  ratio                         ${(s.upstream / s.mosaic).toFixed(1).padStart(6)}x   faster (11.5x when issue 18 was filed: must not regress)`,
  );
  console.log('  where the time goes (medians):');
  console.log(`    node -e 0                   ${ms(s.node).padStart(8)}   bare node startup`);
  console.log(
    `    bench/send-floor.mjs        ${ms(s.floor).padStart(8)}   the least verified send in Node (tmux's protocol, no checks): the floor`,
  );
  console.log(`    mosaic --version            ${ms(s.version).padStart(8)}   CLI entry, no program loaded`);
  console.log(
    `    send refused (empty body)   ${ms(s.refused).padStart(8)}   + the send modules (a plain line skips commander: decision 026)`,
  );
  console.log(`    delivery (duration_ms)      ${ms(s.delivery).padStart(8)}   lock, ~5 tmux calls, waiting for the stub's ack`);
  console.log(
    `    rest                        ${ms(s.mosaic - s.refused - s.delivery).padStart(8)}   cached roster, context, output, exit`,
  );
  emitResult({
    id: 'send',
    mosaic: s.mosaic,
    baseline: s.upstream,
    baseline_label: 'upstream-style script',
    ratio_of: 'upstream/mosaic',
    floor: s.floor,
    floor_label: 'bench/send-floor.mjs',
  });
  const p = await parallel();
  console.log(`\n${AGENTS} sends to ${AGENTS} agents at once (time until all accepted):`);
  console.log(
    `  ${AGENTS} mosaic send processes     ${ms(p.processes).padStart(8)}   (target <= 2000 ms; median delivery inside a process ${ms(p.delivery)})`,
  );
  console.log(`  ${AGENTS} bare \`mosaic --version\`   ${ms(p.versions).padStart(8)}   ${AGENTS} CLI starts, no program loaded`);
  console.log(
    `  ${AGENTS} bare \`node -e 0\`         ${ms(p.bareNode).padStart(8)}   ${AGENTS} separate node processes here, doing nothing`,
  );
  console.log(
    `  ${AGENTS} bench/send-floor.mjs     ${ms(p.floor).padStart(8)}   the least verified send in Node, ${AGENTS} at once: the floor`,
  );
  console.log(`  one mosaic broadcast --all    ${ms(p.broadcast).padStart(8)}   (target <= 2000 ms)`);
  console.log(
    `  ${AGENTS} upstream-style scripts    ${ms(p.upstream).padStart(8)}   ratio ${(p.upstream / p.processes).toFixed(1)}x (processes), ${(p.upstream / p.broadcast).toFixed(1)}x (broadcast)`,
  );
  emitResult({
    ...(AGENTS === 50 ? { id: 'send×50' } : { figure: `${AGENTS} concurrent agent send --verify` }),
    mosaic: p.processes,
    baseline: p.upstream,
    baseline_label: `${AGENTS} upstream-style scripts`,
    ratio_of: 'upstream/mosaic',
    floor: p.floor,
    floor_label: `${AGENTS} bench/send-floor.mjs at once`,
  });
  emitResult({
    figure: `agent broadcast --all --verify, ${AGENTS} agents`,
    mosaic: p.broadcast,
    baseline: p.upstream,
    baseline_label: `${AGENTS} upstream-style scripts`,
    ratio_of: 'upstream/mosaic',
  });
} finally {
  closeAll();
}
