import type { IncomingMessage, ServerResponse } from 'node:http';
import { MosaicError, UsageError, UserError } from '../core/errors.js';

/** An answer other than 200, with the JSON error body the API documents. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const MAX_BODY_BYTES = 1024 * 1024;

/** Headers every answer carries: no caching, no referrer, only our own scripts, never framed. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}

export function sendError(response: ServerResponse, error: unknown): void {
  const { status, message, hint } = describeError(error);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, status, hint === undefined ? { error: message } : { error: message, hint });
}

function describeError(error: unknown): { status: number; message: string; hint?: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  if (error instanceof UsageError || error instanceof UserError) {
    return { status: 400, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  }
  if (error instanceof MosaicError) return { status: 500, message: error.message };
  return { status: 500, message: error instanceof Error ? error.message : String(error) };
}

/** The request's JSON body, an object (at most MAX_BODY_BYTES). */
export async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'send the body as JSON (Content-Type: application/json)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** A field of a JSON body that must be a string when present. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `"${field}" must be a string`);
  return value;
}
