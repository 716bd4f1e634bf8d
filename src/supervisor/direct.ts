import { rmSync } from 'node:fs';
import { CommandError, UserError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { chunkCommands, exactPane, exactSession, exactSessionWindow, joinCommands, MAX_BATCH_BYTES } from '../tmux/client.js';
import { listDirectory, readFileOrUndefined } from '../system/fs.js';
import { freshRunState, readRunStateSync, removeRunState, writeStartState, type AgentRunState } from './state.js';
// The launch builders load only when something starts: status, ps and stop never need them.
import type { LaunchSpec } from '../launch/spec.js';
import { parseLaunchSpec } from '../launch/spec-read.js';
import { launchSpecFile } from '../roster/paths.js';
import { launchIdentity } from './identity.js';
import { shellQuote } from '../system/shell.js';
import { bellHookCommand, launcherScript, mainScript, paneDiedHookCommand, watchdogScript } from './hook.js';
import { HOOK_GRACE_MS, handlePaneDied, loggedOutcome, paneDiedLogLine, withZombieStatus } from './pane-died.js';
import { clearFleetCrashes } from './fleet-crashes.js';
import { batchGroups, chunkGroups } from './group-batch.js';
import type { RunResult } from '../system/runner.js';
import {
  appendSupervisorLog,
  rotateTranscripts,
  supervisorLogFile,
  transcriptFile,
  transcriptMaxBytes,
  transcriptPipeCommand,
} from './transcript.js';
import type { AgentObservation, AgentOutcome, Supervisor, SupervisorDeps } from './types.js';
// The read side lives in ./panes.js (fleet ps loads it without the launch machinery): import it from there.
import { isDown, listPanes, marksBySession, notOurs, observeAgent, type PaneRow } from './panes.js';

/** Agents are born at this size so TUIs lay out sensibly before anyone attaches. */
export const PANE_COLUMNS = 200;
export const PANE_ROWS = 50;
/** Agents prepared (files written) per step of the start pipeline: about one tmux call's worth. */
const PREPARE_CHUNK = 50;
/**
 * kill-session per tmux call. Each kill costs the server a walk over every session and a
 * synchronous utempter helper (Debian's tmux): about 12 ms each at 2,000 sessions, so a
 * size-limited chunk of 600 outran the runner's 30 s timeout; 100 take about 1 s there.
 */
const STOP_CHUNK = 100;
const STOP_CHUNK_TIMEOUT_MS = 120_000;
/**
 * A chunk of new sessions (each a fork, an exec and a utempter helper in the server's one thread) took
 * over 30 s at 2,000 agents on a CPU-starved day (2026-12-04: the server waited 109 s for a CPU during the
 * start), and a killed client leaves its sessions half made. The stop chunks' allowance fits here too.
 */
const START_CHUNK_TIMEOUT_MS = 120_000;

/** Session option set on the holder session: `fleet stop --orphans` never stops a session carrying it. */
export const HOLDER_MARK = '@mosaic_holder';

/**
 * The built-in supervisor: the tmux server holds the panes, `remain-on-exit` keeps a
 * dead pane around, and a `pane-died` hook runs `mosaic _supervise pane-died` once per
 * exit to respawn the pane after a backoff delay (slept inside the pane by the launcher).
 * No process stays resident per agent.
 */
export class DirectSupervisor implements Supervisor {
  readonly kind = 'builtin' as const;

  constructor(private readonly deps: SupervisorDeps) {}

  /** Options and hook for our server; idempotent, sent in front of every creation batch. */
  serverSetupCommands(): string[][] {
    const { paths, roster, tmux } = this.deps;
    return [
      ['start-server'],
      ['set-option', '-g', '@mosaic_owner', `mosaic-fleet tenant=${roster.tenantId} home=${paths.root}`],
      ['set-option', '-g', 'default-terminal', 'tmux-256color'],
      ['set-option', '-g', 'focus-events', 'on'],
      ['set-option', '-g', 'history-limit', '20000'],
      ['set-option', '-s', 'escape-time', '10'],
      // claude and pi warn (and lose modified Enter keys) without these.
      ['set-option', '-s', 'extended-keys', 'on'],
      ['set-option', '-wg', 'remain-on-exit', 'on'],
      [
        'set-hook',
        '-g',
        'pane-died',
        paneDiedHookCommand({
          nodeBinary: process.execPath,
          // The hook's `_supervise` reads no roster: the state directory is its config root.
          home: paths.stateDir,
          socket: tmux.socket,
          logFile: supervisorLogFile(paths.logsDir),
        }),
      ],
      ['set-option', '-wg', 'monitor-bell', 'on'],
      ['set-hook', '-g', 'alert-bell', bellHookCommand(paths.runDir)],
    ];
  }

  private async prepareDirs(): Promise<void> {
    const { files } = this.deps.host;
    await Promise.all([files.ensurePrivateDir(this.deps.paths.runDir), files.ensurePrivateDir(this.deps.paths.logsDir)]);
  }

  private async prepareLaunch(agents: readonly AgentSpec[]): Promise<Map<string, LaunchSpec | UserError>> {
    const { roster, paths } = this.deps;
    const env = this.deps.host.env;
    const { findRuntimeBinDirs, prepareAgentLaunch } = await import('../launch/spec.js');
    const runtimeBinDirs = await findRuntimeBinDirs(env);
    const prepared = new Map<string, LaunchSpec | UserError>();
    await Promise.all(
      agents.map(async (agent) => {
        try {
          const spec = await prepareAgentLaunch(roster, agent, {
            env,
            runDir: paths.runDir,
            agentsDir: paths.agentsDir,
            runtimeBinDirs,
            identity: launchIdentity(this.deps),
            runner: this.deps.host.runner,
          });
          await writeStartState(paths.runDir, freshRunState(agent.name, agent.session, roster.restart));
          prepared.set(agent.name, spec);
        } catch (error) {
          prepared.set(
            agent.name,
            error instanceof UserError ? error : new UserError(`agent "${agent.name}": ${(error as Error).message}`),
          );
        }
      }),
    );
    return prepared;
  }

  async start(agents: readonly AgentSpec[], onProgress?: (done: number, total: number) => void): Promise<AgentOutcome[]> {
    await this.prepareDirs();
    const panes = await listPanes(this.deps);
    const down = await this.downAgents(agents, panes);
    return startReviving(
      agents,
      down,
      (rest) => this.startMissing(rest, panes, onProgress),
      (failed) => this.restart(failed),
    );
  }

  /**
   * The agents whose session is theirs but holds a dead pane that nothing will bring back (see isDown), from
   * a listing the caller has. Only dead panes are looked at: a fleet that runs costs no state file read.
   */
  async downAgents(agents: readonly AgentSpec[], panes: readonly PaneRow[]): Promise<Set<string>> {
    const bySession = new Map(panes.map((pane) => [pane.session, pane]));
    const dead = agents.filter((agent) => {
      const pane = bySession.get(agent.session);
      return pane !== undefined && pane.dead && pane.agent === agent.name;
    });
    if (dead.length === 0) return new Set();
    const observed = await this.observePanes(dead, panes);
    return new Set(observed.filter((agent) => isDown(agent.state)).map((agent) => agent.agent));
  }

  /**
   * The agents (of those given) that a start of this roster made on another socket and that still run there:
   * the roster's socket (or MOSAIC_TMUX_SOCKET) changed since. The socket is the one in the agent's launch
   * spec; its pane there runs that same spec.
   */
  private async runningElsewhere(agents: readonly AgentSpec[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const { paths, tmux } = this.deps;
    const previous = await Promise.all(
      agents.map(async (agent) => {
        const spec = await readFileOrUndefined(launchSpecFile(paths.runDir, agent.name)).catch(() => undefined);
        return spec === undefined ? undefined : parseLaunchSpec(spec).env.MOSAIC_TMUX_SOCKET;
      }),
    );
    for (const socket of new Set(previous)) {
      if (!socket || socket === tmux.socket) continue;
      const rows = await this.deps.host
        .tmux(socket)
        .list('list-panes', ['@mosaic_agent', 'pane_start_command'])
        .catch(() => []);
      agents.forEach((agent, index) => {
        const spec = launchSpecFile(paths.runDir, agent.name);
        if (previous[index] === socket && rows.some(([mark, command]) => mark === agent.name && command?.endsWith(` ${spec}`)))
          found.set(agent.name, socket);
      });
    }
    return found;
  }

  /** Creates the sessions of the agents that have none; the others are running (or someone else's). */
  private async startMissing(
    agents: readonly AgentSpec[],
    panes: readonly PaneRow[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<AgentOutcome[]> {
    const marks = marksBySession(panes);
    const elsewhere = await this.runningElsewhere(agents.filter((agent) => !marks.has(agent.session)));
    const missing = agents.filter((agent) => !marks.has(agent.session) && !elsewhere.has(agent.name));
    const outcomes = new Map<string, AgentOutcome>();
    for (const agent of agents) {
      const mark = marks.get(agent.session);
      const other = elsewhere.get(agent.name);
      if (mark === agent.name) outcomes.set(agent.name, { agent: agent.name, result: 'already-running' });
      else if (mark !== undefined)
        outcomes.set(agent.name, { agent: agent.name, result: 'error', error: notOurs(agent, this.deps.tmux.socket) });
      else if (other !== undefined)
        outcomes.set(agent.name, {
          agent: agent.name,
          result: 'error',
          error: `agent "${agent.name}" still runs on socket ${other}, where this roster started it (its socket is now ${this.deps.tmux.socket}); a second copy would share its files`,
          hint: `stop it there first: MOSAIC_TMUX_SOCKET=${other} mosaic${this.deps.paths.stateDir === this.deps.paths.root ? '' : ` --roster ${shellQuote(this.deps.paths.roster)}`} fleet stop`,
        });
    }
    // The server set-up, and the holder (fleet watchdog) if it is missing: it comes back with any
    // start while agents are running without it.
    const holderMissing = !marks.has(this.deps.roster.holderSession);
    const setupGroups = async (): Promise<string[][][]> => [
      ...this.serverSetupCommands().map((command) => [command]),
      ...(holderMissing ? [await this.holderCommands()] : []),
    ];
    // A holder another start made since we looked (tmux: duplicate session) serves this start as well.
    const setUp = async (groups: string[][][]): Promise<void> => {
      try {
        await batchGroups(this.deps.tmux, groups, { timeoutMs: START_CHUNK_TIMEOUT_MS });
      } catch (error) {
        const holder = this.deps.roster.holderSession;
        if (!holderMissing || !answeredNo(error) || marksBySession(await listPanes(this.deps)).get(holder) !== holder) throw error;
      }
    };
    if (missing.length === 0) {
      if (holderMissing && agents.some((agent) => marks.has(agent.session))) await setUp(await setupGroups());
      return agents.map((agent) => outcomes.get(agent.name)!);
    }
    let setup: string[][][] | undefined = await setupGroups();
    clearFleetCrashes(this.deps.paths.runDir);

    // A pipeline: while tmux creates one chunk of sessions (CPU in the server), the next chunk's
    // files are written (disk). One group per session: a session and its transcript pipe always
    // go in the same tmux call. The server set-up goes just before the first chunk that has an agent
    // to create, so a start in which every agent fails to prepare leaves no server behind; it has a
    // call of its own, so that a failure in a chunk is known to be an agent's (see retryEach).
    const created: AgentSpec[] = [];
    const asked = new Set<string>(); // agents whose session this start asked tmux for
    let done = 0;
    const progress = (count: number): void => {
      done += count;
      onProgress?.(Math.min(done, missing.length), missing.length);
    };
    let creating: Promise<void> = Promise.resolve();
    const create = async (chunk: AgentSpec[], setupFirst: string[][][] | undefined): Promise<void> => {
      if (setupFirst) await setUp(setupFirst);
      for (const agent of chunk) asked.add(agent.name);
      const made = new Set<string>();
      try {
        for (const call of chunkGroups(chunk.map((agent) => this.createCommands(agent, { printName: true })))) {
          const result = await this.runCreate(call, made);
          progress(result.argv.filter((arg) => arg === 'new-session').length);
        }
        created.push(...chunk);
      } catch (error) {
        // Answered, tmux printed every session the call made before it stopped; else nobody knows.
        const { started, unanswered } = await this.retryEach(chunk, outcomes, answeredNo(error) ? made : undefined);
        created.push(...started);
        progress(started.length);
        if (unanswered) throw unanswered; // the later chunks would wait as long: the start ends here
      }
    };
    try {
      for (let index = 0; index < missing.length; index += PREPARE_CHUNK) {
        const step = missing.slice(index, index + PREPARE_CHUNK);
        const prepared = await this.prepareLaunch(step);
        const chunk: AgentSpec[] = [];
        for (const agent of step) {
          const spec = prepared.get(agent.name)!;
          if (spec instanceof UserError)
            outcomes.set(agent.name, { agent: agent.name, result: 'error', error: spec.message, hint: spec.hint });
          else chunk.push(agent);
        }
        if (chunk.length === 0) continue;
        await this.rotateTranscripts(chunk); // no pipe is open yet
        await creating;
        creating = create(chunk, setup);
        setup = undefined;
        creating.catch(() => undefined); // handled at the next await; a rejection must not go unobserved meanwhile
      }
      await creating;
      for (const agent of created) outcomes.set(agent.name, { agent: agent.name, result: 'started' });
    } catch (error) {
      await creating.catch(() => undefined);
      // Report from the truth. A session this start never asked for was made by another start (already running);
      // one it asked for in a call tmux did not answer may be that call's, and counts as started.
      const marks = marksBySession(await listPanes(this.deps));
      for (const agent of missing) {
        if (outcomes.has(agent.name)) continue; // an error, or another start's session (retryEach)
        outcomes.set(
          agent.name,
          marks.get(agent.session) !== agent.name
            ? { agent: agent.name, result: 'error', error: (error as Error).message }
            : { agent: agent.name, result: asked.has(agent.name) ? 'started' : 'already-running' },
        );
      }
    }
    return agents.map((agent) => outcomes.get(agent.name)!);
  }

  /**
   * Makes the sessions of agents whose launch files are written already (the systemd supervisor's handoff,
   * decision 028), in as few tmux calls as their size allows, and tells `onMade` after each call which
   * sessions it made. A call that fails ends it (tmux stops a command list at its first error); the agents
   * not made are left to their units, which make or adopt their sessions themselves.
   */
  async createPrepared(agents: readonly AgentSpec[], onMade: (sessions: ReadonlySet<string>) => Promise<void> | void): Promise<void> {
    await this.rotateTranscripts(agents); // no pipe is open yet
    for (const call of chunkGroups(agents.map((agent) => this.createCommands(agent, { printName: true })))) {
      const made = new Set<string>();
      // What a failed call made is in `made` all the same: tmux printed each session's name as it made it.
      const failed = await this.runCreate(call, made).then(
        () => false,
        () => true,
      );
      await onMade(made);
      if (failed) return;
    }
  }

  /**
   * One call of new sessions. Each new-session prints its session's name (-P), so `made` learns which
   * sessions this call made, also when a later command fails and tmux ends the call there.
   */
  private async runCreate(argv: readonly string[], made: Set<string>): Promise<RunResult> {
    const result = await this.deps.tmux.run(argv, { timeoutMs: START_CHUNK_TIMEOUT_MS, allowFailure: true });
    for (const line of result.stdout.split('\n')) if (line !== '') made.add(line);
    if (result.status !== 0) throw new CommandError(result.argv, result.status, result.signal, result.stderr, result.durationMs);
    return result;
  }

  /**
   * After a failed call of new sessions. tmux ends a command list at its first failed command, so one
   * session that cannot be made (a session of that name made meanwhile, say) leaves the rest of the call
   * undone. What the call made (`made`, as tmux printed it) counts as started; a session of the agent that
   * another start made meanwhile is already running, and was not started by this one. Every other agent of
   * the chunk gets a call of its own, and so an outcome of its own. Without `made` (tmux did not answer the
   * call, so may have made any of its sessions) every session of the agent counts as started. A call that
   * tmux did not answer (a timeout, a lost server) ends the retries: the agents after it share its error,
   * which is returned to end the start.
   */
  private async retryEach(
    chunk: readonly AgentSpec[],
    outcomes: Map<string, AgentOutcome>,
    made: ReadonlySet<string> | undefined,
  ): Promise<{ started: AgentSpec[]; unanswered: Error | undefined }> {
    const marks = marksBySession(await listPanes(this.deps));
    const madeHere = new Set<string>(); // by the calls below
    const unsure = new Set<string>(); // agents whose own call tmux did not answer
    const alreadyRunning = (agent: AgentSpec): void => {
      outcomes.set(agent.name, { agent: agent.name, result: 'already-running' });
    };
    const started: AgentSpec[] = [];
    const failed: AgentSpec[] = [];
    let unanswered: Error | undefined;
    const fail = (agent: AgentSpec, error: string): void => {
      outcomes.set(agent.name, { agent: agent.name, result: 'error', error });
      failed.push(agent);
    };
    for (const agent of chunk) {
      const mark = marks.get(agent.session);
      if (mark === agent.name) {
        if (made === undefined || made.has(agent.session)) started.push(agent);
        else alreadyRunning(agent);
      } else if (mark !== undefined)
        fail(
          agent,
          `session "${agent.session}" on socket ${this.deps.tmux.socket} was made meanwhile, not by mosaic for agent "${agent.name}"; left alone`,
        );
      else if (unanswered) fail(agent, unanswered.message);
      else {
        try {
          await this.runCreate(joinCommands(this.createCommands(agent, { printName: true })), madeHere);
          started.push(agent);
        } catch (error) {
          fail(agent, (error as Error).message);
          // tmux said no (exit 1): that agent's own problem. Anything else: tmux did not answer.
          if (!answeredNo(error)) {
            unanswered = error as Error;
            unsure.add(agent.name);
          }
        }
      }
    }
    // The agent's session exists after all: ours when our call made it (a later command of the call failed) or
    // may have (no answer), else another start's, made meanwhile: that agent is running, but not started here.
    if (failed.length > 0) {
      const now = marksBySession(await listPanes(this.deps).catch(() => []));
      for (const agent of failed) {
        if (now.get(agent.session) !== agent.name) continue;
        if (madeHere.has(agent.session) || unsure.has(agent.name)) {
          outcomes.delete(agent.name);
          started.push(agent);
        } else alreadyRunning(agent);
      }
    }
    return { started, unanswered };
  }

  /** The holder session runs the fleet watchdog; it is supervised like an agent. (Also used by the systemd holder unit.) */
  async holderCommands(): Promise<string[][]> {
    const { roster, paths } = this.deps;
    const commands = await this.holderLaunch();
    await writeStartState(paths.runDir, freshRunState(roster.holderSession, roster.holderSession, roster.restart));
    return commands;
  }

  /**
   * The holder's launch spec written, and the tmux commands that make its session; the crash record is the
   * caller's to write (now, or as the fresh copy a systemd holder unit puts in place: systemd/prepare.ts).
   */
  async holderLaunch(): Promise<string[][]> {
    const { roster, paths } = this.deps;
    const env = this.deps.host.env;
    const [{ buildHolderSpec }, { writeLaunchSpec }] = await Promise.all([import('./holder.js'), import('../launch/spec.js')]);
    const spec = buildHolderSpec(roster, {
      env,
      runDir: paths.runDir,
      runtimeBinDirs: [],
      // The watchdog's `_supervise` calls read no roster: the state directory is their config root.
      home: paths.stateDir,
      configRoot: paths.root,
      nodeBinary: process.execPath,
      mainScript: mainScript(),
      watchdogScript: watchdogScript(),
    });
    await writeLaunchSpec(spec);
    return [
      ...this.createCommands({ name: roster.holderSession, session: roster.holderSession, workingDirectory: paths.root }),
      // Known as the holder even without a roster (`fleet stop --orphans` never stops it).
      ['set-option', '-t', exactSessionWindow(roster.holderSession), HOLDER_MARK, '1'],
    ];
  }

  private createCommands(
    agent: Pick<AgentSpec, 'name' | 'session' | 'workingDirectory'>,
    options: { printName?: boolean } = {},
  ): string[][] {
    const transcript = agent.name === this.deps.roster.holderSession ? undefined : this.deps.paths.logsDir;
    return sessionCreateCommands(this.deps.paths.runDir, agent, transcript, options);
  }

  async stop(agents: readonly AgentSpec[]): Promise<AgentOutcome[]> {
    const panes = new Map((await listPanes(this.deps)).map((pane) => [pane.session, pane]));
    const outcomes: AgentOutcome[] = [];
    const kills: string[][] = [];
    for (const agent of agents) {
      const pane = panes.get(agent.session);
      if (!pane) {
        outcomes.push({ agent: agent.name, result: 'not-running' });
      } else if (pane.agent !== agent.name) {
        outcomes.push({ agent: agent.name, result: 'error', error: notOurs(agent, this.deps.tmux.socket) });
      } else {
        kills.push(['kill-session', '-t', exactSession(agent.session)]);
        outcomes.push({ agent: agent.name, result: 'stopped' });
      }
    }
    // The last agent out takes the holder (and with it the server) down too.
    const holder = this.deps.roster.holderSession;
    const stopping = new Set(agents.map((agent) => agent.session));
    const remaining = [...panes.keys()].filter((session) => session !== holder && !stopping.has(session));
    const cleanup = [...agents.map((agent) => agent.name)];
    let failure: Error | undefined;
    for (const chunk of chunkCommands(kills, MAX_BATCH_BYTES, STOP_CHUNK)) {
      // One tmux call per chunk. A failed chunk does not stop the rest: every agent is stopped that
      // can be, then the truth is reported.
      await this.deps.tmux.run(joinCommands(chunk), { timeoutMs: STOP_CHUNK_TIMEOUT_MS }).catch((error: Error) => (failure ??= error));
    }
    // The holder goes only when every agent is known to be gone (it supervises any left).
    if (!failure && remaining.length === 0 && panes.get(holder)?.agent === holder) {
      await this.deps.tmux.batch([['kill-session', '-t', exactSession(holder)]]).catch((error: Error) => (failure ??= error));
      cleanup.push(holder);
    }
    const sessionOf = new Map([...agents.map((agent): [string, string] => [agent.name, agent.session]), [holder, holder]]);
    const left = failure ? new Set((await listPanes(this.deps).catch(() => [])).map((pane) => pane.session)) : new Set<string>();
    for (const name of cleanup) {
      if (left.has(sessionOf.get(name)!)) continue; // still running: its state stays true
      removeRunState(this.deps.paths.runDir, name);
      rmSync(launchSpecFile(this.deps.paths.runDir, name), { force: true });
    }
    if (!failure) return outcomes;
    return outcomes.map((outcome) =>
      outcome.result === 'stopped' && left.has(sessionOf.get(outcome.agent)!)
        ? { agent: outcome.agent, result: 'error', error: `still running after kill-session: ${failure!.message}` }
        : outcome,
    );
  }

  async restart(agents: readonly AgentSpec[]): Promise<AgentOutcome[]> {
    await this.prepareDirs();
    const marks = marksBySession(await listPanes(this.deps));
    const present: AgentSpec[] = [];
    const absent: AgentSpec[] = [];
    const outcomes = new Map<string, AgentOutcome>();
    for (const agent of agents) {
      const mark = marks.get(agent.session);
      if (mark === undefined) absent.push(agent);
      else if (mark === agent.name) present.push(agent);
      // A session that only has the agent's name is someone else's: its process is not ours to kill.
      else outcomes.set(agent.name, { agent: agent.name, result: 'error', error: notOurs(agent, this.deps.tmux.socket) });
    }
    if (present.length > 0) clearFleetCrashes(this.deps.paths.runDir);
    const prepared = await this.prepareLaunch(present);
    await this.rotateTranscripts(present); // pipes are replaced below
    const respawns: string[][] = [];
    for (const agent of present) {
      const spec = prepared.get(agent.name);
      if (spec instanceof UserError) {
        outcomes.set(agent.name, { agent: agent.name, result: 'error', error: spec.message, hint: spec.hint });
        continue;
      }
      respawns.push(...this.respawnCommands(agent, spec!.file));
      outcomes.set(agent.name, { agent: agent.name, result: 'restarted' });
    }
    if (respawns.length > 0) {
      const holder = marks.has(this.deps.roster.holderSession) ? [] : await this.holderCommands();
      await this.deps.tmux.batch([...this.serverSetupCommands().slice(1), ...holder, ...respawns]);
    }
    if (absent.length > 0) {
      for (const outcome of await this.start(absent)) outcomes.set(outcome.agent, outcome);
    }
    return agents.map((agent) => outcomes.get(agent.name)!);
  }

  /**
   * Moves aside the transcripts of `agents` that are over the size cap, before their sessions are made or
   * respawned (the pipe that writes a transcript is opened or replaced by that call).
   */
  private async rotateTranscripts(agents: readonly AgentSpec[]): Promise<void> {
    await rotateTranscripts(this.deps.paths.logsDir, agents, transcriptMaxBytes(this.deps.host.env));
  }

  /** A new process in the agent's pane, from its launch spec; the pane's transcript pipe is replaced with it. */
  private respawnCommands(agent: AgentSpec, specFile: string): string[][] {
    return [
      // -k kills the old process; the pane (and its siblings) stay where they are. -c: the roster's working
      // directory of now (a pane respawns in the one it was made in, and later crash respawns follow this one).
      ['respawn-pane', '-k', '-c', agent.workingDirectory, '-t', exactPane(agent.session), '--', 'sh', launcherScript(), specFile],
      // A respawn keeps the pane's transcript pipe; replacing it also covers rotation and panes that never had one.
      transcriptPipeCommand(agent.session, transcriptFile(this.deps.paths.logsDir, agent.name), { reopen: true }),
    ];
  }

  /**
   * Restarts agents whose sessions are theirs and whose launch files are written already (the systemd
   * supervisor's handoff for `fleet restart`, decision 028): a new process in each pane, in as few tmux calls
   * as their size allows. True when every call succeeded; after a failed one, which agents it restarted is not
   * known, and their units restart them all over again.
   */
  async respawnPrepared(agents: readonly AgentSpec[]): Promise<boolean> {
    if (agents.length === 0) return true;
    await this.rotateTranscripts(agents); // pipes are replaced below
    const groups = agents.map((agent) => this.respawnCommands(agent, launchSpecFile(this.deps.paths.runDir, agent.name)));
    return batchGroups(this.deps.tmux, groups, { timeoutMs: START_CHUNK_TIMEOUT_MS }).then(
      () => true,
      () => false,
    );
  }

  async observe(agents: readonly AgentSpec[]): Promise<AgentObservation[]> {
    return this.observePanes(agents, await listPanes(this.deps));
  }

  /** observe() from a listing the caller already has. */
  private async observePanes(agents: readonly AgentSpec[], rows: readonly PaneRow[]): Promise<AgentObservation[]> {
    const panes = new Map(rows.map((pane) => [pane.session, pane]));
    const now = this.deps.host.now();
    const { runDir } = this.deps.paths;
    const present = new Set(listDirectory(runDir)); // no failed open per agent that has no state
    return Promise.all(
      agents.map(async (agent) => {
        const pane = panes.get(agent.session);
        let state = readRunStateSync(runDir, agent.name, present);
        if (pane && state && needsReconcile(pane, state, now)) {
          await this.reconcile(agent, pane);
          state = readRunStateSync(runDir, agent.name);
        }
        return observeAgent(agent, pane, state, now);
      }),
    );
  }

  /**
   * Backstop for a lost pane-died hook (tmux can drop it when a child of the agent still
   * holds the pane's tty as the agent exits): handle the death as the hook would have.
   */
  private async reconcile(agent: AgentSpec, pane: PaneRow): Promise<void> {
    const event = withZombieStatus({
      agent: agent.name,
      paneId: pane.paneId,
      deadPid: pane.panePid,
      exitStatus: pane.deadStatus,
      exitSignal: pane.deadSignal,
      deadTime: pane.deadTime,
      backstop: true,
    });
    const { logsDir } = this.deps.paths;
    const outcome = await handlePaneDied(event, { tmux: this.deps.tmux, runDir: this.deps.paths.runDir, logsDir, now: this.deps.host.now });
    // The supervisor log has one line per handled exit, whichever path handled it.
    if (loggedOutcome(outcome))
      await appendSupervisorLog(logsDir, paneDiedLogLine(event, outcome, 'reader', new Date(this.deps.host.now())));
  }
}

/** Create one agent's session running the launcher on its spec, and mark it ours (also used by systemd agent units). */
export function sessionCreateCommands(
  runDir: string,
  agent: Pick<AgentSpec, 'name' | 'session' | 'workingDirectory'>,
  /** With a logs directory, the pane's output is also appended to <logsDir>/<agent>.log. */
  logsDir?: string,
  /** printName: new-session prints the session's name once it is made (which sessions a failed call made). */
  options: { printName?: boolean } = {},
): string[][] {
  const spec = launchSpecFile(runDir, agent.name);
  return [
    [
      'new-session',
      '-d',
      ...(options.printName ? ['-P', '-F', '#{session_name}'] : []),
      '-s',
      agent.session,
      '-x',
      String(PANE_COLUMNS),
      '-y',
      String(PANE_ROWS),
      '-c',
      agent.workingDirectory,
      '--',
      'sh',
      launcherScript(),
      spec,
    ],
    ['set-option', '-t', exactSessionWindow(agent.session), '@mosaic_agent', agent.name],
    ...(logsDir ? [transcriptPipeCommand(agent.session, transcriptFile(logsDir, agent.name))] : []),
  ];
}

/** tmux answered and said no (exit 1): the call ran up to its failed command. Anything else: no answer. */
const answeredNo = (error: unknown): boolean => error instanceof CommandError && error.exitStatus === 1 && error.signal === null;

/**
 * A start in which some agents are down (see isDown and downAgents): a failed agent is not running, so it is
 * restarted, as `fleet restart` does, and that restart is reported as the start it is. The others go through
 * the supervisor's own start. Outcomes come in the order of `agents`. Both supervisors start this way.
 */
export async function startReviving(
  agents: readonly AgentSpec[],
  down: ReadonlySet<string>,
  startRest: (agents: readonly AgentSpec[]) => Promise<AgentOutcome[]>,
  restart: (agents: readonly AgentSpec[]) => Promise<AgentOutcome[]>,
): Promise<AgentOutcome[]> {
  if (down.size === 0) return startRest(agents);
  const outcomes = await startRest(agents.filter((agent) => !down.has(agent.name)));
  // A restart that throws fails its agents, not the start: the others' outcomes stand (they were started).
  const revived = await restart(agents.filter((agent) => down.has(agent.name))).catch((error: Error) =>
    [...down].map((agent): AgentOutcome => ({ agent, result: 'error', error: error.message })),
  );
  const asStarted = (outcome: AgentOutcome): AgentOutcome =>
    outcome.result === 'restarted' ? { agent: outcome.agent, result: 'started' } : outcome;
  const byAgent = new Map([...outcomes, ...revived.map(asStarted)].map((outcome) => [outcome.agent, outcome]));
  return agents.map((agent) => byAgent.get(agent.name)!);
}

export function needsReconcile(pane: PaneRow, state: AgentRunState, nowMs: number): boolean {
  if (!pane.dead || state.failed || pane.panePid === null || state.handledPid === pane.panePid) return false;
  // tmux stamps pane_dead_time exactly when it runs the pane-died hook: no stamp, no hook coming.
  return pane.deadTime === null || nowMs - pane.deadTime * 1000 > HOOK_GRACE_MS;
}
