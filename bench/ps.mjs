// bench/ps: whole-process `mosaic fleet ps --json` at 10, 100 and 500 stub agents vs a naive,
// upstream-style per-agent join (a shell loop: tmux has-session + tmux display-message +
// systemctl --user show + ps, per agent), in the same run, printed as medians and ratios,
// plus the number of processes each one starts (counted with `strace --seccomp-bpf -f -e trace=execve`:
// every successful execve, the measured program itself included); and against bench/ps-floor.mjs, the
// least a Node program can do for the same answer (one tmux listing and the same four reads per agent),
// which shows how much of ps is node and the kernel and how much is mosaic.
// Run: npm run build && node bench/ps.mjs   (BENCH_SIZES=10,100,500  BENCH_ROUNDS=n)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkPsFloor, CLI, emitResult, median, psFloorArgv, timed, world } from './lib.mjs';

const SIZES = (process.env.BENCH_SIZES ?? '10,100,500').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const NAIVE_ROUNDS = Number(process.env.BENCH_NAIVE_ROUNDS ?? 3);

const worlds = [];
process.on('exit', () => {
  for (const w of worlds.splice(0)) w.close();
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** The naive join, as the upstream prototype's shell tools did it: several processes per agent. */
const NAIVE = `#!/bin/sh
# naive-ps SOCKET RUN_DIR AGENT...
socket=$1; run=$2; shift 2
for a in "$@"; do
  if ! tmux -L "$socket" has-session -t "=$a" 2>/dev/null; then echo "$a missing"; continue; fi
  info=$(tmux -L "$socket" display-message -p -t "=$a:0.0" '#{pane_pid} #{pane_dead} #{pane_current_command} #{window_activity}')
  pid=\${info%% *}
  unit=$(systemctl --user show "mosaic-agent@$a.service" --property=ActiveState --property=UnitFileState --value 2>/dev/null)
  procs=$(ps -o pid=,comm=,args= -p "$pid" --ppid "$pid" 2>/dev/null)
  hb=; [ -r "$run/$a.hb" ] && read -r hb < "$run/$a.hb"
  printf '%s|%s|%s|%s|%s\\n' "$a" "$info" "$unit" "$procs" "$hb"
done
`;

/** Successful execve calls of a command and all its descendants. */
function countProcesses(argv, env, dir) {
  const out = path.join(dir, `strace-${Date.now()}.txt`);
  // --seccomp-bpf: only execve stops the traced processes, so counting does not slow them ~100x.
  const result = spawnSync('strace', ['--seccomp-bpf', '-f', '-qq', '-e', 'trace=execve', '-o', out, ...argv], {
    env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) return null;
  return readFileSync(out, 'utf8')
    .split('\n')
    .filter((line) => /execve\(/.test(line) && /= 0$/.test(line)).length;
}

async function measure(size) {
  const w = world(`ps${size}`);
  worlds.push(w);
  const names = Array.from({ length: size }, (_, i) => `a${i}`);
  w.writeRoster(names.map((name) => `  - {name: ${name}, runtime: stub}\n`).join(''), 'defaults:\n  working_directory: work\n');
  const started = w.mosaic(['fleet', 'start']);
  if (started.status !== 0) throw new Error(`fleet start failed: ${started.stderr}`);
  // All panes up and every stub's first heartbeat written, so every run joins the same, full data.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const records = JSON.parse(w.mosaic(['fleet', 'ps', '--json']).stdout);
    if (records.length === size && records.every((r) => r.pane === 'alive' && r.heartbeat.health === 'healthy')) break;
    if (Date.now() > deadline) throw new Error(`${size} agents did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const ps = [process.execPath, CLI, 'fleet', 'ps', '--json'];
  const script = path.join(w.dir, 'naive-ps.sh');
  writeFileSync(script, NAIVE);
  const naive = ['sh', script, w.socket, path.join(w.home, 'run'), ...names];
  const floorArgv = await psFloorArgv(w);

  await timed(ps, w.env); // warm caches once each
  await timed(naive, w.env);
  await timed(floorArgv, w.env);
  const ours = [];
  const theirs = [];
  const floor = [];
  // Interleaved, so both see the same machine load.
  for (let round = 0; round < ROUNDS; round += 1) {
    const run = await timed(ps, w.env);
    if (run.status !== 0) throw new Error(`fleet ps failed: ${run.stderr}`);
    const records = JSON.parse(run.stdout);
    if (records.length !== size || records.some((r) => r.state !== 'running' || r.flags.length > 0))
      throw new Error('fleet ps gave a wrong answer');
    ours.push(run.ms);
    const least = await timed(floorArgv, w.env);
    checkPsFloor(least, size);
    floor.push(least.ms);
    if (round < NAIVE_ROUNDS) {
      const slow = await timed(naive, w.env);
      const rows = slow.stdout.split('\n').filter((line) => /^a\d+\|\d+ 0 /.test(line)).length;
      if (rows !== size) throw new Error(`naive join found ${rows} of ${size} live agents: ${slow.stderr}`);
      theirs.push(slow.ms);
    }
  }
  const result = {
    size,
    ours: median(ours),
    oursMin: Math.min(...ours),
    theirs: median(theirs),
    floor: median(floor),
    oursProcesses: countProcesses(ps, w.env, w.dir),
    theirsProcesses: countProcesses(naive, w.env, w.dir),
  };
  w.mosaic(['fleet', 'stop']);
  w.close();
  worlds.splice(worlds.indexOf(w), 1);
  return result;
}

// The naive loop's `systemctl --user show` should do its real work, as in a login session: point it
// at the user manager when one runs here and the environment does not say so already.
const uid = process.getuid?.() ?? 0;
if (!process.env.XDG_RUNTIME_DIR && existsSync(`/run/user/${uid}/bus`)) process.env.XDG_RUNTIME_DIR = `/run/user/${uid}`;
const systemctl = spawnSync('systemctl', ['--user', 'show', '--property=Version', '--value'], { encoding: 'utf8' });
console.log(
  `bench/ps: ${ROUNDS} runs of \`mosaic fleet ps --json\` and ${NAIVE_ROUNDS} of the naive loop per size, medians, whole processes`,
);
console.log(
  `(naive loop's systemctl --user: ${systemctl.status === 0 ? `reaches a user manager, systemd ${systemctl.stdout.trim()}` : 'no user manager, fails fast'}; programs started = successful execve, by strace --seccomp-bpf -f)`,
);
console.log('agents  mosaic ps (median / min)  naive join  ratio    processes: mosaic  naive   node floor');
for (const size of SIZES) {
  const r = await measure(size);
  const count = (n) => (n === null ? 'n/a (no strace)' : String(n));
  console.log(
    `${String(r.size).padStart(6)}  ${`${r.ours.toFixed(0)} ms / ${r.oursMin.toFixed(0)} ms`.padStart(23)}  ${`${r.theirs.toFixed(0)} ms`.padStart(10)}  ${`${(r.theirs / r.ours).toFixed(1)}x`.padStart(6)}    ${count(r.oursProcesses).padStart(16)}  ${count(r.theirsProcesses).padStart(5)}   ${`${r.floor.toFixed(0)} ms`.padStart(10)}`,
  );
  emitResult({
    ...(r.size === 500 ? { id: 'ps@500' } : { figure: `fleet ps --json, ${r.size} agents (vs naive join)` }),
    mosaic: r.ours,
    baseline: r.theirs,
    baseline_label: 'naive join',
    ratio_of: 'naive/mosaic',
    floor: r.floor,
    floor_label: 'bench/ps-floor.mjs',
  });
  emitResult({
    figure: `fleet ps --json, ${r.size} agents (vs the Node floor)`,
    mosaic: r.ours,
    baseline: r.floor,
    baseline_label: 'bench/ps-floor.mjs',
    ratio: r.ours / r.floor,
    ratio_of: 'mosaic/floor',
  });
}
