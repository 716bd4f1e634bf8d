// The cells of the fault-injection suite: each one a real fault on a real fleet and an asserted
// outcome. A cell returns its outcome word ('survived', or e.g. 'recovered by fleet start') or
// throws a Miss whose message is the evidence. See faults/README.md.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { check, eventually, isAlive, Miss, procState, processCount, processesUsing, rosterYaml, rows, within } from './lib.mjs';

const IS_ROOT = (process.getuid?.() ?? 0) === 0;
const stubs = (names, extra = '') => names.map((n) => `  - {name: ${n}, runtime: stub${extra}}\n`).join('');
const agentsYaml = (names, extra) => `defaults:\n  working_directory: work\nagents:\n${stubs(names, extra)}`;

/** Write the roster, install units (systemd), start, and wait until every session's pane is alive. */
async function startFleet(world, yaml, sessions, { enable = false } = {}) {
  world.writeRoster(yaml);
  if (world.systemd) await world.must(['fleet', 'install-systemd', ...(enable ? ['--enable'] : [])]);
  await world.must(['fleet', 'start'], { timeoutMs: 180_000 });
  return world.livePanes(sessions);
}

function samePids(before, after, sessions) {
  const moved = sessions.filter((s) => before[s] !== after[s]);
  return moved.length === 0 ? '' : moved.map((s) => `${s}: ${before[s]} → ${after[s] ?? 'gone'}`).join(', ');
}

/** The pane of `session` alive again with a PID other than `previous`, with no mosaic command run. */
const comesBack = (world, session, previous, timeoutMs = 20_000) =>
  eventually(
    () => {
      const { pids, dead } = world.panes();
      return pids[session] && pids[session] !== previous && !dead[session] && isAlive(pids[session]) ? pids[session] : undefined;
    },
    { timeoutMs, what: `${session} to come back by itself after the fault (old pane PID ${previous})` },
  );

/** Beats written: the heartbeat file's content changes `n` times (proof that time passed, no fixed sleep). */
async function beats(world, agent, n, timeoutMs = 15_000) {
  const file = path.join(world.runDir, `${agent}.hb`);
  let last = readSafe(file);
  let seen = 0;
  await eventually(
    () => {
      const now = readSafe(file);
      if (now !== last) {
        seen++;
        last = now;
      }
      return seen >= n;
    },
    { timeoutMs, what: `${n} heartbeats of ${agent}` },
  );
}

function readSafe(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const ROSTER_LINE = /roster\.yaml:\d+/;

// ------------------------------------------------------------------------------ cells --

async function kill9Agent(world) {
  const names = ['a', 'b', 'c'];
  const before = await startFleet(world, rosterYaml(world, agentsYaml(names)), names);
  process.kill(before.b, 'SIGKILL');
  await comesBack(world, 'b', before.b);
  // The new pane first sleeps the backoff (state restarting), then runs the agent again.
  let last;
  const ok = await within(
    async () => {
      last = (await rows(world, 'status')).b;
      return (
        last.state === 'running' && last.restarts >= 1 && last.pane_pid === world.panes().pids.b && last.heartbeat?.health === 'healthy'
      );
    },
    20_000,
    200,
  );
  check(
    ok,
    () =>
      `fleet status after the crash: b state=${last?.state} restarts=${last?.restarts} pane ${last?.pane_pid} heartbeat ${last?.heartbeat?.health}`,
  );
  const after = world.panes().pids;
  const moved = samePids(before, after, ['a', 'c', '_holder']);
  check(!moved, `siblings were touched by b's crash: ${moved}`);
  return 'survived';
}

async function killServerBuiltin(world) {
  const names = ['a', 'b', 'c'];
  const before = await startFleet(world, rosterYaml(world, agentsYaml(names)), names);
  const server = world.serverPid();
  process.kill(server, 'SIGKILL');
  await eventually(() => !isAlive(server) && !world.panes().up, { what: 'the tmux server to be gone' });
  // The agents die with their ptys: nothing is left running outside tmux.
  await eventually(() => names.every((n) => !isAlive(before[n])), {
    what: `the old agent processes to exit (${names.map((n) => `${n}=${before[n]}`).join(' ')})`,
  });
  const verify = await world.json(['fleet', 'verify']);
  check(
    verify.status === 1 && verify.data.ok === false && verify.data.problems.length > 0,
    () => `fleet verify after the server was killed: exit ${verify.status}, ${verify.stdout.slice(0, 400)}`,
  );
  const text = verify.data.problems.join('\n');
  check(
    names.every((n) => text.includes(n)),
    `fleet verify does not name every lost agent: ${text}`,
  );
  await world.must(['fleet', 'start']);
  const after = await world.livePanes(names);
  check(
    names.every((n) => after[n] !== before[n]),
    'fleet start did not create new panes',
  );
  const again = await world.json(['fleet', 'verify']);
  check(again.status === 0, `fleet verify after fleet start: exit ${again.status}, problems ${JSON.stringify(again.data.problems)}`);
  return 'recovered by fleet start';
}

async function killServerSystemd(world) {
  const names = ['a', 'b', 'c'];
  const before = await startFleet(world, rosterYaml(world, agentsYaml(names)), names);
  const server = world.serverPid();
  check(Number(world.show(world.holderUnit, 'MainPID')) === server, "the tmux server is not the holder unit's main process");
  process.kill(server, 'SIGKILL');
  await eventually(
    () => {
      const { pids, dead } = world.panes();
      return names.every((n) => pids[n] && pids[n] !== before[n] && !dead[n]) && world.show(world.holderUnit, 'ActiveState') === 'active';
    },
    { timeoutMs: 40_000, what: 'the holder and every agent to come back with new pane PIDs' },
  );
  check(world.serverPid() !== server, 'the tmux server PID did not change');
  const verify = await world.json(['fleet', 'verify']);
  check(
    verify.status === 0,
    `fleet verify after the server came back: exit ${verify.status}, problems ${JSON.stringify(verify.data.problems)}`,
  );
  return 'survived';
}

async function restartHolder(world) {
  const names = ['a', 'b', 'c'];
  const before = await startFleet(world, rosterYaml(world, agentsYaml(names)), names);
  const server = world.serverPid();
  const r = world.systemctl(['restart', world.holderUnit]);
  check(r.status === 0, `systemctl --user restart ${world.holderUnit}: ${r.stderr}`);
  const after = await eventually(
    () => {
      const { pids, dead } = world.panes();
      return names.every((n) => pids[n] && pids[n] !== before[n] && !dead[n] && isAlive(pids[n])) ? pids : undefined;
    },
    { timeoutMs: 40_000, what: 'every agent to come back after the holder restart' },
  );
  check(world.serverPid() !== server, 'the tmux server did not restart with the holder');
  for (const n of names)
    check(
      world.show(world.agentUnit(n), 'ActiveState') === 'active',
      `${world.agentUnit(n)} is ${world.show(world.agentUnit(n), 'ActiveState')}`,
    );
  const verify = await world.json(['fleet', 'verify']);
  check(
    verify.status === 0,
    `fleet verify after the holder restart: exit ${verify.status}, problems ${JSON.stringify(verify.data.problems)}`,
  );
  check(Object.keys(after).sort().join() === '_holder,a,b,c', `sessions after the restart: ${Object.keys(after).sort().join()}`);
  return 'survived';
}

/** Members of the process group `pgid` (the pane's leader and what it forked: the stub's heartbeat loop). */
function groupMembers(pgid) {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = readSafe(`/proc/${e}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) out.push(Number(e));
  }
  return out;
}

const FREEZER = '/sys/fs/cgroup/freezer';

/**
 * Freeze processes for real. SIGSTOP cannot do it under tmux: tmux's server_child_stopped()
 * answers a stopped pane process with killpg(SIGCONT), and SIGTTIN/SIGTSTP are discarded for a
 * pane (an orphaned process group). The cgroup v1 freezer stops them without tmux noticing.
 */
function freeze(world, pids) {
  if (!existsSync(`${FREEZER}/cgroup.procs`)) throw new Miss(`no cgroup v1 freezer at ${FREEZER}: cannot freeze an agent under tmux`);
  const cg = `${FREEZER}/${path.basename(world.dir)}-${pids[0]}`;
  mkdirSync(cg);
  const thaw = () => {
    try {
      writeFileSync(`${cg}/freezer.state`, 'THAWED');
      for (const pid of readFileSync(`${cg}/cgroup.procs`, 'utf8').split('\n').filter(Boolean))
        writeFileSync(`${FREEZER}/cgroup.procs`, pid);
      spawnSync('rmdir', [cg]);
    } catch {
      // already thawed and removed
    }
  };
  world.onCleanup(thaw);
  for (const pid of pids) {
    try {
      writeFileSync(`${cg}/cgroup.procs`, String(pid));
    } catch (error) {
      if (error.code !== 'ESRCH' || pid === pids[0]) throw error; // a short-lived child (sleep, date) is gone
    }
  }
  writeFileSync(`${cg}/freezer.state`, 'FROZEN');
  return { cg, thaw };
}

async function sigstopAgent(world) {
  const names = ['a', 'b'];
  const before = await startFleet(world, rosterYaml(world, agentsYaml(names), { heartbeat: 1 }), names);
  const pid = (await rows(world)).a.agent_pid ?? before.a;
  process.kill(pid, 'SIGSTOP');
  world.onCleanup(() => {
    try {
      process.kill(-pid, 'SIGCONT');
    } catch {
      // gone
    }
  });
  const t0 = Date.now();
  // tmux continues a stopped pane process at once (see freeze()): the agent must just go on.
  const resumed = await within(() => procState(pid) !== 'T' && procState(pid) !== undefined, 5_000, 5);
  if (!resumed) {
    // Stopped for good: the assertions of a frozen agent apply.
    const send = await world.json(['agent', 'send', 'a', '--verify', '--verify-timeout', '3000', '-m', 'are you there?']);
    process.kill(-pid, 'SIGCONT');
    check(
      send.data.status !== 'accepted' && send.status !== 0,
      `agent send --verify to the stopped agent said ${send.data.status} (exit ${send.status})`,
    );
  }
  const send = await world.json(['agent', 'send', 'a', '--verify', '-m', 'after SIGSTOP']);
  check(
    send.status === 0 && send.data.status === 'accepted',
    `after SIGSTOP (resumed by tmux in ${Date.now() - t0} ms) send --verify: ${send.data.status}: ${send.data.detail}`,
  );
  const after = world.panes().pids;
  check(after.a === before.a && after.b === before.b, 'pane PIDs changed');
  world.sigstopDetail = resumed ? `tmux resumed the stopped pane process (SIGCONT) within ${Date.now() - t0} ms` : 'stayed stopped';
  return resumed ? 'survived (tmux SIGCONTs)' : 'survived';
}

/**
 * The agent frozen for real (cgroup freezer): `whole` freezes its process group (the stub and
 * its heartbeat loop: a machine that stopped scheduling it), else only the agent process (a hung
 * runtime whose heartbeat loop, a separate process, still runs).
 */
async function frozenAgent(world, whole) {
  const names = ['a', 'b'];
  const rec = path.join(world.dir, 'rec');
  mkdirSync(rec);
  const before = await startFleet(
    world,
    rosterYaml(
      world,
      `defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub, args: ["--record-dir", "${rec}"]}\n  - {name: b, runtime: stub}\n`,
      { heartbeat: 1 },
    ),
    names,
  );
  const pid = (await rows(world)).a.agent_pid ?? before.a;
  const members = whole ? groupMembers(pid) : [pid];
  const { thaw } = freeze(world, members);
  await eventually(() => procState(pid) === 'D' || procState(pid) === 'S' || procState(pid) === 'R', { what: 'state' });
  const frozenAt = Date.now();
  const problems = [];
  const send = await world.json(['agent', 'send', 'a', '--verify', '--verify-timeout', '3000', '-m', 'are you there?']);
  if (send.data.status === 'accepted' || send.status === 0)
    problems.push(`agent send --verify to the frozen agent said ${send.data.status} (exit ${send.status}): ${send.data.detail}`);
  // Health: stale after 3 intervals of 1 s; allow 4 s more.
  const stale = await within(
    async () => {
      const ps = await rows(world);
      return ps.a.heartbeat?.health === 'stale' ? ps.a : undefined;
    },
    7_000,
    200,
  );
  if (!stale) {
    const ps = await rows(world);
    const hb = readSafe(path.join(world.runDir, 'a.hb'))?.trim();
    const group = spawnSync('ps', ['-o', 'pid=,stat=,args=', '-g', String(pid)], { encoding: 'utf8' })
      .stdout.trim()
      .replace(/\s+/g, ' ');
    problems.push(
      `fleet ps shows a ${ps.a.heartbeat?.health} (age ${ps.a.heartbeat?.age_seconds}s, state ${ps.a.state}, activity ${ps.a.activity}) ${((Date.now() - frozenAt) / 1000).toFixed(1)} s after its agent process ${pid} was frozen (heartbeat 1 s); a.hb="${hb}"; processes of its group: ${group}`,
    );
  }
  const sib = (await rows(world)).b;
  if (sib.heartbeat?.health !== 'healthy') problems.push(`sibling b is ${sib.heartbeat?.health}`);
  thaw();
  // Thawed: healthy again, and the message sent meanwhile is processed exactly once.
  const healthy = await within(async () => ((await rows(world)).a.heartbeat?.health === 'healthy' ? true : undefined), 8_000, 200);
  if (!healthy) problems.push('not healthy again after thaw');
  const got = await within(() => (readdirSync(rec).length >= 1 ? readdirSync(rec) : undefined), 5_000);
  const bodies = (got ?? []).map((f) => readFileSync(path.join(rec, f), 'utf8'));
  if (bodies.filter((b) => b.endsWith('are you there?')).length !== 1)
    problems.push(`after thaw the agent recorded ${JSON.stringify(bodies)}`);
  const after = world.panes().pids;
  if (after.a !== before.a || after.b !== before.b) problems.push('pane PIDs changed');
  if (problems.length) throw new Miss(problems.join('; '));
  world.frozenDetail = `send --verify said ${send.data.status} (exit ${send.status}); stale after ${((Date.now() - frozenAt) / 1000).toFixed(1)} s or less`;
  return 'survived';
}

async function sendLockKill(world) {
  const rec = path.join(world.dir, 'rec');
  mkdirSync(rec);
  const before = await startFleet(
    world,
    rosterYaml(
      world,
      `defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub, args: ["--slow-ms", "1500", "--record-dir", "${rec}"]}\n`,
    ),
    ['a'],
  );
  const lock = path.join(world.runDir, 'send-a.lock');
  // Make the agent busy so that a verifying sender holds the lock for a while, then kill that
  // sender (SIGKILL: no cleanup runs) the moment its PID is in the lock file.
  let killed;
  for (let attempt = 0; attempt < 5 && !killed; attempt++) {
    await world.must(['agent', 'send', 'a', '--no-preamble', '-m', `busy-${attempt}`]);
    let child;
    const done = world.mosaic(['agent', 'send', 'a', '--verify', '--verify-timeout', '8000', '--no-preamble', '-m', `victim-${attempt}`], {
      onSpawn: (c) => (child = c),
    });
    const holder = await within(
      () => {
        const content = readSafe(lock);
        return child && content?.startsWith(`${child.pid} `) ? content : undefined;
      },
      10_000,
      2,
    );
    if (holder) {
      process.kill(child.pid, 'SIGKILL');
      killed = { pid: child.pid, content: holder.trim() };
    }
    const r = await done;
    if (!killed) continue;
    check(r.signal === 'SIGKILL', `the sender ended by ${r.signal ?? `exit ${r.status}`} before the kill`);
  }
  check(killed, 'could not catch a sender holding the lock in 5 attempts');
  check(
    existsSync(lock) && readSafe(lock).startsWith(`${killed.pid} `),
    `the killed sender's lock file is not there (${readSafe(lock)}): the fault did not happen as intended`,
  );
  // Let the stub finish what it was doing, then the next send must get through.
  const next = await world.json(['agent', 'send', 'a', '--verify', '--verify-timeout', '8000', '--no-preamble', '-m', 'after-the-kill']);
  check(
    next.status === 0 && ['accepted', 'queued'].includes(next.data.status),
    `the next send: exit ${next.status} status ${next.data.status}: ${next.data.detail ?? next.stderr}`,
  );
  check(next.ms < 15_000, `the next send took ${next.ms} ms (lock left by pid ${killed.pid})`);
  await eventually(() => !existsSync(lock), { timeoutMs: 5_000, what: `${lock} to be gone after the next send` });
  check(!existsSync(`${lock}.break`), 'a .break file was left behind');
  // What the agent received: the follow-up arrives on its own (not glued onto a draft left by the victim).
  const bodies = await eventually(
    () => {
      const b = readdirSync(rec)
        .sort((x, y) => Number.parseInt(x) - Number.parseInt(y))
        .map((f) => readFileSync(path.join(rec, f), 'utf8'));
      return b.some((x) => x.includes('after-the-kill')) ? b : undefined;
    },
    { timeoutMs: 10_000, what: 'the stub to record the follow-up message' },
  );
  const last = bodies.find((b) => b.includes('after-the-kill'));
  check(last === 'after-the-kill', `the follow-up reached the agent as ${JSON.stringify(last)} (received: ${JSON.stringify(bodies)})`);
  check(world.panes().pids.a === before.a, 'the agent restarted');
  return 'survived';
}

const INVALID = [
  // [description, roster text transform, expected 1-based line of the error]
  // The YAML parser reports an unclosed flow map where it noticed it: the line after (EOF).
  ['YAML syntax error', (y) => `${y}  - {name: broken, runtime: stub\n`, (y) => [y.split('\n').length, y.split('\n').length + 1]],
  ['schema error', (y) => `${y}  - {name: bad, runtime: stub, no_such_field: 1}\n`, (y) => [y.split('\n').length]],
];

async function rosterInvalid(world) {
  const names = ['a', 'b', 'c'];
  const yaml = rosterYaml(world, agentsYaml(names));
  const before = await startFleet(world, yaml, names);
  const problems = [];
  for (const [what, transform, lineOf] of INVALID) {
    const bad = transform(yaml);
    world.writeRoster(bad);
    const lines = lineOf(yaml);
    for (const args of [
      ['fleet', 'status'],
      ['fleet', 'ps'],
      ['fleet', 'verify'],
      ['fleet', 'start'],
      ['agent', 'send', 'a', '-m', 'hi'],
      ['fleet', 'stop', 'a'],
    ]) {
      const r = await world.mosaic(args);
      const err = r.stderr.trim().replace(/\s+/g, ' ');
      const where = err.match(ROSTER_LINE)?.[0];
      if (r.status === 0) problems.push(`${what}: mosaic ${args.join(' ')} exited 0`);
      else if (!where)
        problems.push(`${what}: mosaic ${args.join(' ')} (exit ${r.status}) names no roster.yaml:<line>: ${err.slice(0, 300)}`);
      else if (!lines.some((l) => where === `roster.yaml:${l}`))
        problems.push(`${what}: mosaic ${args.join(' ')} points at ${where}, the error is on line ${lines[0]}: ${err.slice(0, 300)}`);
      else world.rosterError = err.slice(err.indexOf(where) - 0, err.indexOf(where) + 120);
    }
  }
  // The watchdog kept running meanwhile (beats went on) and touched nothing.
  await beats(world, 'a', 2);
  const after = world.panes().pids;
  const moved = samePids(before, after, [...names, '_holder']);
  if (moved) problems.push(`running fleet touched: ${moved}`);
  world.writeRoster(yaml);
  const verify = await world.json(['fleet', 'verify']);
  if (verify.status !== 0) problems.push(`fleet verify after the roster was restored: ${JSON.stringify(verify.data.problems)}`);
  if (problems.length) throw new Miss(problems.join('; '));
  return 'survived';
}

async function kill9RosterInvalid(world) {
  const names = ['a', 'b'];
  const yaml = rosterYaml(world, agentsYaml(names));
  const before = await startFleet(world, yaml, names);
  world.writeRoster(INVALID[0][1](yaml));
  process.kill(before.b, 'SIGKILL');
  await comesBack(world, 'b', before.b);
  check(world.panes().pids.a === before.a, 'sibling a restarted');
  return 'survived';
}

/** Make the run dir unwritable: chmod 0500, and as root (which ignores modes) also chattr +i. */
function freezeDir(world, dir) {
  chmodSync(dir, 0o500);
  world.onCleanup(() => thawDir(dir));
  if (IS_ROOT) {
    const r = spawnSync('chattr', ['+i', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Miss(`cannot make ${dir} unwritable for root (chattr +i: ${r.stderr.trim()})`);
  }
  try {
    writeFileSync(path.join(dir, 'probe'), 'x');
    throw new Miss(`${dir} is still writable: the fault could not be injected`);
  } catch (error) {
    if (error instanceof Miss) throw error;
  }
}

function thawDir(dir) {
  if (IS_ROOT) spawnSync('chattr', ['-i', dir]);
  chmodSync(dir, 0o700);
}

async function runDirUnwritable(world) {
  const names = ['a', 'b', 'c'];
  const before = await startFleet(world, rosterYaml(world, agentsYaml(names), { heartbeat: 1 }), names);
  freezeDir(world, world.runDir);
  const problems = [];
  // Heartbeats can no longer be written: ps must keep answering and show them stale, not crash.
  const stale = await within(
    async () => {
      const r = await world.json(['fleet', 'ps']);
      if (r.status !== 0 && !Array.isArray(r.data)) return undefined;
      const by = Object.fromEntries(r.data.map((row) => [row.agent, row]));
      return names.every((n) => by[n]?.heartbeat?.health === 'stale') ? { r, by } : undefined;
    },
    12_000,
    300,
  );
  if (!stale) {
    const r = await world.mosaic(['fleet', 'ps', '--json']);
    // Each agent's heartbeat as ps judged it (the rows themselves are too long to say which one stayed healthy).
    let beats;
    try {
      beats = JSON.parse(r.stdout).map((row) => `${row.agent}: ${JSON.stringify(row.heartbeat)}`);
    } catch {
      beats = [(r.stdout.slice(0, 300) || r.stderr.trim()).replace(/\s+/g, ' ')];
    }
    problems.push(`fleet ps with the run dir unwritable, not all stale within 12 s: exit ${r.status}, ${beats.join(' | ')}`);
  } else {
    for (const n of names) if (stale.by[n].pane !== 'alive') problems.push(`ps shows ${n} pane ${stale.by[n].pane}`);
  }
  const status = await world.mosaic(['fleet', 'status', '--json']);
  if (status.status !== 0) problems.push(`fleet status with the run dir unwritable: exit ${status.status}: ${status.stderr.trim()}`);
  const moved = samePids(before, world.panes().pids, [...names, '_holder']);
  if (moved) problems.push(`agents restarted: ${moved}`);
  if (!names.every((n) => isAlive(before[n]))) problems.push('an agent process died');
  thawDir(world.runDir);
  const healthy = await within(
    async () => {
      const ps = await rows(world);
      return names.every((n) => ps[n].heartbeat?.health === 'healthy');
    },
    8_000,
    200,
  );
  if (!healthy) problems.push('heartbeats did not turn healthy again after the run dir was restored');
  if (problems.length) throw new Miss(problems.join('; '));
  return 'survived';
}

async function kill9RunDirUnwritable(world) {
  const names = ['a', 'b'];
  const before = await startFleet(world, rosterYaml(world, agentsYaml(names), { heartbeat: 1 }), names);
  freezeDir(world, world.runDir);
  process.kill(before.b, 'SIGKILL');
  try {
    await comesBack(world, 'b', before.b);
  } catch (error) {
    const log = (readSafe(path.join(world.fleetHome, 'logs', 'supervisor.log')) ?? '')
      .split('\n')
      .filter((l) => /error/i.test(l))
      .slice(-1)
      .join('');
    const pane = world.tmux(['display-message', '-p', '-t', '=b:0.0', '#{pane_dead} #{pane_dead_status} #{pane_pid}']).stdout.trim();
    throw new Miss(
      `${error.message}; tmux shows b's pane dead=${pane.split(' ')[0]} (pane PID ${before.b}); the pane-died handler failed, supervisor.log: ${log.trim()}`,
    );
  }
  check(world.panes().pids.a === before.a, 'sibling a restarted');
  return 'survived';
}

async function managerRestart(world) {
  const names = ['a', 'b', 'c'];
  const before = await startFleet(world, rosterYaml(world, agentsYaml(names)), names);
  await world.must(['fleet', 'enable', 'a', 'b']);
  for (const n of ['a', 'b']) check(world.show(world.agentUnit(n), 'UnitFileState') === 'enabled', `${n} not enabled`);
  check(world.show(world.holderUnit, 'UnitFileState') === 'enabled', 'the holder was not enabled by fleet enable a b');
  const problems = [];
  // 1. The manager itself re-executes (daemon-reexec): what a systemd upgrade does. A full
  // stop/start of the manager would stop every other user unit (other suites share it).
  const r = world.systemctl(['daemon-reexec']);
  if (r.status !== 0) problems.push(`daemon-reexec: ${r.stderr.trim()}`);
  await eventually(
    () =>
      world
        .systemctl(['is-system-running'])
        .stdout.trim()
        .match(/running|degraded/),
    { timeoutMs: 30_000, what: 'the user manager to answer after daemon-reexec' },
  );
  for (const n of names) {
    const state = world.show(world.agentUnit(n), 'ActiveState');
    if (state !== 'active') problems.push(`after daemon-reexec ${n} is ${state}`);
  }
  const moved = samePids(before, world.panes().pids, [...names, '_holder']);
  if (moved) problems.push(`daemon-reexec moved panes: ${moved}`);
  // 2. The manager's start-up, restricted to this fleet: everything gone (as when the manager
  // stops), then start what default.target wants of ours, which is what a starting manager does.
  const stop = world.systemctl(['stop', world.holderUnit]);
  if (stop.status !== 0) problems.push(`stop holder: ${stop.stderr.trim()}`);
  await eventually(() => !world.panes().up, { what: 'the fleet to be down' });
  const wants = world
    .systemctl(['list-dependencies', '--plain', '--no-legend', 'default.target'])
    .stdout.split('\n')
    .map((l) => l.trim())
    .filter((u) => u.startsWith(`${world.prefix}-`));
  const expected = [world.holderUnit, world.agentUnit('a'), world.agentUnit('b')].sort();
  if (wants.sort().join() !== expected.join())
    problems.push(`default.target wants ${JSON.stringify(wants)}, expected ${JSON.stringify(expected)}`);
  if (wants.length) {
    const start = world.systemctl(['start', '--', ...wants]);
    if (start.status !== 0) problems.push(`start of the wanted units: ${start.stderr.trim()}`);
  }
  const back = await within(() => {
    const { pids, dead } = world.panes();
    return pids.a && pids.b && !dead.a && !dead.b ? pids : undefined;
  }, 20_000);
  if (!back) problems.push(`enabled agents did not come back: sessions ${JSON.stringify(world.panes().pids)}`);
  else if (back.c) problems.push('the disabled agent c came back too');
  if (problems.length) throw new Miss(problems.join('; '));
  return 'survived';
}

const STORM_AGENTS = 200;
const STORM_FLEET_MAX = 20;
// Ceiling on the fleet's processes during the storm: one live agent costs about ten processes (pane,
// launcher, stub, heartbeat loop, transcript pipe); a crash handler is one Node process. Twelve
// per agent is what "nothing fork-bombs" means here.
const STORM_CEILING_PER_AGENT = 12;

async function crashStorm(world) {
  const names = Array.from({ length: STORM_AGENTS }, (_, i) => `s${String(i).padStart(3, '0')}`);
  const yaml = rosterYaml(world, agentsYaml(names, ', args: ["--crash-after", "0"]'), {
    heartbeat: 15,
    restart: `  backoff_initial_ms: 200\n  backoff_max_ms: 2000\n  max_crashes: 5\n  window_seconds: 300\n  fleet_max_crashes: ${STORM_FLEET_MAX}\n`,
  });
  world.writeRoster(yaml);
  // The machine is shared (other suites run): the ceiling applies to this fleet's own processes
  // (every process whose environment points into this cell's root); the machine-wide count is reported.
  const baseline = processCount();
  let peak = baseline;
  let ownPeak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, processCount());
    ownPeak = Math.max(ownPeak, processesUsing(world.dir).length);
  }, 250);
  let settled;
  try {
    const start = await world.mosaic(['fleet', 'start'], { timeoutMs: 180_000 });
    check(
      start.status === 0 || start.status === 1,
      `fleet start of ${STORM_AGENTS} crashing agents: exit ${start.status}: ${start.stderr.slice(0, 300)}`,
    );
    // Settled: every agent failed, or nothing changes any more (no pane alive and no handler running).
    settled = await eventually(
      async () => {
        const st = await rows(world, 'status');
        const list = Object.values(st);
        const failed = list.filter((r) => r.state === 'failed').length;
        const restarting = list.filter((r) => r.state === 'restarting' || r.state === 'running').length;
        return failed === names.length || (failed > 0 && restarting === 0) ? { st, list, failed } : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000, what: 'the crash storm to settle (every agent failed or none left restarting)' },
    );
  } finally {
    clearInterval(sampler);
  }
  const restarts = settled.list.reduce((sum, r) => sum + (r.restarts ?? 0), 0);
  const reasons = new Set(settled.list.filter((r) => r.failed_reason).map((r) => r.failed_reason.replace(/\d+/g, 'N')));
  const problems = [];
  if (settled.failed < names.length - STORM_FLEET_MAX) problems.push(`only ${settled.failed}/${names.length} agents ended failed`);
  if (restarts > STORM_FLEET_MAX) problems.push(`${restarts} restarts in total, more than restart.fleet_max_crashes=${STORM_FLEET_MAX}`);
  if (![...reasons].some((r) => r.includes('crash storm')))
    problems.push(`no agent was failed by the fleet-wide guard: reasons ${JSON.stringify([...reasons])}`);
  const ceiling = STORM_CEILING_PER_AGENT * names.length;
  if (ownPeak > ceiling)
    problems.push(`the fleet's process count peaked at ${ownPeak} (ceiling ${ceiling}; machine: ${peak}, baseline ${baseline})`);
  const leftRunning = processesUsing(world.dir).length;
  const detail = `${settled.failed}/${names.length} failed, ${restarts} restarts (limit ${STORM_FLEET_MAX}), fleet processes peak ${ownPeak} (ceiling ${ceiling}; machine peak ${peak}, baseline ${baseline}), ${leftRunning} processes of the fleet still running once settled`;
  if (problems.length) throw new Miss(`${problems.join('; ')} [${detail}]`);
  world.stormDetail = detail;
  return 'survived';
}

// Values that would run `touch <root>/pwned-<vector>` if any layer (roster loader, launcher,
// unit/env file, tmux command) let them reach a shell or a unit directive.
function injectionVectors(world) {
  const pwn = (tag) => `${world.dir}/pwned-${tag}`;
  return [
    { id: 'name-semicolon', refuse: true, agent: `  - {name: "a;touch ${pwn('n1')}", runtime: stub}\n` },
    { id: 'name-subst', refuse: true, agent: `  - {name: "$(touch ${pwn('n2')})", runtime: stub}\n` },
    { id: 'name-newline', refuse: true, agent: `  - {name: "a\\nExecStartPre=/bin/touch ${pwn('n3')}", runtime: stub}\n` },
    { id: 'env-key', refuse: true, agent: `  - name: ek\n    runtime: stub\n    env: {"X=1\\nExecStartPre=/bin/touch ${pwn('ek')}": v}\n` },
    { id: 'workdir-subst', name: 'wd1', workdir: `w/$(touch ${pwn('wd1')})` },
    { id: 'workdir-backtick', name: 'wd2', workdir: `w/\`touch ${pwn('wd2')}\`` },
    { id: 'workdir-quotes', name: 'wd3', workdir: `w/'"; touch ${pwn('wd3')}; echo "'` },
    { id: 'workdir-newline', name: 'wd4', workdir: `w/x\nExecStartPre=/bin/touch ${pwn('wd4')}` },
    { id: 'workdir-specifiers', name: 'wd5', workdir: 'w/%h %n ${HOME} $$ \\x' },
    { id: 'env-subst', name: 'e1', env: { V: `$(touch ${pwn('e1')})` } },
    { id: 'env-quotes', name: 'e2', env: { V: `"; touch ${pwn('e2')}; echo "` } },
    { id: 'env-newline', name: 'e3', env: { V: `x\nExecStartPre=/bin/touch ${pwn('e3')}\nY=1` } },
    { id: 'env-backtick-specifier', name: 'e4', env: { V: `\`touch ${pwn('e4')}\` %h %% \\ $HOME` } },
    { id: 'model_hint', name: 'm1', extra: `    model_hint: "$(touch ${pwn('m1')})"\n` },
    { id: 'model', name: 'm2', extra: `    model: "'; touch ${pwn('m2')}; '"\n` },
    { id: 'class', name: 'c1', extra: `    class: "x$(touch ${pwn('c1')})"\n` },
    { id: 'kickstart', name: 'k1', extra: `    kickstart_template: "$(touch ${pwn('k1')}) {agent} \`touch ${pwn('k1b')}\`"\n` },
  ];
}

const yamlStr = (s) => JSON.stringify(s); // JSON strings are YAML double-quoted strings

function vectorAgent(v) {
  if (v.agent) return v.agent;
  let y = `  - name: ${v.name}\n    runtime: stub\n`;
  if (v.workdir) y += `    working_directory: ${yamlStr(v.workdir)}\n`;
  if (v.env)
    y += `    env: {${Object.entries(v.env)
      .map(([k, val]) => `${k}: ${yamlStr(val)}`)
      .join(', ')}}\n`;
  if (v.extra) y += v.extra;
  return y;
}

async function injection(world) {
  const vectors = injectionVectors(world);
  const base = 'defaults:\n  working_directory: work\nagents:\n  - {name: base, runtime: stub}\n';
  const problems = [];
  const accepted = [];
  const refusedLog = [];
  for (const v of vectors) {
    world.writeRoster(rosterYaml(world, base + vectorAgent(v)));
    const r = await world.mosaic(['agent', 'roster', '--json']);
    if (r.status === 0) {
      if (v.refuse) problems.push(`${v.id} was accepted by the roster loader`);
      else accepted.push(v);
    } else {
      const err = r.stderr.trim().split('\n')[0];
      if (!ROSTER_LINE.test(r.stderr)) problems.push(`${v.id} refused without roster.yaml:<line>: ${err}`);
      refusedLog.push(v.id);
      if (!v.refuse) world.refusedNote = `${world.refusedNote ?? ''}${v.id} refused (${err}); `;
    }
  }
  // Everything the loader accepts, in one fleet: start, look at it, restart one, stop one.
  const yaml = rosterYaml(world, base + accepted.map(vectorAgent).join(''));
  world.writeRoster(yaml);
  const sessions = ['base', ...accepted.map((v) => v.name)];
  let inst = { status: 0, stderr: '' };
  if (world.systemd) inst = await world.mosaic(['fleet', 'install-systemd']);
  const start = await world.mosaic(['fleet', 'start'], { timeoutMs: 120_000 });
  start.stderr = `${inst.stderr}\n${start.stderr}`;
  // A value the loader accepts may still be refused when the agent is launched: that is a
  // refusal too, if it names the agent and says why (the other agents start).
  const refusedAtStart = accepted.filter((v) => new RegExp(`^${v.name}: error: .*(newline|NUL)`, 'm').test(start.stderr));
  for (const v of refusedAtStart) sessions.splice(sessions.indexOf(v.name), 1);
  const otherErrors = start.stderr.split('\n').filter((l) => /error/.test(l) && !refusedAtStart.some((v) => l.startsWith(`${v.name}: `)));
  if (inst.status !== 0 && !refusedAtStart.length)
    problems.push(`install-systemd: exit ${inst.status}: ${inst.stderr.trim().slice(0, 300)}`);
  if (otherErrors.length) problems.push(`fleet start: exit ${start.status}: ${otherErrors.join(' | ').slice(0, 400)}`);
  else if (start.status !== 0 && !refusedAtStart.length)
    problems.push(`fleet start: exit ${start.status}: ${(start.stderr || start.stdout).trim().slice(0, 400)}`);
  const pids = await within(() => {
    const { pids: p, dead } = world.panes();
    return sessions.every((s) => p[s] && !dead[s]) ? p : undefined;
  }, 20_000);
  if (!pids) problems.push(`not every agent came up: ${JSON.stringify(world.panes())}`);
  for (const args of [
    ['fleet', 'ps'],
    ['fleet', 'status'],
    ['fleet', 'verify'],
    ['agent', 'tail', 'wd1'],
    ['fleet', 'restart', 'e1'],
    ['fleet', 'stop', 'e2'],
  ]) {
    await world.mosaic(args);
  }
  if (pids) {
    for (const v of accepted.filter((x) => !refusedAtStart.includes(x))) {
      const pid = world.panes().pids[v.name] ?? pids[v.name];
      if (!pid) continue;
      let envs = [];
      try {
        envs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      } catch {
        continue; // stopped (e2) or restarting
      }
      if (v.workdir) {
        const want = path.join(world.fleetHome, v.workdir);
        let cwd = '';
        try {
          cwd = readlinkSync(`/proc/${pid}/cwd`);
        } catch {
          // gone
        }
        if (cwd !== want) problems.push(`${v.id}: the agent runs in ${JSON.stringify(cwd)}, not ${JSON.stringify(want)}`);
      }
      if (v.env)
        for (const [k, val] of Object.entries(v.env))
          if (!envs.includes(`${k}=${val}`))
            problems.push(`${v.id}: ${k} reached the agent as ${JSON.stringify(envs.find((e) => e.startsWith(`${k}=`)))}`);
    }
  }
  // Unit env files: one KEY=value assignment per line, nothing else.
  if (world.systemd) {
    const agentsDir = path.join(world.fleetHome, 'agents');
    for (const f of existsSync(agentsDir) ? readdirSync(agentsDir).filter((x) => x.endsWith('.env')) : []) {
      const lines = readFileSync(path.join(agentsDir, f), 'utf8').split('\n');
      const bad = lines.filter((l) => l && !l.startsWith('#') && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(l));
      if (bad.length) problems.push(`${f} has non-assignment lines: ${JSON.stringify(bad.slice(0, 3))}`);
    }
  }
  const pwned = readdirSync(world.dir).filter((f) => f.startsWith('pwned-'));
  if (pwned.length) problems.push(`injected commands ran: ${pwned.join(', ')} created`);
  if (problems.length) throw new Miss(problems.join('; '));
  const inert = accepted.filter((v) => !refusedAtStart.includes(v));
  world.injectionDetail = `refused by the loader: ${refusedLog.join(' ')}; refused at launch (loader and verify accept them): ${refusedAtStart.map((v) => v.id).join(' ') || '-'}; inert: ${inert.map((v) => v.id).join(' ')}`;
  return 'survived';
}

/** One send's MOSAIC_SEND_TRACE in a line: its steps with their times, then the last screen it judged (its last rows). */
function traceSummary(file) {
  let steps;
  try {
    steps = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  } catch {
    return 'no trace';
  }
  const shown = steps.map((s) => `${s.step}${s.observation ? `(${s.observation.kind})` : ''}@${s.atMs}`);
  const compact = shown.length > 12 ? [...shown.slice(0, 6), '…', ...shown.slice(-6)] : shown;
  const screen = steps.findLast((s) => s.screen)?.screen ?? [];
  const rows = screen.filter((row) => row.trim() !== '').slice(-6);
  return `trace: ${compact.join(' ')}; last screen: ${JSON.stringify(rows.map((row) => row.slice(0, 100)))}`;
}

async function concurrentSends(world) {
  const rec = path.join(world.dir, 'rec');
  mkdirSync(rec);
  const before = await startFleet(
    world,
    rosterYaml(world, `defaults:\n  working_directory: work\nagents:\n  - {name: a, runtime: stub, args: ["--record-dir", "${rec}"]}\n`),
    ['a'],
  );
  const N = 50;
  const bodies = Array.from({ length: N }, (_, i) => {
    const filler = `line ${i} "quoted" 'single' $(touch ${world.dir}/pwned-send) \`tick\` ; && | é ✓\ttab`;
    return `BEGIN-${i}\n${Array.from({ length: 1 + (i % 7) }, () => filler).join('\n')}\n${'x'.repeat(i * 37)}\nEND-${i}`;
  });
  const files = bodies.map((b, i) => {
    const f = path.join(world.dir, `body-${i}.txt`);
    writeFileSync(f, b);
    return f;
  });
  // Each send traces its delivery steps (MOSAIC_SEND_TRACE): a send that misses says what it saw, and when.
  const traces = files.map((_, i) => path.join(world.dir, `trace-${i}.jsonl`));
  const results = await Promise.all(
    files.map((f, i) =>
      world.json(['agent', 'send', 'a', '--verify', '--verify-timeout', '20000', '--no-preamble', '-f', f], {
        timeoutMs: 150_000,
        extraEnv: { MOSAIC_SEND_TRACE: traces[i] },
      }),
    ),
  );
  const problems = [];
  const bad = results.map((r, i) => [i, r]).filter(([, r]) => r.status !== 0 || r.data.status !== 'accepted');
  if (bad.length)
    problems.push(
      `${bad.length}/${N} sends not accepted: ${bad
        .slice(0, 3)
        .map(([i, r]) => `#${i} exit ${r.status} ${r.data.status}: ${r.data.detail}; ${traceSummary(traces[i])}`)
        .join(' | ')}`,
    );
  const got = await within(() => {
    const f = readdirSync(rec);
    return f.length >= N ? f : undefined;
  }, 10_000);
  const recorded = readdirSync(rec).map((f) => readFileSync(path.join(rec, f), 'utf8'));
  if (!got) problems.push(`the agent recorded ${recorded.length} messages, not ${N}`);
  const counts = new Map();
  for (const r of recorded) counts.set(r, (counts.get(r) ?? 0) + 1);
  const missing = bodies.map((b, i) => [i, counts.get(b) ?? 0]).filter(([, c]) => c !== 1);
  if (missing.length)
    problems.push(
      `bodies not delivered exactly once: ${missing
        .slice(0, 5)
        .map(([i, c]) => `#${i}×${c}`)
        .join(' ')}`,
    );
  const foreign = recorded.filter((r) => !bodies.includes(r));
  if (foreign.length)
    problems.push(`${foreign.length} recorded messages match no body (interleaved or cut): ${JSON.stringify(foreign[0].slice(0, 120))}`);
  if (recorded.length > N) problems.push(`${recorded.length} messages recorded for ${N} sends`);
  if (existsSync(`${world.dir}/pwned-send`)) problems.push('a message body was executed');
  if (world.panes().pids.a !== before.a) problems.push('the agent restarted');
  if (problems.length) throw new Miss(problems.join('; '));
  const slowest = Math.max(...results.map((r) => r.ms));
  world.sendDetail = `${N} accepted, slowest ${slowest} ms`;
  return 'survived';
}

/**
 * The matrix: fault rows × supervisor columns. `heavy` cells run alone (crash storm) or with
 * at most one other; `weight` is their share of the two cores.
 */
export const CELLS = [
  { name: 'kill9-agent-builtin', fault: 'kill -9 agent', sup: 'builtin', run: kill9Agent },
  { name: 'kill9-agent-systemd', fault: 'kill -9 agent', sup: 'systemd', run: kill9Agent },
  { name: 'kill-server-builtin', fault: 'kill tmux server', sup: 'builtin', run: killServerBuiltin },
  { name: 'kill-server-systemd', fault: 'kill tmux server', sup: 'systemd', run: killServerSystemd },
  { name: 'restart-holder-systemd', fault: 'restart holder unit', sup: 'systemd', run: restartHolder },
  { name: 'sigstop-agent-builtin', fault: 'SIGSTOP agent', sup: 'builtin', run: sigstopAgent },
  { name: 'frozen-agent-builtin', fault: 'agent frozen (freezer)', sup: 'builtin', run: (w) => frozenAgent(w, true) },
  { name: 'hung-agent-builtin', fault: 'agent hung, hb loop alive', sup: 'builtin', run: (w) => frozenAgent(w, false) },
  { name: 'send-lock-kill-builtin', fault: 'sender killed holding lock', sup: 'builtin', run: sendLockKill },
  { name: 'roster-invalid-builtin', fault: 'roster invalid mid-run', sup: 'builtin', run: rosterInvalid },
  { name: 'roster-invalid-systemd', fault: 'roster invalid mid-run', sup: 'systemd', run: rosterInvalid },
  { name: 'kill9-roster-invalid-builtin', fault: 'kill -9 agent, roster invalid', sup: 'builtin', run: kill9RosterInvalid },
  { name: 'rundir-unwritable-builtin', fault: 'heartbeat dir unwritable', sup: 'builtin', run: runDirUnwritable },
  { name: 'kill9-rundir-unwritable-builtin', fault: 'kill -9 agent, run dir ro', sup: 'builtin', run: kill9RunDirUnwritable },
  // daemon-reexec makes every concurrent systemctl call fail: this cell runs alone.
  { name: 'manager-restart-systemd', fault: 'user manager restarted', sup: 'systemd', run: managerRestart, alone: true },
  { name: 'crash-storm-builtin', fault: 'crash storm (200 agents)', sup: 'builtin', run: crashStorm, heavy: true },
  { name: 'injection-builtin', fault: 'injection via roster values', sup: 'builtin', run: injection },
  { name: 'injection-systemd', fault: 'injection via roster values', sup: 'systemd', run: injection },
  { name: 'concurrent-sends-builtin', fault: '50 concurrent sends', sup: 'builtin', run: concurrentSends, heavy: true },
];
