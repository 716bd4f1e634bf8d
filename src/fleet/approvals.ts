import { existsSync } from 'node:fs';
import path from 'node:path';
import { decide, listPending, pendingDir, type Answer, type Decision, type PendingRequest } from '../attention/pending.js';
import { findAgent, type FleetContext } from '../context/context.js';
import { withSpan } from '../core/trace.js';
import { appendEvent } from '../events/log.js';
import { ProcessTable } from '../system/proc.js';
import { waitFor } from '../system/wait.js';
import { fleetPs, type PsReport } from './ps.js';

/**
 * One open permission request as `fleet pending` lists it. `answer: mosaic` — a hook or plugin
 * waits for `mosaic agent approve|deny`; `answer: pane` — the prompt is open in the pane and only
 * someone at the pane can answer it (a runtime without an answerable hook, or a request whose
 * wait timed out): `mosaic agent attach`. `answered`: `agent approve|deny` answered it and the
 * waiter has not taken the answer yet (null: not answered).
 */
export interface PendingRow {
  tenant_id: string;
  host: string;
  agent: string;
  runtime: string;
  id: string | null;
  tool: string | null;
  summary: string | null;
  since: string | null;
  age_seconds: number | null;
  answer: 'mosaic' | 'pane';
  answered: Answer | null;
}

const ageOf = (since: string | null, now: number): number | null => {
  const at = since ? Date.parse(since) : Number.NaN;
  return Number.isNaN(at) ? null : Math.max(0, Math.round((now - at) / 1000));
};

/** Every agent's open requests, oldest first: the request files, plus prompts seen only in a pane. */
export async function fleetPending(view: FleetContext): Promise<PendingRow[]> {
  return pendingRows(view, await fleetPs(view));
}

/** The open requests of a fleet whose ps report is already read (the dashboard reads it once for both). */
export function pendingRows(view: FleetContext, report: PsReport): PendingRow[] {
  const now = view.host.now();
  const table = new ProcessTable();
  const base = { tenant_id: view.roster.tenantId, host: view.host.identity.host };
  const rows: PendingRow[] = [];
  for (const record of report.records) {
    if (record.attention.state !== 'permission' || record.runtime === null) continue;
    const requests = listPending(view.paths.runDir, record.agent, new Date(now), (pid) => table.alive(pid));
    if (requests.length === 0) {
      rows.push({
        ...base,
        agent: record.agent,
        runtime: record.runtime,
        id: null,
        tool: null,
        summary: record.attention.detail,
        since: record.attention.since,
        age_seconds: ageOf(record.attention.since, now),
        answer: 'pane',
        answered: null,
      });
    }
    for (const r of requests) {
      rows.push({
        ...base,
        agent: r.agent,
        runtime: r.runtime,
        id: r.id,
        tool: r.tool,
        summary: r.summary,
        since: r.created,
        age_seconds: ageOf(r.created, now),
        answer: 'mosaic',
        answered: r.answered,
      });
    }
  }
  return rows.sort((a, b) => (a.since ?? '').localeCompare(b.since ?? '') || a.agent.localeCompare(b.agent));
}

export interface AnswerResult {
  agent: string;
  request: PendingRequest;
  decision: Decision;
  /** The waiter took the decision (its request file is gone) before the deadline. */
  delivered: boolean;
}

/**
 * Approve or deny one open request of one agent (the named one, or its only one), then wait a
 * little for the waiter to take the answer, so the operator learns whether it reached the runtime.
 */
export async function answerRequest(
  view: FleetContext,
  agentName: string,
  id: string | undefined,
  decision: Decision,
  options: { message?: string; by: string; deliveryTimeoutMs?: number },
): Promise<AnswerResult> {
  const agent = findAgent(view.roster, agentName);
  const attributes = {
    'mosaic.agent': agent.name,
    'mosaic.decision': decision,
    'mosaic.fleet': view.roster.tenantId,
    'mosaic.socket': view.tmux.socket,
  };
  return withSpan('agent.approve', attributes, async (span) => {
    const table = new ProcessTable();
    const now = new Date(view.host.now());
    const open = listPending(view.paths.runDir, agent.name, now, (pid) => table.alive(pid));
    const request = await decide(view.paths.runDir, open, agent.name, id, decision, {
      ...(options.message !== undefined ? { message: options.message } : {}),
      by: options.by,
      at: now,
    });
    // The waiter removes the request once it has answered the runtime.
    const file = path.join(pendingDir(view.paths.runDir, agent.name), `${request.id}.json`);
    const delivered =
      (await waitFor(() => (existsSync(file) ? undefined : true), { timeoutMs: options.deliveryTimeoutMs ?? 10_000, intervalMs: 50 })) ===
      true;
    span.setAttributes({ 'mosaic.request': request.id, 'mosaic.tool': request.tool, 'mosaic.delivered': delivered });
    if (!delivered) span.fail('the runtime did not take the answer');
    await appendEvent(view.paths.logsDir, {
      type: 'approval',
      agent: agent.name,
      id: request.id,
      decision,
      tool: request.tool,
      delivered,
      by: options.by,
    });
    return { agent: agent.name, request, decision, delivered };
  });
}
