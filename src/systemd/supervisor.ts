import type { UserError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { assertInstalled, checkUnitFiles, managerViewProblems } from './inspect.js';
import { unitContext, type SystemdSetup } from './setup.js';
import { isActive, type UnitState } from './systemctl.js';
import { exactSession } from '../tmux/client.js';
import { DirectSupervisor, listPanes, type PaneRow } from '../supervisor/direct.js';
import { prepareAgents } from './prepare.js';
import type { AgentObservation, AgentOutcome, Supervisor, SupervisorDeps } from '../supervisor/types.js';

/**
 * systemd supervision: the holder unit owns the tmux server, one template instance per agent
 * creates and kills that agent's session. start/stop/restart are one `systemctl --user` call
 * for all the units involved. Sessions, crash recovery and observation are the built-in
 * supervisor's (the tmux server is the same; only who owns it differs).
 */
export class SystemdSupervisor implements Supervisor {
  readonly kind = 'systemd' as const;
  private readonly direct: DirectSupervisor;

  constructor(
    private readonly deps: SupervisorDeps,
    readonly setup: SystemdSetup,
  ) {
    this.direct = new DirectSupervisor(deps);
  }

  private unit(agent: AgentSpec): string {
    return this.setup.names.agent(agent.name);
  }

  /** Manager reachable, unit files current, manager loading them; returns the units' states. */
  private async readyStates(agents: readonly AgentSpec[]): Promise<Map<string, UnitState>> {
    await this.setup.systemctl.manager();
    const files = await checkUnitFiles(this.setup, await unitContext(this.setup, this.deps.roster, this.deps.paths));
    // An instance loads the template even when no roster agent is named: probe with the first one.
    const probe = agents.length > 0 ? agents : this.deps.roster.agents;
    const [probed, loaded] = await Promise.all([
      this.setup.systemctl.show([this.setup.names.holder, ...probe.slice(0, 1).map((a) => this.unit(a))]),
      this.loadedStates(),
    ]);
    assertInstalled(files, await managerViewProblems(this.setup, probed));
    return loaded;
  }

  /** Active states of the holder and every agent unit: one list call, not one `show` per unit. */
  private loadedStates(): Promise<Map<string, UnitState>> {
    return this.setup.systemctl.loadedStates([this.setup.names.holder, this.setup.names.agentPattern]);
  }

  async start(agents: readonly AgentSpec[], onProgress?: (done: number, total: number) => void): Promise<AgentOutcome[]> {
    const states = await this.readyStates(agents);
    const sessions = new Set((await listPanes(this.deps)).map((pane) => pane.session));
    const outcomes = new Map<string, AgentOutcome>();
    const toStart: AgentSpec[] = [];
    const toRestart: AgentSpec[] = [];
    for (const agent of agents) {
      const active = isActive(states.get(this.unit(agent)));
      if (active && sessions.has(agent.session)) outcomes.set(agent.name, { agent: agent.name, result: 'already-running' });
      // Active but no session: the oneshot unit outlived its session (killed by hand); make it true again.
      else if (active) toRestart.push(agent);
      else toStart.push(agent);
    }
    const errors = await prepareAgents(this.deps, [...toStart, ...toRestart]);
    this.recordErrors(outcomes, errors);
    const starting = toStart.filter((a) => !errors.has(a.name));
    const restarting = toRestart.filter((a) => !errors.has(a.name));
    const output: string[] = [];
    if (starting.length > 0) {
      const result = await this.setup.systemctl.jobs('start', [this.setup.names.holder, ...starting.map((a) => this.unit(a))]);
      output.push(result?.stderr ?? '');
    }
    if (restarting.length > 0)
      output.push(
        (
          await this.setup.systemctl.jobs(
            'restart',
            restarting.map((a) => this.unit(a)),
          )
        )?.stderr ?? '',
      );
    const total = starting.length + restarting.length;
    onProgress?.(total, total);
    return this.settle(agents, outcomes, () => 'started', output.join('\n'));
  }

  async stop(agents: readonly AgentSpec[]): Promise<AgentOutcome[]> {
    const { systemctl, names } = this.setup;
    await systemctl.manager();
    const states = await this.loadedStates();
    const panes = new Map((await listPanes(this.deps)).map((pane) => [pane.session, pane]));
    const selected = new Set(agents.map((a) => this.unit(a)));
    const stopping = agents.filter((a) => {
      const state = states.get(this.unit(a));
      return isActive(state) || state?.activeState === 'failed';
    });
    // The last agent out takes the holder (and so the tmux server) down too, as in built-in mode.
    const others = [...states.values()].filter((u) => u.unit !== names.holder && !selected.has(u.unit) && isActive(u));
    const units = stopping.map((a) => this.unit(a));
    if (others.length === 0) units.push(names.holder);
    await systemctl.jobs('stop', units);
    await systemctl.resetFailed(units);
    // A session without an active unit (left from before, or adopted) is stopped by hand, exactly.
    const after = new Map((await listPanes(this.deps)).map((pane) => [pane.session, pane]));
    const leftovers = agents.filter((a) => after.get(a.session)?.agent === a.name);
    if (leftovers.length > 0) await this.deps.tmux.batch(leftovers.map((a) => ['kill-session', '-t', exactSession(a.session)]));
    return agents.map((agent): AgentOutcome => {
      const pane = panes.get(agent.session);
      if (pane && pane.agent !== agent.name) {
        return {
          agent: agent.name,
          result: 'error',
          error: `session "${agent.session}" on socket ${this.deps.tmux.socket} was not created by mosaic for agent "${agent.name}"; left alone`,
        };
      }
      const wasUp = isActive(states.get(this.unit(agent))) || pane !== undefined;
      return { agent: agent.name, result: wasUp ? 'stopped' : 'not-running' };
    });
  }

  async restart(agents: readonly AgentSpec[]): Promise<AgentOutcome[]> {
    const states = await this.readyStates(agents);
    const outcomes = new Map<string, AgentOutcome>();
    const errors = await prepareAgents(this.deps, agents);
    this.recordErrors(outcomes, errors);
    const restarting = agents.filter((a) => !errors.has(a.name));
    const wasActive = new Set(restarting.filter((a) => isActive(states.get(this.unit(a)))).map((a) => a.name));
    // An inactive unit with a live session would adopt that session on start: end it first, so a restart is one.
    const panes = await listPanes(this.deps);
    const orphans = restarting.filter((a) => !wasActive.has(a.name) && panes.some((p) => p.session === a.session && p.agent === a.name));
    if (orphans.length > 0) await this.deps.tmux.batch(orphans.map((a) => ['kill-session', '-t', exactSession(a.session)]));
    const result = await this.setup.systemctl.jobs(
      'restart',
      restarting.map((a) => this.unit(a)),
    );
    return this.settle(agents, outcomes, (agent) => (wasActive.has(agent.name) ? 'restarted' : 'started'), result?.stderr ?? '');
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
      const states = await this.loadedStates();
      const sessions = new Map<string, PaneRow>((await listPanes(this.deps)).map((pane) => [pane.session, pane]));
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
