import fsp from 'node:fs/promises';
import { shellQuote } from '../system/shell.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../system/fs.js';
import { logMaxBytes, rotateIfOverCap, rotatedLogFile } from '../system/rotate.js';
import { exactPane, type TmuxClient } from '../tmux/client.js';

/**
 * Transcripts: tmux copies every agent pane's output to `<logs>/<agent>.log` through
 * `pipe-pane` into one `cat` per agent (no shell stays behind). The size cap is kept by
 * mosaic itself whenever it starts, restarts, lists (`fleet ps`) or reads (`agent logs`)
 * agents, and by the fleet watchdog, which looks for over-cap logs every few seconds
 * (one `find`) and then runs `mosaic _supervise transcripts`: an over-cap log becomes
 * `<agent>.log.1` and the pane's pipe is reopened. The same points open a pipe on any
 * running agent pane that lacks one.
 * See docs/decisions/005-transcripts.md.
 */
export { DEFAULT_LOG_MAX_BYTES as DEFAULT_TRANSCRIPT_MAX_BYTES } from '../system/rotate.js';
export const DEFAULT_TRANSCRIPT_CHECK_SECONDS = 10;

/** (Concatenation, not path.join: it runs per agent per `fleet ps`; agent names hold no "/".) */
export const transcriptFile = (logsDir: string, agent: string): string => `${logsDir}/${agent}.log`;
export const rotatedTranscriptFile = (file: string): string => rotatedLogFile(file);

/** The cap per file (one rotated generation is kept, so at most twice this per agent). Shared by every log: system/rotate.ts. */
export const transcriptMaxBytes = logMaxBytes;

/** How often the fleet watchdog looks for over-cap transcripts (MOSAIC_TRANSCRIPT_CHECK_SECONDS). */
export function transcriptCheckSeconds(env: NodeJS.ProcessEnv): number {
  const value = Number(env.MOSAIC_TRANSCRIPT_CHECK_SECONDS);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_TRANSCRIPT_CHECK_SECONDS;
}

/**
 * The shell command tmux runs for the pipe. pipe-pane takes a shell command (there is no
 * argv form); the path is single-quoted and "#" doubled because tmux format-expands it.
 * `exec` leaves exactly one process: cat.
 */
export function transcriptShellCommand(file: string): string {
  return `umask 077; exec cat >> ${shellQuote(file).replace(/#/g, '##')}`;
}

/**
 * For a new pane: `pipe-pane -o` opens the pipe. Beware, -o TOGGLES: on a pane that has a
 * pipe it closes it. So everywhere else use `reopen`, which replaces any pipe with a new
 * one (the old cat drains what it has and exits, nothing is lost); a respawn keeps the pipe.
 */
export function transcriptPipeCommand(session: string, file: string, options: { reopen?: boolean } = {}): string[] {
  return ['pipe-pane', ...(options.reopen ? [] : ['-o']), '-t', exactPane(session), transcriptShellCommand(file)];
}

export interface TranscriptAgent {
  name: string;
  session: string;
}

/**
 * Rename every over-cap log to `.log.1` (replacing the previous one). Returns the agents
 * whose log was rotated: a live pane's pipe still writes to the renamed file until it is
 * reopened (see maintainTranscripts), so nothing written in between is lost.
 */
export async function rotateTranscripts(logsDir: string, agents: readonly TranscriptAgent[], maxBytes: number): Promise<TranscriptAgent[]> {
  const rotated: TranscriptAgent[] = [];
  for (const agent of agents) {
    if (await rotateIfOverCap(transcriptFile(logsDir, agent.name), maxBytes)) rotated.push(agent);
  }
  return rotated;
}

/** The supervisor's own log (one line per handled exit), kept under the same cap. */
export const supervisorLogFile = (logsDir: string): string => `${logsDir}/supervisor.log`;

/**
 * Append one line to the supervisor log from inside mosaic (the hook and the watchdog write
 * theirs through their stderr). Never throws: a reader must not fail over its log line.
 */
export async function appendSupervisorLog(logsDir: string, line: string): Promise<void> {
  const append = (): Promise<void> => fsp.appendFile(supervisorLogFile(logsDir), `${line}\n`, { mode: PRIVATE_FILE_MODE });
  try {
    await append().catch(async (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await ensurePrivateDir(logsDir);
      await append();
    });
  } catch {
    // The death was handled and is in the event log; only this line is lost.
  }
}

/** A running agent's pane, and whether tmux reports a pipe on it. */
export interface RunningTranscript extends TranscriptAgent {
  piped: boolean;
}

/**
 * Keep transcripts true for running panes: rotate over-cap logs and reopen their pipes,
 * and open a pipe where a pane has none (a session made by an older mosaic or by hand).
 * One tmux call for all of them, none when nothing needs doing.
 */
export async function maintainTranscripts(
  deps: { tmux: TmuxClient; logsDir: string; env: NodeJS.ProcessEnv },
  running: readonly RunningTranscript[],
): Promise<{ rotated: string[]; opened: string[] }> {
  const rotated = new Set((await rotateTranscripts(deps.logsDir, running, transcriptMaxBytes(deps.env))).map((agent) => agent.name));
  const todo = running.filter((agent) => rotated.has(agent.name) || !agent.piped);
  if (todo.length === 0) return { rotated: [], opened: [] };
  const commands = todo.map((agent) => transcriptPipeCommand(agent.session, transcriptFile(deps.logsDir, agent.name), { reopen: true }));
  try {
    await deps.tmux.batch(commands);
  } catch {
    // A pane went away meanwhile, which stops the rest of a tmux command list: go one by one.
    for (const command of commands) await deps.tmux.run(command, { allowFailure: true });
  }
  return { rotated: [...rotated], opened: todo.filter((agent) => !rotated.has(agent.name)).map((agent) => agent.name) };
}

/**
 * The watchdog's call (`mosaic _supervise transcripts`): maintainTranscripts for every live
 * agent pane on the socket, found by its @mosaic_agent mark (no roster needed), and the cap on
 * the supervisor's own log. The holder session, which has no transcript, is left out.
 */
export async function maintainFleetTranscripts(deps: { tmux: TmuxClient; logsDir: string; env: NodeJS.ProcessEnv }, holderSession: string) {
  const rows = await deps.tmux.list('list-panes', ['session_name', '@mosaic_agent', 'pane_pipe', 'pane_dead']);
  const running = rows
    .filter(([session, agent, , dead]) => agent && session !== holderSession && dead !== '1')
    .map(([session, agent, pipe]) => ({ name: agent!, session: session!, piped: pipe === '1' }));
  // Its writers append one line per process (`2>>`), so a rename is all it takes.
  await rotateIfOverCap(supervisorLogFile(deps.logsDir), transcriptMaxBytes(deps.env));
  return maintainTranscripts(deps, running);
}
