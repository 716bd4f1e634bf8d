import type { IncomingMessage } from 'node:http';
import { sameToken } from './token.js';

/**
 * The cookie's name carries the port: browsers share cookies across ports of one host, so two
 * dashboards on one machine (two rosters) would otherwise sign each other out.
 */
export const tokenCookie = (port: number): string => `mosaic_token_${port}`;

/** How a request proved it holds the token. */
export type Credential = 'bearer' | 'cookie';

/** The cookie the page gets for `/?token=…`: never readable by scripts, never sent cross-site. */
export const sessionCookie = (name: string, token: string): string => `${name}=${token}; HttpOnly; SameSite=Strict; Path=/`;

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** Which credential of the request carries the token, if any does. */
export function credentialOf(request: IncomingMessage, token: string, cookieName: string): Credential | undefined {
  const header = request.headers.authorization;
  const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
  if (bearer !== undefined && sameToken(token, bearer)) return 'bearer';
  const fromCookie = cookie(request.headers.cookie, cookieName);
  if (fromCookie !== undefined && sameToken(token, fromCookie)) return 'cookie';
  return undefined;
}

/**
 * For state-changing requests and WebSocket upgrades: the Origin must be this server's own. A
 * browser always sends one on these; a cookie without it is refused (fail closed), a script with
 * the Bearer header may leave it out.
 */
export function originAllowed(request: IncomingMessage, credential: Credential): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return credential === 'bearer';
  const host = request.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/** Failed authentications per client address: after `max` within `windowMs`, refused for `lockMs`. */
export class FailedAuthLimiter {
  private readonly failures = new Map<string, { times: number[]; lockedUntil: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly max = 10,
    private readonly windowMs = 60_000,
    private readonly lockMs = 60_000,
  ) {}

  locked(address: string): boolean {
    const entry = this.failures.get(address);
    return entry !== undefined && entry.lockedUntil > this.now();
  }

  fail(address: string): void {
    const now = this.now();
    const entry = this.failures.get(address) ?? { times: [], lockedUntil: 0 };
    entry.times = [...entry.times.filter((at) => now - at < this.windowMs), now];
    if (entry.times.length >= this.max) {
      entry.lockedUntil = now + this.lockMs;
      entry.times = [];
    }
    this.failures.set(address, entry);
    if (this.failures.size > 10_000) this.forgetOld(now); // bound the memory a scan could take
  }

  private forgetOld(now: number): void {
    for (const [address, entry] of this.failures) {
      if (entry.lockedUntil <= now && entry.times.every((at) => now - at >= this.windowMs)) this.failures.delete(address);
    }
  }
}
