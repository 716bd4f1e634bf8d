import type { FleetContext } from '../context/context.js';
import { answerRequest, pendingRows, type AnswerResult, type PendingRow } from '../fleet/approvals.js';
import { fleetPs, type PsRecord } from '../fleet/ps.js';
import { validateBody } from '../messaging/body.js';
import { DEFAULT_VERIFY_TIMEOUT_MS, sendToAgent, type SendResult } from '../messaging/send.js';
import { recordTasksTaken } from '../messaging/tasks.js';
import { exactSession } from '../tmux/client.js';
import type { FleetSnapshot } from './fleet-feed.js';
import { HttpError } from './http.js';
import type { AgentPane } from './pane-screens.js';

/**
 * What the dashboard does to the fleet, each through the same service the CLI verb uses, on the
 * fleet as it is now (`view()` re-reads the roster only when it changed).
 */
export class DashboardFleet {
  constructor(
    private readonly view: () => Promise<FleetContext>,
    private readonly rosterOption: string | undefined,
  ) {}

  /** `fleet ps --json` and `fleet pending --json` from one read of the fleet. */
  async snapshot(): Promise<FleetSnapshot> {
    const view = await this.view();
    const report = await fleetPs(view);
    const pending = report.records.some((r) => r.attention.state === 'permission') ? pendingRows(view, report) : [];
    return { ...report, pending };
  }

  async records(): Promise<PsRecord[]> {
    return (await fleetPs(await this.view())).records;
  }

  async pending(): Promise<PendingRow[]> {
    return (await this.snapshot()).pending;
  }

  async info(): Promise<{ tenant_id: string; host: string; socket: string; supervisor: string }> {
    const view = await this.view();
    return { tenant_id: view.roster.tenantId, host: view.host.identity.host, socket: view.tmux.socket, supervisor: view.roster.supervisor };
  }

  /** A roster agent's pane to watch (its session and its own name); 404 for a name the roster does not have. */
  async paneOf(name: string): Promise<AgentPane> {
    const agent = await this.agent(name);
    return { session: agent.session, agent: agent.name };
  }

  /** Like `agent send <name> --json` (reset_between_tasks included); the source says it came from the web. */
  async send(name: string, message: string, verify: boolean): Promise<SendResult> {
    const view = await this.view();
    const agent = await this.agent(name, view);
    const body = validateBody(message);
    if (agent.resetBetweenTasks) {
      const { resetBeforeTasks } = await import('../fleet/task-reset.js');
      await resetBeforeTasks(view, [agent], { roster: this.rosterOption });
    }
    const result = await sendToAgent(view, agent, {
      body,
      source: `${view.host.identity.host}:web`,
      preamble: true,
      verify,
      timeoutMs: DEFAULT_VERIFY_TIMEOUT_MS,
    });
    await recordTasksTaken(view.paths.runDir, [agent], [result]);
    return result;
  }

  /** Like `agent approve|deny <name> [id] --json`. */
  async answer(
    name: string,
    decision: 'allow' | 'deny',
    id: string | undefined,
    message: string | undefined,
  ): Promise<AnswerResult & { tenant_id: string; host: string }> {
    const view = await this.view();
    const agent = await this.agent(name, view);
    const result = await answerRequest(view, agent.name, id, decision, {
      ...(message !== undefined ? { message } : {}),
      by: `${view.host.identity.host}:web`,
    });
    return { tenant_id: view.roster.tenantId, host: view.host.identity.host, ...result };
  }

  /** Where the control client attaches: the holder session, else any live session on the socket. */
  async controlSession(): Promise<string | undefined> {
    const view = await this.view();
    const holder = await view.tmux.run(['has-session', '-t', exactSession(view.roster.holderSession)], { allowFailure: true });
    if (holder.status === 0) return view.roster.holderSession;
    const [first] = await view.tmux.list('list-sessions', ['session_name']);
    return first?.[0];
  }

  private async agent(name: string, given?: FleetContext) {
    const view = given ?? (await this.view());
    const agent = view.roster.agents.find((a) => a.name === name);
    // An agent another host runs is in the roster: say where it is, not that it does not exist.
    const elsewhere = agent ? undefined : view.roster.remoteAgents?.find((a) => a.name === name || `${a.host}/${a.name}` === name);
    if (elsewhere) {
      throw new HttpError(
        404,
        `agent "${elsewhere.name}" runs on host "${elsewhere.host}": this dashboard serves this machine's agents only`,
        `run \`mosaic fleet serve\` on ${elsewhere.host}, or \`mosaic agent send ${elsewhere.host}/${elsewhere.name}\` from here`,
      );
    }
    if (!agent) throw new HttpError(404, `no agent "${name}" in roster ${view.roster.file}`);
    return agent;
  }
}
