import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { oneLine } from '../core/text.js';
import { pendingDir } from '../roster/paths.js';
import { ensurePrivateDir, listDirectory, writeFileAtomic } from '../system/fs.js';

/**
 * Open permission requests, one file per request under `<runDir>/pending/<agent>/`:
 * `<id>.json` is written by the waiting hook (framework/bin/mosaic-permission) or the opencode
 * plugin, `<id>.decision` by `mosaic agent approve|deny`. The waiter answers the runtime and
 * removes both; on its timeout it removes the request and the runtime's own prompt appears.
 * A request with a decision the waiter has not taken yet is still open: it is listed with its
 * `answered` decision until the waiter takes it (or gives up).
 * Files, not a socket: the waiter and mosaic never need to be alive at the same moment, and a
 * request survives a mosaic restart.
 */
export interface PendingRequest {
  id: string;
  agent: string;
  runtime: string;
  tool: string;
  summary: string;
  created: string;
  expires: string | null;
  pid: number | null;
  /** The decision `agent approve|deny` wrote and the waiter has not taken yet; null: not answered. */
  answered: Answer | null;
}

export type Decision = 'allow' | 'deny';

export interface Answer {
  decision: Decision;
  by: string;
  at: string;
}

export const REQUEST_ID = /^[A-Za-z0-9_.-]{1,80}$/;

export { pendingDir };

// The tool and summary come from another process (the hook, the opencode plugin) and quote what the
// model asked for: oneLine keeps them to one line with no control characters, as the hook's own summary is.

function parseRequest(text: string, agent: string, id: string): PendingRequest | undefined {
  try {
    const raw = JSON.parse(text) as Partial<PendingRequest>;
    if (raw.id !== id) return undefined; // a file renamed by hand, or torn: not ours to answer
    return {
      id,
      agent,
      runtime: oneLine(raw.runtime ?? 'unknown'),
      tool: oneLine(raw.tool ?? 'unknown'),
      summary: oneLine(raw.summary ?? ''),
      created: String(raw.created ?? ''),
      expires: typeof raw.expires === 'string' ? raw.expires : null,
      pid: typeof raw.pid === 'number' ? raw.pid : null,
      answered: null,
    };
  } catch {
    return undefined;
  }
}

/** A `<id>.decision` file as `decide` writes it; undefined when it is gone or not one. */
function readAnswer(file: string): Answer | undefined {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { behavior?: unknown; by?: unknown; at?: unknown };
    if (raw.behavior !== 'allow' && raw.behavior !== 'deny') return undefined;
    return { decision: raw.behavior, by: oneLine(raw.by ?? ''), at: String(raw.at ?? '') };
  } catch {
    return undefined;
  }
}

/**
 * The agent's open requests, oldest first, those answered but not yet taken by their waiter
 * included (with `answered`). Requests whose waiter is gone (pid dead) or past their expiry are
 * left out: nobody would receive an answer. Synchronous: `fleet ps` reads it per agent.
 */
export function listPending(runDir: string, agent: string, now: Date, alive: (pid: number) => boolean): PendingRequest[] {
  const dir = pendingDir(runDir, agent);
  const names = listDirectory(dir);
  const decided = new Set(names.filter((n) => n.endsWith('.decision')).map((n) => n.slice(0, -'.decision'.length)));
  const requests: PendingRequest[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const id = name.slice(0, -'.json'.length);
    if (!REQUEST_ID.test(id)) continue;
    let text: string;
    try {
      text = readFileSync(path.join(dir, name), 'utf8');
    } catch {
      continue; // answered and removed while we listed
    }
    const request = parseRequest(text, agent, id);
    if (!request) continue;
    if (request.expires && Date.parse(request.expires) <= now.getTime()) continue;
    if (request.pid !== null && !alive(request.pid)) continue;
    if (decided.has(id)) request.answered = readAnswer(path.join(dir, `${id}.decision`)) ?? null;
    requests.push(request);
  }
  return requests.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
}

/**
 * Answer one open request: the one named, or the agent's only one (its only unanswered one, else
 * its only one). Writes the decision file the waiter watches; the waiter answers the runtime.
 * Refuses an unknown id, an ambiguous choice, an agent with nothing open, and the opposite of an
 * answer the waiter has not taken yet (it may be reading it), and says what to run instead. The
 * same answer again is written again (and waited for again).
 */
export async function decide(
  runDir: string,
  open: readonly PendingRequest[],
  agent: string,
  id: string | undefined,
  behavior: Decision,
  details: { message?: string; by: string; at: Date },
): Promise<PendingRequest> {
  let request: PendingRequest | undefined;
  if (id !== undefined) {
    request = open.find((r) => r.id === id);
    if (!request) {
      throw new UserError(`agent "${agent}" has no open permission request "${id}"`, {
        hint: open.length
          ? `open: ${open.map((r) => r.id).join(', ')}`
          : 'it may have been answered, timed out (the prompt is then in the pane: `mosaic agent attach`), or never existed; see `mosaic fleet pending`',
      });
    }
  } else if (open.filter((r) => !r.answered).length === 1) {
    request = open.find((r) => !r.answered);
  } else if (open.length === 1) {
    request = open[0];
  } else if (open.length === 0) {
    throw new UserError(`agent "${agent}" has no open permission request`, {
      hint: 'see `mosaic fleet pending`; a request that timed out is answered in the pane (`mosaic agent attach`)',
    });
  } else {
    throw new UserError(`agent "${agent}" has ${open.length} open permission requests; name one`, {
      hint: `mosaic agent ${behavior === 'allow' ? 'approve' : 'deny'} ${agent} <id>   (open: ${open.map((r) => r.id).join(', ')})`,
    });
  }
  const answered = request!.answered;
  if (answered && answered.decision !== behavior) {
    const verb = (d: Decision): string => (d === 'allow' ? 'approved' : 'denied');
    throw new UserError(
      `request ${request!.id} of agent "${agent}" was already ${verb(answered.decision)}${answered.by ? ` by ${answered.by}` : ''}${answered.at ? ` at ${answered.at}` : ''}, and the runtime has not taken that answer yet`,
      {
        hint: `mosaic does not change an answer the runtime may be reading; if it never takes it, answer in the pane when the request times out (mosaic agent attach ${agent})`,
      },
    );
  }
  const dir = pendingDir(runDir, agent);
  await ensurePrivateDir(dir);
  const decision = {
    behavior,
    ...(details.message !== undefined ? { message: details.message } : {}),
    by: details.by,
    at: details.at.toISOString(),
  };
  await writeFileAtomic(path.join(dir, `${request!.id}.decision`), `${JSON.stringify(decision)}\n`);
  return request!;
}
