import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet, eventually, paneComesBack, roster, type TestFleet } from './harness.js';
import { RUN_SYSTEMD_TESTS, systemdWorld } from './systemd-env.js';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

function git(fleet: TestFleet, cwd: string, args: string[]): string {
  const result = spawnSync('git', ['-C', cwd, ...args], { env: { ...fleet.env, ...GIT_ENV }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/** An agent's files in the fleet's run directory (any name that starts with `<agent>.`, its locks, its pending requests). */
const runFilesOf = (fleet: TestFleet, agent: string): string[] => {
  const run = path.join(fleet.home, 'run');
  const names = readdirSync(run).filter(
    (name) => name.startsWith(`${agent}.`) || name.startsWith(`.${agent}.`) || name.endsWith(`-${agent}.lock`),
  );
  if (existsSync(path.join(run, 'pending', agent))) names.push(`pending/${agent}`);
  return names.sort();
};

/** A real repository with one commit, an ignored .env that .worktreeinclude asks to copy. */
function repository(fleet: TestFleet): string {
  const repo = path.join(fleet.dir, 'repo');
  mkdirSync(repo, { recursive: true });
  git(fleet, repo, ['init', '-q', '-b', 'main']);
  writeFileSync(path.join(repo, 'README.md'), '# app\n');
  writeFileSync(path.join(repo, '.gitignore'), '.env\n');
  writeFileSync(path.join(repo, '.worktreeinclude'), '.env\n');
  writeFileSync(path.join(repo, '.env'), 'TOKEN=local\n');
  git(fleet, repo, ['add', 'README.md', '.gitignore', '.worktreeinclude']);
  git(fleet, repo, ['commit', '-q', '-m', 'init']);
  return repo;
}

/** What must never change in the operator's checkout: HEAD, branch, status, and its files. */
const snapshot = (fleet: TestFleet, repo: string): string =>
  [
    git(fleet, repo, ['rev-parse', 'HEAD']),
    git(fleet, repo, ['symbolic-ref', 'HEAD']),
    git(fleet, repo, ['status', '--porcelain=v1', '-uall', '--ignored']),
    readFileSync(path.join(repo, '.env'), 'utf8'),
  ].join('\n');

interface Listing {
  agent: string;
  origin: string;
  branch: string | null;
  worktree: string | null;
}

const paneCwd = (fleet: TestFleet, agent: string): string =>
  fleet.tmux(['display-message', '-p', '-t', `=${agent}:0.0`, '#{pane_current_path}']).stdout.trim();
const panePid = (fleet: TestFleet, agent: string): number =>
  Number(fleet.tmux(['display-message', '-p', '-t', `=${agent}:0.0`, '#{pane_pid}']).stdout.trim());

describe('ephemeral agents in git worktrees (real git, real tmux)', () => {
  it('new → its own worktree on mosaic/<name>; every verb works; rm never loses work; the checkout is untouched', async () => {
    const fleet = createFleet();
    const repo = repository(fleet);
    // A fleet may be all ephemeral: no agents in the roster.
    fleet.writeRoster(roster(fleet.socket, 'agents: []\n', 'restart:\n  backoff_initial_ms: 50\n  backoff_max_ms: 100\n'));
    const before = snapshot(fleet, repo);
    // Empty, it says so, and verify has nothing to complain about (fleet start makes no server for it).
    expect((await fleet.mosaic(['fleet', 'status'])).stdout).toContain('no agents: add some to the roster');
    const empty = await fleet.mosaic(['fleet', 'verify']);
    expect(empty.status, empty.stderr).toBe(0);

    const made = await fleet.mosaic(['agent', 'new', 'w1', '--runtime', 'stub', '--workdir', repo, '--worktree', '--json']);
    expect(made.status, made.stderr).toBe(0);
    const worktree = path.join(fleet.home, 'worktrees', 'w1');
    expect(JSON.parse(made.stdout)).toMatchObject({
      agent: 'w1',
      outcome: { result: 'started' },
      working_directory: worktree,
      source_uncommitted: 0,
    });
    await eventually(() => paneCwd(fleet, 'w1') === worktree || undefined, 15_000, 'the pane to run in the worktree');
    expect(git(fleet, worktree, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('mosaic/w1');
    expect(readFileSync(path.join(worktree, '.env'), 'utf8')).toBe('TOKEN=local\n'); // .worktreeinclude

    // list (and upstream's --list), show, ps, send: like any roster agent.
    const listed = await fleet.json<Listing[]>(['agent', '--list']);
    expect(listed).toEqual([expect.objectContaining({ agent: 'w1', origin: 'ephemeral', branch: 'mosaic/w1', worktree })]);
    const shown = await fleet.json<{ launch_argv: string[]; worktree_record: { base: string; repo: string } }>(['agent', 'show', 'w1']);
    expect(shown.launch_argv.join(' ')).toContain('mosaic-stub-agent');
    expect(shown.worktree_record).toMatchObject({ base: git(fleet, repo, ['rev-parse', 'HEAD']), repo });
    expect((await fleet.json<{ agent: string }[]>(['fleet', 'ps'])).map((r) => r.agent)).toEqual(['w1']);
    const sent = await fleet.mosaic(['agent', 'send', 'w1', '--verify', '-m', 'hello']);
    expect(sent.status, sent.stderr).toBe(0);

    // A crash restart comes back in the same worktree.
    const pid = panePid(fleet, 'w1');
    process.kill(pid, 'SIGKILL');
    await paneComesBack(fleet, 'w1', pid);
    await eventually(() => paneCwd(fleet, 'w1') === worktree || undefined, 15_000, 'the restarted pane in the worktree');

    // Names: a clash with an agent, or with an existing branch, is refused and changes nothing.
    expect((await fleet.mosaic(['agent', 'new', 'w1', '--runtime', 'stub'])).stderr).toMatch(
      /an ephemeral agent named "w1" already exists/,
    );
    git(fleet, repo, ['branch', 'mosaic/w3']);
    const clash = await fleet.mosaic(['agent', 'new', 'w3', '--runtime', 'stub', '--workdir', repo, '--worktree']);
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(/branch mosaic\/w3 already exists/);
    expect(existsSync(path.join(fleet.home, 'ephemeral', 'w3.json'))).toBe(false);

    // Uncommitted work: rm refuses, says what would be lost, keeps the agent and every file.
    writeFileSync(path.join(worktree, 'work.txt'), 'half done\n');
    let rm = await fleet.mosaic(['agent', 'rm', 'w1']);
    expect(rm.status).toBe(1);
    expect(rm.stderr).toMatch(/would lose 1 uncommitted change/);
    expect(rm.stderr).toContain('work.txt');
    expect(readFileSync(path.join(worktree, 'work.txt'), 'utf8')).toBe('half done\n');
    expect(paneCwd(fleet, 'w1')).toBe(worktree);

    // A commit on no other branch or remote: rm refuses again; `agent done` shows it.
    git(fleet, worktree, ['add', 'work.txt']);
    git(fleet, worktree, ['commit', '-q', '-m', 'half of the work']);
    const done = await fleet.json<{ commits: { subject: string }[]; files: string[]; clean: boolean }>(['agent', 'done', 'w1']);
    expect(done).toMatchObject({ commits: [{ subject: 'half of the work' }], files: ['work.txt'], clean: true });
    rm = await fleet.mosaic(['agent', 'rm', 'w1']);
    expect(rm.status).toBe(1);
    expect(rm.stderr).toMatch(/1 commit\(s\) on mosaic\/w1 on no other branch or remote: \S+ half of the work/);

    // --force: the agent goes, the worktree (with the commit) stays and its path is printed; verify lists it.
    expect(runFilesOf(fleet, 'w1')).toContain('w1.hb');
    rm = await fleet.mosaic(['agent', 'rm', 'w1', '--force']);
    expect(rm.status, rm.stderr).toBe(0);
    expect(runFilesOf(fleet, 'w1')).toEqual([]);
    expect(rm.stdout).toContain(`worktree kept at ${worktree}`);
    expect(git(fleet, worktree, ['log', '-1', '--format=%s'])).toBe('half of the work');
    expect(await fleet.json<Listing[]>(['agent', 'list'])).toEqual([]);
    expect(fleet.tmux(['has-session', '-t', '=w1']).status).not.toBe(0);
    const verify = await fleet
      .json<{ warnings: string[] }>(['fleet', 'verify'])
      .catch(async () => JSON.parse((await fleet.mosaic(['fleet', 'verify', '--json'])).stdout));
    expect(verify.warnings.join('\n')).toContain(`worktree ${worktree} belongs to no agent`);

    // A clean agent: rm removes its worktree and branch. Made while the checkout has an uncommitted change, which
    // the worktree does not get: `agent new` says so (an untracked file is not counted).
    writeFileSync(path.join(repo, 'README.md'), '# app, being edited\n');
    writeFileSync(path.join(repo, 'scratch.txt'), 'untracked\n');
    const dirty = await fleet.mosaic(['agent', 'new', 'w2', '--runtime', 'stub', '--workdir', repo, '--worktree']);
    expect(dirty.status, dirty.stderr).toBe(0);
    expect(dirty.stderr).toContain(
      `warning: ${repo} has 1 uncommitted change(s) that the worktree does not have (it starts from the commit); commit them there first`,
    );
    expect(readFileSync(path.join(fleet.home, 'worktrees', 'w2', 'README.md'), 'utf8')).toBe('# app\n');
    writeFileSync(path.join(repo, 'README.md'), '# app\n');
    rmSync(path.join(repo, 'scratch.txt'));
    const clean = path.join(fleet.home, 'worktrees', 'w2');
    await eventually(() => paneCwd(fleet, 'w2') === clean || undefined, 15_000, 'w2 in its worktree');
    rm = await fleet.mosaic(['agent', 'rm', 'w2']);
    expect(rm.status, rm.stderr).toBe(0);
    expect(existsSync(clean)).toBe(false);
    expect(spawnSync('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', 'refs/heads/mosaic/w2']).status).not.toBe(0);

    // The operator's checkout never changed.
    expect(snapshot(fleet, repo)).toBe(before);
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 120_000);

  it('a roster agent is not removable with agent rm; --message is the first prompt', async () => {
    const fleet = createFleet();
    fleet.writeRoster(roster(fleet.socket, 'defaults:\n  working_directory: work\nagents:\n  - {name: core, runtime: stub}\n'));
    expect((await fleet.mosaic(['fleet', 'start'])).status).toBe(0);
    expect((await fleet.mosaic(['agent', 'show', 'core'])).stdout).toMatch(/^launch +sh .*mosaic-stub-agent$/m);
    // Stopped, it has no launch spec: show said "not started yet" of an agent that had run.
    expect((await fleet.mosaic(['fleet', 'stop', 'core'])).status).toBe(0);
    const stopped = (await fleet.mosaic(['agent', 'show', 'core'])).stdout;
    expect(stopped).toMatch(/^state +stopped$/m);
    expect(stopped).toMatch(/^launch +- \(not running: written when it starts\)$/m);
    expect((await fleet.mosaic(['fleet', 'start', 'core'])).status).toBe(0);
    const refused = await fleet.mosaic(['agent', 'rm', 'core']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/is in the roster .* not an ephemeral agent/);
    expect(fleet.tmux(['has-session', '-t', '=core']).status).toBe(0);
    const clash = await fleet.mosaic(['agent', 'new', 'core', '--runtime', 'stub']);
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(/a roster agent named "core" already exists/);
    // A name no fleet could take is a usage error (exit 2, as a bad --mode); a taken one (above) is not.
    for (const [name, message] of [
      ['bad name', 'agent name "bad name" must match ^[A-Za-z0-9_.-]+$'],
      ['supervisor', 'agent name "supervisor" is reserved'],
      ['..', 'agent name ".." cannot be used: it names a directory'],
      ['.', 'agent name "." cannot be used: it names a directory'],
    ]) {
      const bad = await fleet.mosaic(['agent', 'new', name!, '--runtime', 'stub']);
      expect([name, bad.status]).toEqual([name, 2]);
      expect(bad.stderr).toContain(`mosaic: ${message}`);
    }
    // So is a --worktree branch no repository could take.
    for (const branch of ['bad..name', '', '-x', 'a b']) {
      const bad = await fleet.mosaic(['agent', 'new', 'wb', '--runtime', 'stub', `--worktree=${branch}`]);
      expect([branch, bad.status]).toEqual([branch, 2]);
      expect(bad.stderr).toContain(`mosaic: --worktree branch "${branch}" is not a branch name mosaic accepts`);
    }
    expect(existsSync(path.join(fleet.home, 'ephemeral'))).toBe(false); // no record was written
    // A file where the working directory should be: said in words (was mkdir's EEXIST), and nothing kept.
    writeFileSync(path.join(fleet.home, 'a-file'), '');
    const onFile = await fleet.mosaic(['agent', 'new', 'wf', '--runtime', 'stub', '--workdir', path.join(fleet.home, 'a-file')]);
    expect(onFile.status).toBe(1);
    expect(onFile.stderr).toContain(`working directory ${path.join(fleet.home, 'a-file')} cannot be used: a file is in the way`);
    expect(existsSync(path.join(fleet.home, 'ephemeral', 'wf.json'))).toBe(false);

    // The first prompt arrives by itself: the stub acknowledges message 1.
    expect((await fleet.mosaic(['agent', 'new', 'w9', '--runtime', 'stub', '-m', 'start with the tests'])).status).toBe(0);
    await eventually(
      async () => ((await fleet.mosaic(['agent', 'tail', 'w9'])).stdout.includes('[stub] ack seq=1') ? true : undefined),
      20_000,
      'the first prompt to reach w9',
    );
    // rm takes the agent's run state with it, and nothing of w90's, whose name starts with w9.
    expect((await fleet.mosaic(['agent', 'new', 'w90', '--runtime', 'stub', '-m', 'hi'])).status).toBe(0);
    for (const agent of ['w9', 'w90']) {
      await eventually(() => existsSync(path.join(fleet.home, 'run', `${agent}.hb`)) || undefined, 20_000, `${agent}'s first heartbeat`);
    }
    const before = runFilesOf(fleet, 'w90');
    expect(runFilesOf(fleet, 'w9')).toEqual(expect.arrayContaining(['w9.hb', 'w9.kickstart', 'w9.session.start', 'w9.state.json']));
    expect((await fleet.mosaic(['agent', 'rm', 'w9'])).status).toBe(0);
    expect(runFilesOf(fleet, 'w9')).toEqual([]);
    expect(runFilesOf(fleet, 'w90')).toEqual(before);
    expect(before).toEqual(expect.arrayContaining(['w90.hb', 'w90.kickstart', 'w90.session.start', 'w90.state.json']));
    expect((await fleet.mosaic(['fleet', 'stop'])).status).toBe(0);
  }, 60_000);

  it('a name a roster agent on another host has is taken too: agent new refuses it, and a record made before is ignored', async () => {
    const fleet = createFleet();
    const hosts = 'hosts:\n  gpu1: {ssh: nobody@127.0.0.9, timeout_seconds: 1}\n';
    const withRemote = (names: string[]): string =>
      roster(
        fleet.socket,
        `defaults:\n  working_directory: work\n${hosts}agents:\n${names.map((n) => `  - {name: ${n}, runtime: stub, host: gpu1, working_directory: /tmp}\n`).join('')}`,
      );
    fleet.writeRoster(withRemote(['rem1']));
    // agent list shows it (it said "no agents: add some to the roster"), as agent roster does.
    expect((await fleet.mosaic(['agent', 'list'])).stdout).toMatch(/^gpu1\/rem1 +roster +stub /m);
    expect(await fleet.json<(Listing & { host: string })[]>(['agent', 'list'])).toEqual([
      expect.objectContaining({ agent: 'rem1', host: 'gpu1', origin: 'roster' }),
    ]);
    const clash = await fleet.mosaic(['agent', 'new', 'rem1', '--runtime', 'stub']);
    expect(clash.status).toBe(1);
    expect(clash.stderr).toContain('mosaic: a roster agent named "rem1" already exists (on host gpu1)');
    expect(existsSync(path.join(fleet.home, 'ephemeral', 'rem1.json'))).toBe(false);
    expect(fleet.tmux(['has-session', '-t', '=rem1']).status).not.toBe(0);

    // An ephemeral agent first, then the roster gives the name to a remote agent: the record is ignored, and said so.
    expect((await fleet.mosaic(['agent', 'new', 'later1', '--runtime', 'stub'])).status).toBe(0);
    fleet.writeRoster(withRemote(['rem1', 'later1']));
    const listed = await fleet.mosaic(['agent', 'list']);
    expect(listed.stderr).toContain('ephemeral agent "later1" is ignored: the roster now has an agent of that name');
    const rows = await fleet.json<(Listing & { host: string })[]>(['agent', 'list']);
    expect(rows.filter((row) => row.agent === 'later1')).toEqual([expect.objectContaining({ host: 'gpu1', origin: 'roster' })]);
  });

  it('a runtime that is not installed is refused before anything is written for the agent (agent new, run, yolo)', async () => {
    const fleet = createFleet();
    fleet.writeRoster(
      roster(
        fleet.socket,
        'defaults:\n  working_directory: work\nruntimes:\n  claude:\n    command: ["definitely-not-installed-xyz"]\nagents: []\n',
      ),
    );
    // The previous conversation of `mosaic yolo claude`, for a later --resume.
    mkdirSync(path.join(fleet.home, 'run'), { recursive: true });
    writeFileSync(path.join(fleet.home, 'run', 'yolo-claude.session'), '0b7f6a52-3c1d-4e8a-9f00-5a1b2c3d4e5f\n');
    const made = await fleet.mosaic(['agent', 'new', 'c1', '--runtime', 'claude', '-m', 'hello']);
    expect(made.status).toBe(1);
    expect(made.stderr).toMatch(/c1: error: agent "c1": runtime "claude" executable "definitely-not-installed-xyz" was not found on PATH/);
    for (const verb of ['run', 'yolo']) {
      const ran = await fleet.mosaic([verb, 'claude', 'hello']);
      expect([verb, ran.status]).toEqual([verb, 1]);
      expect(ran.stderr).toMatch(/executable "definitely-not-installed-xyz" was not found on PATH/);
    }
    // No private claude config, system prompt or kickstart was left for agents that never ran (was: all three).
    for (const agent of ['c1', 'safe-claude', 'yolo-claude']) expect(existsSync(path.join(fleet.home, 'agents', agent)), agent).toBe(false);
    expect(runFilesOf(fleet, 'c1')).toEqual([]);
    expect(runFilesOf(fleet, 'safe-claude')).toEqual([]);
    expect(runFilesOf(fleet, 'yolo-claude')).toEqual(['yolo-claude.session']);
    expect(existsSync(path.join(fleet.home, 'ephemeral', 'c1.json'))).toBe(false);
  });
});

describe.runIf(RUN_SYSTEMD_TESTS)('ephemeral agents under systemd', () => {
  it('agent new starts a unit in its worktree; fleet enable keeps it across reboots; agent rm stops it and removes the clean worktree', async () => {
    const fleet = createFleet();
    const world = systemdWorld(fleet);
    const repo = repository(fleet);
    fleet.writeRoster(`version: 1\ntransport: tmux\nsupervisor: systemd\ntmux:\n  socket_name: ${fleet.socket}\nagents: []\n`);
    const step = async (args: string[]): Promise<void> => {
      const result = await world.mosaic(args);
      expect(result.status, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    };
    await step(['fleet', 'install-systemd']);
    await step(['agent', 'new', 'e1', '--runtime', 'stub', '--workdir', repo, '--worktree']);
    const worktree = path.join(fleet.home, 'worktrees', 'e1');
    expect(world.show(world.agentUnit('e1'), 'ActiveState')).toBe('active');
    await eventually(() => paneCwd(fleet, 'e1') === worktree || undefined, 15_000, 'the unit-started pane in the worktree');
    await step(['fleet', 'enable', 'e1']);
    expect(world.show(world.agentUnit('e1'), 'UnitFileState')).toBe('enabled');
    const ps = await world.json<{ agent: string; supervisor: string; unit: { active_state: string } }[]>(['fleet', 'ps']);
    expect(ps).toEqual([
      expect.objectContaining({ agent: 'e1', supervisor: 'systemd', unit: expect.objectContaining({ active_state: 'active' }) }),
    ]);
    await step(['agent', 'rm', 'e1']);
    expect(world.show(world.agentUnit('e1'), 'ActiveState')).not.toBe('active');
    expect(existsSync(worktree)).toBe(false);
    expect(await world.json<unknown[]>(['agent', 'list'])).toEqual([]);
  }, 120_000);
});
