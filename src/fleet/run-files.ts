import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { AGENT_NAME_PATTERN } from '../roster/model.js';
import { pendingDir } from '../roster/paths.js';
import { removeStaleLock, type LockPurpose } from '../system/lock.js';

/**
 * What follows `<agent>.` in the name of each per-agent file the code writes in the run directory:
 * state (supervisor/state.ts), launch spec (roster/paths.ts), heartbeat and its companions (heartbeat,
 * attention/signals.ts, mosaic-report, mosaic-limit, the bell hook), kickstart and system prompt
 * (launch/spec.ts), the runtime session id and how it started (launch/session.ts, mosaic-launch), the
 * task marker (messaging/tasks.ts), the systemd unit's session arguments (systemd/prepare.ts) and its handoff
 * file (systemd/handoff.ts).
 */
const SUFFIXES = [
  'state.json',
  'state.fresh.json',
  'launch',
  'hb',
  'hb.status',
  'hb.limit',
  'hb.bell',
  'kickstart',
  'system-prompt.md',
  'session',
  'session.start',
  'task',
  'unit-start',
  'handoff',
];
/** Temp files a writer killed mid-write leaves: mosaic-report's `$hb.$$` and `$hb.status.$$`, the stub's and mosaic-heartbeat's. */
const HEARTBEAT_TEMPS = String.raw`hb\.[0-9]+|hb\.status\.[0-9]+|hb\.main\.tmp|hb\.status\.tmp|hb\.loop`;
/** The per-agent locks in the run directory (system/lock.ts); 'control' locks are per socket, elsewhere. */
const LOCK_PURPOSES: LockPurpose[] = ['send', 'supervise'];

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether a run-directory entry is one of this agent's files: whole names only, so agent `a` never
 * matches `ab.hb` or `a.b.hb` (agent `a.b`'s), and `a.b` never matches `a.hb`.
 */
export function ownsRunFile(agent: string, name: string): boolean {
  const suffixes = SUFFIXES.map(escape).join('|');
  const own = escape(agent);
  // writeFileAtomic's temp file: .<name>.<pid>.<hex>.tmp (system/fs.ts)
  return new RegExp(String.raw`^(?:${own}\.(?:${suffixes}|${HEARTBEAT_TEMPS})|\.${own}\.(?:${suffixes})\.[0-9]+\.[0-9a-f]+\.tmp)$`).test(
    name,
  );
}

/**
 * Remove an agent's run state (for `agent rm`, once it is stopped): its files in the run directory,
 * its pending permission requests, and any lock of its that no live process holds. Another agent's
 * files are never touched. Returns what was removed, by name relative to the run directory.
 */
export async function removeAgentRunFiles(runDir: string, agent: string): Promise<string[]> {
  // pending/<agent> must be a directory of its own: '..' would be the run directory itself.
  if (!AGENT_NAME_PATTERN.test(agent) || agent === '.' || agent === '..') return [];
  let entries: string[];
  try {
    entries = readdirSync(runDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of entries) {
    if (!ownsRunFile(agent, name)) continue;
    await rm(path.join(runDir, name), { force: true });
    removed.push(name);
  }
  if (entries.includes('pending')) {
    const dir = pendingDir(runDir, agent);
    const present = await rm(dir, { recursive: true }).then(
      () => true,
      () => false,
    );
    if (present) removed.push(path.relative(runDir, dir));
  }
  for (const purpose of LOCK_PURPOSES) {
    if (entries.includes(`${purpose}-${agent}.lock`) && (await removeStaleLock(runDir, agent, purpose)))
      removed.push(`${purpose}-${agent}.lock`);
  }
  return removed;
}
