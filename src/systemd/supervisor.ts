import type { UserError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { assertInstalled, checkUnitFiles, managerViewProblems } from './inspect.js';
import { assertUnitsOfThisRoster } from './install.js';
import { unitContext, type SystemdSetup } from './setup.js';
import { isActive, type UnitState } from './systemctl.js';
import { exactSession } from '../tmux/client.js';
import { DirectSupervisor, startReviving } from '../supervisor/direct.js';
import { listPanes, marksBySession, notOurs, type PaneRow } from '../supervisor/panes.js';
import { clearHandoffs, withHandoff } from './handoff.js';
import type { RunResult } from '../system/runner.js';
import { prepareAgents, prepareHolder } from './prepare.js';
import { removeRunState } from '../supervisor/state.js';
import type { AgentObservation, AgentOutcome, Supervisor, SupervisorDeps } from '../supervisor/types.js';

/**
 * The holder is up, its server set up (ExecStartPost done): the CLI may make sessions on it. Not while it is
 * `activating`, which isActive counts as on its way (a unit's own start step would wait for it; the CLI would not).
 */
const holderReady = (state: UnitState | undefined): boolean => state?.activeState === 'active';

/**
 * systemd supervision: the holder unit owns the tmux server, one template instance per agent
 * creates and kills that agent's session. start/stop/restart are one `systemctl --user` call
 * for all the units involved (start: the holder's own start first, overlapped with preparing
 * the agents). Sessions, crash recovery and observation are the built-in
 * supervisor's (the tmux server is the same; only who owns it differs).
 */
export class SystemdSupervisor implements Supervisor {
  readonly kind = 'systemd' as const;
  private readonly direct: DirectSupervisor;

  constructor(
    private readonly deps: SupervisorDeps,
    readonly setup: SystemdSetup,
  ) {
    // The tmux work the CLI does for the units (the handoff) can never start a server: the fleet's server is the
    // holder unit's, and one started here (the holder down or dying meanwhile) would run agents outside it.
    this.direct = new DirectSupervisor({ ...deps, tmux: deps.tmux.withoutServerStart() });
  }

  private unit(agent: AgentSpec): string {
    return this.setup.names.agent(agent.name);
  }

  /**
   * Unit files current and the manager loading them; returns the units' states and the panes.
   * All queries at once: an unreachable manager fails them with the same clear error a
   * separate probe would give, so there is none.
   */
  private async readyStates(agents: readonly AgentSpec[]): Promise<{ states: Map<string, UnitState>; panes: PaneRow[] }> {
    await this.setup.systemctl.requireBinary();
    // An instance loads the template even when no roster agent is named: probe with the first one.
    const probe = agents.length > 0 ? agents : this.deps.roster.agents;
    const [files, probed, states, panes] = await Promise.all([
      unitContext(this.setup, this.deps.roster, this.deps.paths).then((ctx) => checkUnitFiles(this.setup, ctx)),
      this.setup.systemctl.show([this.setup.names.holder, ...probe.slice(0, 1).map((a) => this.unit(a))]),
      this.loadedStates(),
      listPanes(this.deps),
    ]);
    assertInstalled(files, await managerViewProblems(this.setup, probed));
    return { states, panes };
  }

  /** Active states of the holder and every agent unit: one list call, not one `show` per unit. */
  private loadedStates(): Promise<Map<string, UnitState>> {
    return this.setup.systemctl.loadedStates([this.setup.names.holder, this.setup.names.agentPattern]);
  }

  async start(agents: readonly AgentSpec[], onProgress?: (done: number, total: number) => void): Promise<AgentOutcome[]> {
    const { states, panes } = await this.readyStates(agents);
    // A failed agent's unit stays active (its session holds the dead pane), but the agent is not running: it is
    // restarted, as `fleet restart` does (the unit's ExecStart writes fresh crash counters), and reported started.
    const down = await this.direct.downAgents(agents, panes);
    return startReviving(
      agents,
      down,
      (rest) => this.startUnits(rest, states, panes, onProgress),
      (failed) => this.restart(failed),
    );
  }

  private async startUnits(
    agents: readonly AgentSpec[],
    states: Map<string, UnitState>,
    panes: readonly PaneRow[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<AgentOutcome[]> {
    const { systemctl, names } = this.setup;
    const marks = marksBySession(panes);
    const outcomes = new Map<string, AgentOutcome>();
    const toStart: AgentSpec[] = [];
    const toRestart: AgentSpec[] = [];
    for (const agent of agents) {
      const active = isActive(states.get(this.unit(agent)));
      const mark = marks.get(agent.session);
      // Its unit would refuse the session too (framework/bin/mosaic-systemd-agent): say so without asking.
      if (mark !== undefined && mark !== agent.name)
        outcomes.set(agent.name, { agent: agent.name, result: 'error', error: notOurs(agent, this.deps.tmux.socket) });
      else if (active && mark !== undefined) outcomes.set(agent.name, { agent: agent.name, result: 'already-running' });
      // Active but no session: the oneshot unit outlived its session (killed by hand); make it true again.
      else if (active) toRestart.push(agent);
      else toStart.push(agent);
    }
    // The holder's start (its sh steps, then tmux) runs while the agents' files are written; their sessions are
    // made once it is active (startHandedOff). What its steps replay is written first, and on every start
    // that starts anything, so a later restart of the holder (a server crash) replays the roster of now.
    // Sessions are made here only on a holder that is up: one still starting (its set-up not done yet) or waiting
    // out RestartSec after a server crash has no server of its own yet, and a new-session would start one outside
    // the unit. Its start is asked for and waited on as for a stopped holder; only one this start found stopped
    // is stopped again when nothing comes of the start.
    const holderState = states.get(names.holder);
    const holderDown = toStart.length > 0 && !holderReady(holderState);
    const holderWasStopped = !isActive(holderState);
    if (toStart.length + toRestart.length > 0) await prepareHolder(this.deps);
    let holderFailed = false;
    const holderJob = holderDown
      ? systemctl.jobs('start', [names.holder]).then((result) => {
          holderFailed = result?.status !== 0;
          return result;
        })
      : undefined;
    holderJob?.catch(() => undefined); // awaited below; a rejection must not go unobserved meanwhile
    let errors: Map<string, UserError>;
    try {
      errors = await prepareAgents(this.deps, [...toStart, ...toRestart], { resetRunState: true });
    } catch (error) {
      await this.undoHolder(holderJob, holderWasStopped);
      throw error;
    }
    this.recordErrors(outcomes, errors);
    const starting = toStart.filter((a) => !errors.has(a.name));
    const restarting = toRestart.filter((a) => !errors.has(a.name));
    const output: string[] = [];
    // Every agent failed to prepare: leave no server behind, as if the holder had never been asked.
    if (starting.length === 0) await this.undoHolder(holderJob, holderWasStopped);
    else {
      output.push((await holderJob)?.stderr ?? '');
      // Once the holder has failed, asking again would only run the failing holder a second time (settle
      // reports the agents from their states). Otherwise the sessions are made here, in one tmux call per
      // chunk as the built-in supervisor makes them, and the units adopt them (the handoff): 100 units that
      // each started a tmux client to make their session took 1.77× the built-in start and stop, over the
      // ≤ 1.5× asked (decision 028). A session this call did not make is its unit's to make or adopt.
      if (!holderFailed) output.push(...(await this.startHandedOff(starting, marks)));
    }
    if (restarting.length > 0) {
      const holderUp = holderReady(holderState) || (holderJob !== undefined && starting.length > 0 && !holderFailed);
      output.push(await this.restartUnits(restarting, panes, holderUp));
    }
    const total = starting.length + restarting.length;
    onProgress?.(total, total);
    return this.settle(agents, outcomes, () => 'started', output.join('\n'));
  }

  /**
   * Makes the agents' sessions here and starts their units, which adopt them (the handoff). Each chunk's units
   * start as soon as tmux made its sessions, while tmux makes the next chunk's. An agent whose session exists
   * already (it outlived its unit), or that a failed tmux call did not make, is its unit's to adopt or make.
   * Returns what systemctl printed.
   */
  private async startHandedOff(agents: readonly AgentSpec[], marks: ReadonlyMap<string, string>): Promise<string[]> {
    const { systemctl } = this.setup;
    return withHandoff(this.deps.paths.runDir, async (handOff) => {
      const jobs: Promise<RunResult | undefined>[] = [];
      const startUnits = (chunk: readonly AgentSpec[]): void => {
        const job = systemctl.jobs(
          'start',
          chunk.map((a) => this.unit(a)),
        );
        job.catch(() => undefined); // awaited below; a rejection must not go unobserved meanwhile
        jobs.push(job);
      };
      const made = new Set<string>();
      const toCreate = agents.filter((a) => !marks.has(a.session));
      await this.direct.createPrepared(toCreate, async (sessions) => {
        const chunk = agents.filter((a) => sessions.has(a.session));
        for (const session of sessions) made.add(session);
        await handOff(chunk.map((a) => a.name));
        startUnits(chunk);
      });
      startUnits(agents.filter((a) => !made.has(a.session)));
      return (await Promise.all(jobs)).map((result) => result?.stderr ?? '');
    });
  }

  /** The agents' sessions, by exact name, in one tmux call (or as few as their size allows). */
  private async killSessions(agents: readonly AgentSpec[]): Promise<void> {
    await this.deps.tmux.batch(agents.map((a) => ['kill-session', '-t', exactSession(a.session)]));
  }

  /** Stops the holder this start brought up from stopped, when no agent is going to use it. */
  private async undoHolder(job: Promise<unknown> | undefined, wasStopped: boolean): Promise<void> {
    if (!job) return;
    await job.catch(() => undefined);
    if (!wasStopped) return;
    await this.setup.systemctl.jobs('stop', [this.setup.names.holder]);
    await this.setup.systemctl.resetFailed([this.setup.names.holder]);
  }

  async stop(agents: readonly AgentSpec[]): Promise<AgentOutcome[]> {
    const { systemctl, names } = this.setup;
    await systemctl.requireBinary();
    await assertUnitsOfThisRoster(this.deps, this.setup, 'stop');
    const [states, paneRows] = await Promise.all([this.loadedStates(), listPanes(this.deps)]);
    const panes = new Map(paneRows.map((pane) => [pane.session, pane]));
    const selected = new Set(agents.map((a) => this.unit(a)));
    const stopping = agents.filter((a) => {
      const state = states.get(this.unit(a));
      return isActive(state) || state?.activeState === 'failed';
    });
    // The last agent out takes the holder (and so the tmux server) down too, as in built-in mode.
    const others = [...states.values()].filter((u) => u.unit !== names.holder && !selected.has(u.unit) && isActive(u));
    const units = stopping.map((a) => this.unit(a));
    if (others.length === 0) units.push(names.holder);
    // Our sessions go first, in one tmux call (exact names, only those marked as the agent), then the manager
    // stops their units: each unit's ExecStop finds its handoff file and starts no tmux client, instead of 100
    // clients tearing panes down side by side (decision 028). A session the call missed is killed below, as a
    // leftover. (Running the two side by side gained nothing: both are CPU work on a box they saturate.)
    const ours = agents.filter((a) => panes.get(a.session)?.agent === a.name);
    await withHandoff(this.deps.paths.runDir, async (handOff) => {
      if (ours.length > 0) {
        await handOff(ours.map((a) => a.name));
        await this.killSessions(ours).catch(() => undefined);
      }
      await systemctl.jobs('stop', units);
    });
    const [, afterRows] = await Promise.all([systemctl.resetFailed(units), listPanes(this.deps)]);
    // A session without an active unit (left from before, or adopted) is stopped by hand, exactly.
    const after = new Map(afterRows.map((pane) => [pane.session, pane]));
    const leftovers = agents.filter((a) => after.get(a.session)?.agent === a.name);
    if (leftovers.length > 0) await this.killSessions(leftovers);
    // As under the built-in supervisor, a stopped agent keeps no run state (a failed mark, crash counters): it
    // is `stopped`, not `failed`. Its unit starts again from the fresh record (<agent>.state.fresh.json).
    for (const agent of agents) removeRunState(this.deps.paths.runDir, agent.name);
    return agents.map((agent): AgentOutcome => {
      const pane = panes.get(agent.session);
      if (pane && pane.agent !== agent.name) {
        return { agent: agent.name, result: 'error', error: notOurs(agent, this.deps.tmux.socket) };
      }
      const wasUp = isActive(states.get(this.unit(agent))) || pane !== undefined;
      return { agent: agent.name, result: wasUp ? 'stopped' : 'not-running' };
    });
  }

  async restart(agents: readonly AgentSpec[]): Promise<AgentOutcome[]> {
    const { states, panes } = await this.readyStates(agents);
    const outcomes = new Map<string, AgentOutcome>();
    const errors = await prepareAgents(this.deps, agents, { resetRunState: true });
    this.recordErrors(outcomes, errors);
    const restarting = agents.filter((a) => !errors.has(a.name));
    const wasActive = new Set(restarting.filter((a) => isActive(states.get(this.unit(a)))).map((a) => a.name));
    const output = await this.restartUnits(restarting, panes, holderReady(states.get(this.setup.names.holder)));
    return this.settle(agents, outcomes, (agent) => (wasActive.has(agent.name) ? 'restarted' : 'started'), output);
  }

  /**
   * Restarts the agents' units. With the holder up, their tmux work is done here first, for the whole fleet at
   * once (the handoff): a new process in every session of ours (respawn-pane, as the built-in restart does; an
   * inactive unit's session too, so that its unit adopts a restarted agent), new sessions where there are none.
   * The units' steps then start no tmux client: 100 units that each killed and made their session took 1.97×
   * the built-in restart, 1.30× now (decision 028). A session under the agent's name that is not ours is its
   * unit's to refuse. With the holder down the CLI makes no session (a new-session would start a server outside
   * the holder); it only ends the sessions of ours that a server outside the holder has (a unit would adopt one,
   * and a restart would not be one), and the units do the rest. Returns what systemctl printed.
   */
  private async restartUnits(agents: readonly AgentSpec[], panes: readonly PaneRow[], holderUp: boolean): Promise<string> {
    const units = agents.map((a) => this.unit(a));
    const marks = marksBySession(panes);
    const ours = agents.filter((a) => marks.get(a.session) === a.name);
    if (!holderUp) {
      if (ours.length > 0) await this.killSessions(ours);
      await clearHandoffs(this.deps.paths.runDir);
      return (await this.setup.systemctl.jobs('restart', units))?.stderr ?? '';
    }
    const missing = agents.filter((a) => !marks.has(a.session));
    return withHandoff(this.deps.paths.runDir, async (handOff) => {
      if (await this.direct.respawnPrepared(ours)) await handOff(ours.map((a) => a.name));
      await this.direct.createPrepared(missing, (sessions) => handOff(missing.filter((a) => sessions.has(a.session)).map((a) => a.name)));
      return (await this.setup.systemctl.jobs('restart', units))?.stderr ?? '';
    });
  }

  observe(agents: readonly AgentSpec[]): Promise<AgentObservation[]> {
    return this.direct.observe(agents);
  }

  private recordErrors(outcomes: Map<string, AgentOutcome>, errors: Map<string, UserError>): void {
    for (const [agent, error] of errors) outcomes.set(agent, { agent, result: 'error', error: error.message, hint: error.hint });
  }

  /** Outcomes from the truth after the jobs ran: unit active and its exact session present. */
  private async settle(
    agents: readonly AgentSpec[],
    outcomes: Map<string, AgentOutcome>,
    success: (agent: AgentSpec) => 'started' | 'restarted',
    systemctlOutput: string,
  ): Promise<AgentOutcome[]> {
    const pending = agents.filter((a) => !outcomes.has(a.name));
    if (pending.length > 0) {
      const { names } = this.setup;
      const [states, panes] = await Promise.all([this.loadedStates(), listPanes(this.deps)]);
      const sessions = new Map<string, PaneRow>(panes.map((pane) => [pane.session, pane]));
      // Not listed: not loaded, so inactive.
      const holderState = states.get(names.holder)?.activeState ?? 'inactive';
      // The holder's own message is in the journal, which may not exist: say the likely cause here.
      const foreign =
        holderState !== 'active' && sessions.size > 0
          ? `; a tmux server not owned by ${names.holder} runs on socket "${this.deps.tmux.socket}" (a built-in fleet? stop it first)`
          : '';
      for (const agent of pending) {
        const unit = this.unit(agent);
        const state = states.get(unit);
        const pane = sessions.get(agent.session);
        if (state?.activeState === 'active' && pane?.agent === agent.name) {
          outcomes.set(agent.name, { agent: agent.name, result: success(agent) });
          continue;
        }
        const said = systemctlOutput
          .split('\n')
          .filter((line) => line.includes(unit))
          .join(' ')
          .trim();
        const holderDown = holderState !== 'active';
        outcomes.set(agent.name, {
          agent: agent.name,
          result: 'error',
          error:
            `unit ${unit} is ${state?.activeState ?? 'inactive'} (${state?.subState ?? 'dead'}), session "${agent.session}" ${pane ? 'exists' : 'is missing'}` +
            (holderDown ? `; holder unit ${names.holder} is ${holderState}${foreign}` : '') +
            (said ? `: ${said}` : ''),
          hint: `see \`systemctl --user status ${holderDown ? names.holder : unit}\``,
        });
      }
    }
    return agents.map((agent) => outcomes.get(agent.name)!);
  }
}
