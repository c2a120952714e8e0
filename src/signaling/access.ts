/**
 * Access control shared by the signaling adapters (WebSocket, WHIP) and mask subscriptions:
 * bearer tokens (auth.ts), the browser Origin check for WebSocket upgrades, per-IP session
 * limits (ipLimits.ts), and the counters that show refusals. Built once per server from config.
 *
 * Order of checks for a new session: Origin (WebSocket upgrade only) → token → offer checks →
 * per-IP limits → server capacity (SessionRegistry).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import type { Metrics } from '../observability/metrics.js';
import { Authenticator, bearerToken, type AuthResult, type Endpoint } from './auth.js';
import { clientIp, IpLimiter, type IpAdmission } from './ipLimits.js';

/**
 * Whether a WebSocket upgrade's Origin is acceptable. No Origin: not a browser (browsers
 * always send it on WebSocket handshakes), allowed — the Origin check protects users'
 * browsers from other sites, tokens protect the server. `allow` empty: same origin only
 * (Origin's host:port equals the Host header); `*`: any; else exact `scheme://host[:port]`.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allow: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allow.includes('*')) return true;
  if (allow.length > 0) return allow.includes(origin);
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  return host !== undefined && u.host.toLowerCase() === host.toLowerCase();
}

/** Writes a plain-text HTTP refusal on a socket that asked for an upgrade, and ends it. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, message: string, extraHeaders = ''): void {
  const body = message + '\n';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`);
}

/** `WWW-Authenticate` value for a refused AuthResult (RFC 6750 §3). */
export function wwwAuthenticate(r: Extract<AuthResult, { ok: false }>): string {
  if (r.failure === 'missing_token') return 'Bearer realm="maskstream"';
  if (r.failure === 'insufficient_scope') return 'Bearer realm="maskstream", error="insufficient_scope"';
  return 'Bearer realm="maskstream", error="invalid_token"';
}

export class AccessControl {
  readonly auth: Authenticator;
  private readonly limiter: IpLimiter;

  constructor(private readonly config: Config, private readonly metrics: Metrics, opts: { now?: () => number } = {}) {
    this.auth = new Authenticator({ staticTokens: config.authTokens, whipToken: config.whipToken, secret: config.authSecret, ...(opts.now ? { now: opts.now } : {}) });
    this.limiter = new IpLimiter({ maxConcurrent: config.ipMaxSessions, perMinute: config.ipSessionsPerMinute, ...(opts.now ? { now: opts.now } : {}) });
  }

  /** The client address used for per-IP limits. */
  clientIp(req: IncomingMessage): string {
    return clientIp(req, this.config.trustProxyHops);
  }

  /** Origin check for a WebSocket upgrade; refuses it (403) and returns false when not allowed. */
  checkOrigin(req: IncomingMessage, socket: Duplex): boolean {
    if (originAllowed(req.headers.origin, req.headers.host, this.config.wsAllowOrigins)) return true;
    this.metrics.accessDenied.inc({ reason: 'origin' });
    refuseUpgrade(socket, 403, 'Forbidden', `pages from ${String(req.headers.origin).slice(0, 100)} may not open this WebSocket (see MASKSTREAM_WS_ALLOW_ORIGINS)`);
    return false;
  }

  /** The token of a request: the Authorization header, else `?token=` (browsers' WebSockets). */
  static requestToken(req: IncomingMessage, allowQuery: boolean): string | undefined {
    const header = bearerToken(req.headers.authorization);
    if (header !== undefined || !allowQuery) return header;
    return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined;
  }

  /** May this token create a session? Counts refusals. */
  publish(endpoint: Endpoint, token: string | undefined): AuthResult {
    return this.count(this.auth.authorizePublish(endpoint, token));
  }

  /** May this token manage / read session `id`? Counts refusals. */
  session(endpoint: Endpoint, token: string | undefined, id: string, action: 'manage' | 'read'): AuthResult {
    return this.count(this.auth.authorizeSession(endpoint, token, id, action));
  }

  /** Per-IP admission of a new session; counts refusals as sessions_refused. */
  admitIp(ip: string): IpAdmission {
    const a = this.limiter.admit(ip);
    if (!a.ok) this.metrics.refuse(a.reason);
    return a;
  }

  private count(r: AuthResult): AuthResult {
    if (!r.ok) this.metrics.accessDenied.inc({ reason: r.failure });
    return r;
  }
}
