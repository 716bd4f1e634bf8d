import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The handoff (decision 028): when `fleet start` made the agents' sessions itself, or `fleet stop` killed
 * them, in one tmux call for the whole fleet, the units' own steps have nothing left to do. While its
 * systemctl job runs, the CLI leaves `<run>/<agent>.handoff` for each such agent; the unit's step
 * (framework/bin/mosaic-systemd-agent) sees it and starts no tmux client. The files live only as long as the
 * job: a unit the manager starts on its own (at boot, after the holder restarted, by hand) finds none and
 * does the work itself.
 */
const SUFFIX = '.handoff';

export const handoffFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}${SUFFIX}`);

/**
 * Removes every handoff file in the run directory: the ones a job of ours is done with, and any that a CLI
 * killed during its job left behind (they would make a later unit start skip its session).
 */
export async function clearHandoffs(runDir: string): Promise<void> {
  const names = await readdir(runDir).catch(() => [] as string[]);
  await Promise.all(names.filter((name) => name.endsWith(SUFFIX)).map((name) => rm(path.join(runDir, name), { force: true })));
}

/**
 * Runs `job`, which hands agents off (writes their handoff files) as it goes; removes them, and any stale
 * one, when it is done.
 */
export async function withHandoff<T>(
  runDir: string,
  job: (handOff: (agents: readonly string[]) => Promise<void>) => Promise<T>,
): Promise<T> {
  await clearHandoffs(runDir);
  try {
    return await job(async (agents) => {
      await Promise.all(agents.map((agent) => writeFile(handoffFile(runDir, agent), '', { mode: 0o600 })));
    });
  } finally {
    await clearHandoffs(runDir);
  }
}
