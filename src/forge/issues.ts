import { UserError } from '../core/errors.js';
import type { ForgeClient } from './client.js';

/*
 * Issue writes. The title and body travel as JSON strings inside the request body: no shell, no
 * argv and no template ever sees them, so backticks, $(…), quotes and trailing newlines arrive
 * as they were given.
 */

export interface IssueResult {
  forge: string;
  repo: string;
  number: number;
  url: string;
}

export interface CommentResult {
  forge: string;
  repo: string;
  issue: number;
  comment_id: number;
  url: string;
}

const repoName = (client: ForgeClient): string => `${client.target.repo.owner}/${client.target.repo.name}`;

export async function createIssue(client: ForgeClient, title: string, body: string): Promise<IssueResult> {
  if (title.trim() === '') throw new UserError('the issue title is empty');
  const made = await client.post<{ number?: unknown; html_url?: unknown }>(client.repoPath('issues'), { title, body });
  if (typeof made?.number !== 'number') throw new UserError(`${client.host} created something, but its answer has no issue number`);
  return {
    forge: client.target.kind,
    repo: repoName(client),
    number: made.number,
    url: typeof made.html_url === 'string' ? made.html_url : '',
  };
}

export async function commentOnIssue(client: ForgeClient, issue: number, body: string): Promise<CommentResult> {
  if (body === '') throw new UserError('the comment body is empty');
  const made = await client.post<{ id?: unknown; html_url?: unknown }>(client.repoPath('issues', issue, 'comments'), { body });
  return {
    forge: client.target.kind,
    repo: repoName(client),
    issue,
    comment_id: typeof made?.id === 'number' ? made.id : 0,
    url: typeof made?.html_url === 'string' ? made.html_url : '',
  };
}

/**
 * Bytes → the exact string they encode. Invalid UTF-8 is refused (it could not travel in JSON
 * unchanged), and a leading byte-order mark is kept, not swallowed.
 */
export function decodeBody(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UserError(`${what} is not valid UTF-8: the forge API takes text`);
  }
}
