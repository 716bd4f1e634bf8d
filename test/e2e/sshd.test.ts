import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness.js';
import { createSshWorld } from './sshd.js';

/*
 * The sshd harness itself: two fake hosts on real sshds (one in its own network namespace) are
 * reachable with host key checking on, isolated from each other, can be stopped and restarted,
 * and leave nothing behind.
 */
const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What the first test started; the second checks that its finaliser removed all of it. */
const started: { dir?: string; pids: number[]; netns: string[] } = { pids: [], netns: [] };

describe('sshd harness', () => {
  it('runs isolated fake hosts over real ssh, with host keys checked, that stop and restart', async () => {
    const world = await createSshWorld({ hosts: [{ name: 'alpha' }, { name: 'beta', netns: true }] });
    const [alpha, beta] = world.hosts;
    started.dir = world.dir;
    started.netns.push(beta!.netns!);
    expect(alpha!.netns).toBeUndefined();
    expect(beta!.netns).toMatch(/^mt-/);

    // `mosaic` is on the non-interactive PATH of both hosts.
    const versions = await Promise.all(world.hosts.map((host) => world.ssh(host, 'mosaic --version')));
    for (const result of versions)
      expect({ status: result.status, stdout: result.stdout.trim(), stderr: result.stderr }).toEqual({
        status: 0,
        stdout: version,
        stderr: '',
      });

    // world.env puts an `ssh` wrapper first on PATH that adds `-F <sshConfig>`: plain `ssh alias` works.
    const plain = spawnSync('ssh', ['-o', 'BatchMode=yes', alpha!.sshTarget, 'echo', 'ok'], { env: world.env, encoding: 'utf8' });
    expect({ status: plain.status, stdout: plain.stdout }).toEqual({ status: 0, stdout: 'ok\n' });

    // Each host has its own HOME, TMUX_TMPDIR, XDG dirs and TMPDIR; beta has its own network namespace.
    const probe = 'echo "$HOME|$TMUX_TMPDIR|$XDG_RUNTIME_DIR|$TMPDIR|$(readlink /proc/self/ns/net)"';
    const seen = await Promise.all(world.hosts.map((host) => world.ssh(host, probe)));
    const [a, b] = seen.map((result) => result.stdout.trim().split('|'));
    expect(a!.slice(0, 4)).toEqual([alpha!.home, alpha!.tmuxTmpdir, alpha!.remoteEnv.XDG_RUNTIME_DIR, alpha!.remoteEnv.TMPDIR]);
    expect(b!.slice(0, 4)).toEqual([beta!.home, beta!.tmuxTmpdir, beta!.remoteEnv.XDG_RUNTIME_DIR, beta!.remoteEnv.TMPDIR]);
    expect(alpha!.home).not.toBe(beta!.home);
    expect(alpha!.tmuxTmpdir).not.toBe(beta!.tmuxTmpdir);
    expect(a![4]).toBe(spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim());
    expect(b![4]).not.toBe(a![4]);

    // Host key checking is on: with an empty known_hosts file, BatchMode refuses both hosts.
    const empty = path.join(world.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const strangers = await Promise.all(
      world.hosts.map((host) => world.ssh(host, 'true', { sshOptions: ['-o', `UserKnownHostsFile=${empty}`] })),
    );
    for (const result of strangers) {
      expect(result.status).toBe(255);
      expect(result.stderr).toMatch(/Host key verification failed/);
    }

    // What the finaliser must clean up: a tmux server on each host, and a persistent ControlMaster.
    const tmux = await Promise.all(
      world.hosts.map((host) => world.ssh(host, 'tmux -L mt new-session -d -s x "sleep 300" && tmux -L mt display -p "#{pid}"')),
    );
    for (const result of tmux) expect(result.status, result.stderr).toBe(0);
    started.pids.push(...tmux.map((result) => Number(result.stdout.trim())));
    const mux = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${world.env.XDG_RUNTIME_DIR}/mosaic/ssh/%C`, '-o', 'ControlPersist=60'];
    spawnSync('mkdir', ['-p', `${world.env.XDG_RUNTIME_DIR}/mosaic/ssh`]);
    expect((await world.ssh(alpha!, 'true', { sshOptions: mux })).status).toBe(0);
    const check = spawnSync('ssh', ['-F', world.sshConfig, ...mux, '-O', 'check', 'alpha'], { env: world.env, encoding: 'utf8' });
    const master = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
    expect(master).toBeGreaterThan(0);
    started.pids.push(master);

    // stop() makes the host unreachable (exit 255, fast), start() brings it back on the same port and key.
    started.pids.push(alpha!.pid!, beta!.pid!);
    const ports = world.hosts.map((host) => host.port);
    await Promise.all(world.hosts.map((host) => host.stop()));
    expect(world.hosts.map((host) => host.pid)).toEqual([undefined, undefined]);
    const down = await Promise.all(world.hosts.map((host) => world.ssh(host, 'true', { sshOptions: ['-o', 'ConnectTimeout=3'] })));
    for (const result of down) {
      expect(result.status, result.stderr).toBe(255);
      expect(result.ms).toBeLessThan(3_000);
    }
    await Promise.all(world.hosts.map((host) => host.start()));
    expect(world.hosts.map((host) => host.port)).toEqual(ports);
    started.pids.push(alpha!.pid!, beta!.pid!);
    const up = await Promise.all(
      world.hosts.map((host) => world.ssh(host, 'mosaic --version', { sshOptions: ['-o', 'ConnectTimeout=3'] })),
    );
    for (const result of up) expect({ status: result.status, stdout: result.stdout.trim() }).toEqual({ status: 0, stdout: version });
    // The tmux servers outlived the sshd restart (they are the host's, not the connection's).
    const alive = await Promise.all(world.hosts.map((host) => world.ssh(host, 'tmux -L mt has-session -t x && echo yes')));
    expect(alive.map((result) => result.stdout.trim())).toEqual(['yes', 'yes']);
  });

  it('left nothing behind: no world dir, no process, no namespace', () => {
    expect(started.dir).toBeDefined();
    expect(existsSync(started.dir!)).toBe(false);
    const alive = started.pids.filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const ns of started.netns) expect(namespaces).not.toContain(ns);
  });
});
