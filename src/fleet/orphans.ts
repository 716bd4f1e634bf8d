import { appendEvents } from '../events/log.js';
import { rm } from 'node:fs/promises';
import { loadFleetContext, type FleetContext } from '../context/context.js';
import { UserError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import { launchSpecFile } from '../roster/paths.js';
import { AGENT_NAME_PATTERN, DEFAULT_HOLDER_SESSION } from '../roster/model.js';
import { HOLDER_MARK } from '../supervisor/direct.js';
import { removeRunState } from '../supervisor/state.js';
import { exactSession } from '../tmux/client.js';

/** One session on the fleet's socket that the roster does not name. */
export interface OrphanRecord {
  tenant_id: string;
  host: string;
  socket: string;
  session: string;
  /** The session's `@mosaic_agent` mark; null when it has none. */
  agent: string | null;
  /** stopped: killed by exact name; gone: it ended before we got to it; left-alone: not ours, or the holder. */
  result: 'stopped' | 'gone' | 'left-alone' | 'error';
  reason: string;
}

export interface OrphanReport {
  tenant_id: string;
  host: string;
  socket: string;
  /** The roster the sessions were judged against; null when none applies (missing, invalid, or another socket). */
  roster: string | null;
  /** Why no roster applies, when `roster` is null. */
  roster_note: string | null;
  records: OrphanRecord[];
  /** Sessions still on the socket afterwards. */
  remaining: string[];
}

export interface SessionMarks {
  session: string;
  /** `@mosaic_agent`, '' when unset. */
  agent: string;
  /** `@mosaic_holder`, '' when unset. */
  holder: string;
}

export interface OrphanJudgement {
  /** Sessions of the roster's agents; undefined when no roster applies (every marked session is an orphan). */
  known?: ReadonlySet<string>;
  /** The roster's holder session, if a roster applies. */
  holderSession?: string;
}

/**
 * Which sessions `fleet stop --orphans` stops: those carrying mosaic's `@mosaic_agent` mark that the
 * roster does not name. Never a session without the mark, never a holder session (the roster's,
 * the default `_holder`, or any session marked `@mosaic_holder`). Pure, for tests.
 */
export function judgeSessions(
  sessions: readonly SessionMarks[],
  judgement: OrphanJudgement,
): { orphans: SessionMarks[]; leftAlone: { session: SessionMarks; reason: string }[] } {
  const orphans: SessionMarks[] = [];
  const leftAlone: { session: SessionMarks; reason: string }[] = [];
  const seen = new Set<string>();
  for (const entry of sessions) {
    if (seen.has(entry.session)) continue;
    seen.add(entry.session);
    if (entry.session === judgement.holderSession || entry.session === DEFAULT_HOLDER_SESSION || entry.holder !== '') {
      leftAlone.push({ session: entry, reason: 'the holder session (fleet watchdog) is never stopped as an orphan' });
    } else if (judgement.known?.has(entry.session)) {
      continue; // a roster agent's session: not an orphan
    } else if (entry.agent === '') {
      leftAlone.push({ session: entry, reason: 'not created by mosaic (no @mosaic_agent mark): mosaic never stops it' });
    } else {
      orphans.push(entry);
    }
  }
  return { orphans, leftAlone };
}

/**
 * `fleet stop --orphans`: stop the marked sessions the roster no longer names (it was edited,
 * replaced or deleted). The socket is `--socket`, else the roster's, else $MOSAIC_TMUX_SOCKET;
 * when no roster applies to that socket (missing, invalid, or naming another socket), every
 * marked session except the holder is an orphan. Sessions are stopped by exact name, one by one.
 */
export async function stopOrphans(host: Host, options: { roster?: string; socket?: string }): Promise<OrphanReport> {
  let ctx: FleetContext | undefined;
  let rosterError: UserError | undefined;
  try {
    ctx = await loadFleetContext(host, { roster: options.roster });
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    rosterError = error;
  }
  const socket = options.socket ?? ctx?.roster.socketName ?? host.env.MOSAIC_TMUX_SOCKET;
  if (!socket) {
    throw new UserError(`the roster cannot be read, so it cannot say which socket to clean up: ${rosterError!.message}`, {
      hint: 'name the socket: `mosaic fleet stop --orphans --socket <name>` (the default socket is mosaic-factory), or set MOSAIC_TMUX_SOCKET',
    });
  }
  const tmux = host.tmux(socket);
  const applies = ctx !== undefined && ctx.roster.socketName === socket ? ctx : undefined;
  const rosterNote = applies
    ? null
    : ctx
      ? `roster ${ctx.roster.file} is for socket "${ctx.roster.socketName}", not "${socket}": every marked session except the holder is an orphan`
      : `no usable roster (${rosterError!.message.split('\n')[0]}): every marked session except the holder is an orphan`;

  const rows = await tmux.list('list-panes', ['session_name', '@mosaic_agent', HOLDER_MARK]);
  const sessions = rows.map(([session, agent, holder]) => ({ session: session!, agent: agent ?? '', holder: holder ?? '' }));
  const { orphans, leftAlone } = judgeSessions(sessions, {
    known: applies ? new Set(applies.roster.agents.map((agent) => agent.session)) : undefined,
    holderSession: applies?.roster.holderSession,
  });

  const base = { tenant_id: ctx?.roster.tenantId ?? host.identity.tenantId, host: host.identity.host, socket };
  const records: OrphanRecord[] = [];
  for (const orphan of orphans) {
    const result = await tmux.run(['kill-session', '-t', exactSession(orphan.session)], { allowFailure: true });
    const gone = result.status !== 0 && /can't find session|no server running|error connecting/i.test(result.stderr);
    records.push({
      ...base,
      session: orphan.session,
      agent: orphan.agent,
      result: result.status === 0 ? 'stopped' : gone ? 'gone' : 'error',
      reason:
        result.status === 0
          ? `marked as mosaic agent "${orphan.agent}" but not in the roster`
          : gone
            ? 'it ended before it could be stopped'
            : result.stderr.trim() || `tmux exit ${String(result.status)}`,
    });
    // Its run files live in this roster's run directory; names that are roster agents or not agent names are left alone.
    const name = orphan.agent;
    if (applies && result.status === 0 && AGENT_NAME_PATTERN.test(name) && name !== '.' && name !== '..') {
      if (!applies.roster.agents.some((agent) => agent.name === name) && name !== applies.roster.holderSession) {
        try {
          removeRunState(applies.paths.runDir, name);
        } catch {
          // best effort: the session is gone either way
        }
        await rm(launchSpecFile(applies.paths.runDir, name), { force: true }).catch(() => undefined);
      }
    }
  }
  for (const { session, reason } of leftAlone) {
    records.push({ ...base, session: session.session, agent: session.agent || null, result: 'left-alone', reason });
  }
  if (applies) {
    const stopped = records.filter((r) => r.result === 'stopped');
    await appendEvents(
      applies.paths.logsDir,
      stopped.map((r) => ({ type: 'stop', agent: r.agent ?? r.session, session: r.session, orphan: true })),
    );
  }
  const remaining = [...new Set((await tmux.list('list-sessions', ['session_name'])).map(([session]) => session!))];
  return { ...base, roster: applies?.roster.file ?? null, roster_note: rosterNote, records, remaining };
}
