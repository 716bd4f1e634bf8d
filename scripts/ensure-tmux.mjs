// Make sure tmux (>= 3.2) is available: install it with apt-get when we are root,
// otherwise stop with the exact command to run.
import { spawnSync } from 'node:child_process';

const version = () => spawnSync('tmux', ['-V'], { encoding: 'utf8' });
let probe = version();
if (probe.error || probe.status !== 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (isRoot && hasApt) {
    console.error('tmux is missing: installing it with apt-get');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const install = update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', 'tmux'], { stdio: 'inherit', env });
    if (!install || install.status !== 0) {
      console.error('apt-get could not install tmux; install it by hand and run again');
      process.exit(1);
    }
    probe = version();
  } else {
    console.error('tmux is not installed. Install it, then run this again:\n  sudo apt-get install -y tmux');
    process.exit(1);
  }
}
const match = /(\d+)\.(\d+)/.exec(probe.stdout);
if (match && (Number(match[1]) < 3 || (Number(match[1]) === 3 && Number(match[2]) < 2))) {
  console.error(`${probe.stdout.trim()} is too old: mosaic needs tmux 3.2 or newer`);
  process.exit(1);
}
