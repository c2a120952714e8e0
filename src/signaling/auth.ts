/**
 * Bearer-token authentication and per-session authorization, one module for the three entry
 * points: WebSocket signaling (`/signal`), WHIP (`/whip…`) and mask subscriptions
 * (`/sessions/{id}/masks`). Pure apart from the clock (passed in) and node:crypto.
 *
 * Tokens:
 *  - static (config authTokens, and the legacy whipToken): full access — create sessions,
 *    manage any WHIP session, read any session's masks. For trusted services.
 *  - signed (config authSecret): `ms1.<payload>.<signature>`, payload = base64url of the JSON
 *    `{"scope":"publish"|"session:<uuid>"[ …], "exp":<Unix s>[, "sub":"…"]}`, signature =
 *    base64url(HMAC-SHA256(secret, "ms1." + payload)). Scopes (space-separated):
 *      `publish`         create sessions; manage (WHIP PATCH/DELETE) and read the masks of the
 *                        sessions created with this same token (its owner);
 *      `session:<uuid>`  read the masks of that one session (a viewer's token).
 *    Expired (`exp` in the past) or badly signed tokens are refused. Mint them with
 *    `mintToken()` (or `npm run token`), in the application server that knows the secret.
 *
 * When a token is required: authTokens or authSecret set → on every endpoint; only the legacy
 * whipToken set → on WHIP and mask subscriptions (as before), WebSocket signaling stays open.
 * Tokens are never logged; the owner of a session is kept as a SHA-256 fingerprint.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type Endpoint = 'ws' | 'whip' | 'masks';
/** Why a request was refused (metric label maskstream_access_denied_total{reason}). */
export type AuthFailure = 'missing_token' | 'invalid_token' | 'expired_token' | 'insufficient_scope';

export interface Principal {
  readonly kind: 'static' | 'signed' | 'anonymous';
  /** Scopes granted; static and anonymous principals hold `*`. */
  readonly scopes: readonly string[];
  /** SHA-256 of the token (hex), or "anonymous": identifies a session's owner. */
  readonly fingerprint: string;
}

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  /** status: 401 (no/bad token: WWW-Authenticate) or 403 (valid token, not for this). */
  | { readonly ok: false; readonly failure: AuthFailure; readonly status: 401 | 403; readonly message: string };

/** A signed token's claims. */
export interface TokenClaims {
  readonly scopes: readonly string[];
  /** Expiry, Unix seconds. */
  readonly exp: number;
  readonly sub?: string;
}

const PREFIX = 'ms1';
/** Longest signed token accepted, characters (a payload with a few scopes is ~150). */
export const MAX_TOKEN_CHARS = 2048;
/** Shortest HMAC secret accepted, characters (≥ 256 bits of base64 randomness). */
export const MIN_SECRET_CHARS = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A token that cannot be minted (bad scope, ttl or secret). */
export class TokenMintError extends Error {
  override readonly name = 'TokenMintError';
}

function sign(secret: string, signed: string): string {
  return createHmac('sha256', secret).update(signed).digest('base64url');
}

function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time equality of two strings (hashed first, so lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function validScope(s: string): boolean {
  return s === 'publish' || (s.startsWith('session:') && UUID.test(s.slice(8)));
}

/**
 * A signed token for `scope` (`publish`, `session:<uuid>`, or both space-separated), valid
 * for `ttlS` seconds from `nowMs`. `sub` is an opaque label for the holder (not checked).
 */
export function mintToken(secret: string, opts: { scope: string; ttlS: number; sub?: string; nowMs?: number }): string {
  if (secret.length < MIN_SECRET_CHARS) throw new TokenMintError(`the secret must be at least ${MIN_SECRET_CHARS} characters`);
  const scopes = opts.scope.split(' ').filter(Boolean);
  if (scopes.length === 0 || !scopes.every(validScope)) throw new TokenMintError(`scope must be "publish" and/or "session:<uuid>", got "${opts.scope}"`);
  if (!Number.isInteger(opts.ttlS) || opts.ttlS < 1 || opts.ttlS > 366 * 86400) throw new TokenMintError('ttlS must be an integer number of seconds in [1, 31622400]');
  const exp = Math.floor((opts.nowMs ?? Date.now()) / 1000) + opts.ttlS;
  const payload = Buffer.from(JSON.stringify({ scope: scopes.join(' '), exp, ...(opts.sub !== undefined ? { sub: opts.sub } : {}) })).toString('base64url');
  return `${PREFIX}.${payload}.${sign(secret, `${PREFIX}.${payload}`)}`;
}

/** Checks a signed token; returns its claims or why it is refused. Never throws. */
export function verifyToken(secret: string, token: string, nowMs: number): TokenClaims | 'invalid_token' | 'expired_token' {
  if (token.length > MAX_TOKEN_CHARS) return 'invalid_token';
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return 'invalid_token';
  const [, payload, signature] = parts as [string, string, string];
  if (!safeEqual(signature, sign(secret, `${PREFIX}.${payload}`))) return 'invalid_token';
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return 'invalid_token';
  }
  if (typeof v !== 'object' || v === null) return 'invalid_token';
  const { scope, exp, sub } = v as Record<string, unknown>;
  if (typeof scope !== 'string' || typeof exp !== 'number' || !Number.isFinite(exp)) return 'invalid_token';
  const scopes = scope.split(' ').filter(Boolean);
  if (scopes.length === 0 || !scopes.every(validScope)) return 'invalid_token';
  if (exp * 1000 <= nowMs) return 'expired_token';
  return { scopes, exp, ...(typeof sub === 'string' ? { sub } : {}) };
}

export interface AuthenticatorOptions {
  /** Static bearer tokens (full access). */
  readonly staticTokens: readonly string[];
  /** Legacy single token: static, but required only on WHIP and mask subscriptions when alone. */
  readonly whipToken?: string;
  /** HMAC secret for signed tokens; empty = signed tokens not accepted. */
  readonly secret?: string;
  /** Clock, ms since the Unix epoch. */
  readonly now?: () => number;
}

const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', scopes: Object.freeze(['*']), fingerprint: 'anonymous' });

export class Authenticator {
  private readonly statics: readonly string[];
  private readonly secret: string;
  private readonly strict: boolean;
  private readonly legacy: boolean;
  private readonly now: () => number;
  /** Session id → fingerprint of the token that created it (bounded by the live sessions). */
  private readonly owners = new Map<string, string>();

  constructor(opts: AuthenticatorOptions) {
    this.statics = [...opts.staticTokens, ...(opts.whipToken ? [opts.whipToken] : [])];
    this.secret = opts.secret ?? '';
    this.strict = opts.staticTokens.length > 0 || this.secret !== '';
    this.legacy = !!opts.whipToken;
    this.now = opts.now ?? Date.now;
  }

  /** Whether `endpoint` needs a token. */
  required(endpoint: Endpoint): boolean {
    return this.strict || (this.legacy && endpoint !== 'ws');
  }

  /** Who presents `token` on `endpoint` (anonymous when the endpoint needs no token). */
  authenticate(endpoint: Endpoint, token: string | undefined): AuthResult {
    if (!this.required(endpoint)) return { ok: true, principal: ANONYMOUS };
    if (token === undefined || token === '') {
      return { ok: false, failure: 'missing_token', status: 401, message: 'this endpoint needs a bearer token ("Authorization: Bearer <token>", or ?token= / the offer\'s "token" where a browser cannot set headers)' };
    }
    for (const s of this.statics) {
      if (safeEqual(token, s)) return { ok: true, principal: { kind: 'static', scopes: ['*'], fingerprint: fingerprint(token) } };
    }
    if (this.secret && token.startsWith(`${PREFIX}.`)) {
      const claims = verifyToken(this.secret, token, this.now());
      if (claims === 'expired_token') return { ok: false, failure: 'expired_token', status: 401, message: 'the token has expired; get a new one' };
      if (claims !== 'invalid_token') return { ok: true, principal: { kind: 'signed', scopes: claims.scopes, fingerprint: fingerprint(token) } };
    }
    return { ok: false, failure: 'invalid_token', status: 401, message: 'the bearer token is not valid for this server' };
  }

  /** May create a session. */
  authorizePublish(endpoint: Endpoint, token: string | undefined): AuthResult {
    const r = this.authenticate(endpoint, token);
    if (!r.ok || this.has(r.principal, 'publish')) return r;
    return { ok: false, failure: 'insufficient_scope', status: 403, message: 'this token may not create sessions (it needs the "publish" scope)' };
  }

  /**
   * May act on session `sessionId`: `manage` (WHIP PATCH/DELETE) is for its owner or a static
   * token; `read` (mask subscription) also for a token scoped `session:<sessionId>`.
   */
  authorizeSession(endpoint: Endpoint, token: string | undefined, sessionId: string, action: 'manage' | 'read'): AuthResult {
    const r = this.authenticate(endpoint, token);
    if (!r.ok) return r;
    const p = r.principal;
    if (p.scopes.includes('*') || this.owners.get(sessionId) === p.fingerprint) return r;
    if (action === 'read' && p.scopes.includes(`session:${sessionId}`)) return r;
    return { ok: false, failure: 'insufficient_scope', status: 403, message: `this token does not give access to session ${sessionId}` };
  }

  /** Records who created a session (call when it is admitted). */
  bindOwner(sessionId: string, principal: Principal): void {
    if (principal.kind === 'signed') this.owners.set(sessionId, principal.fingerprint);
  }

  /** Forgets a session's owner (call when it ends). */
  releaseOwner(sessionId: string): void {
    this.owners.delete(sessionId);
  }

  /** Sessions with a recorded owner (tests: bounded by the live sessions). */
  get ownedSessions(): number {
    return this.owners.size;
  }

  private has(p: Principal, scope: string): boolean {
    return p.scopes.includes('*') || p.scopes.includes(scope);
  }
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}
