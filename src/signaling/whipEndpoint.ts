/**
 * WHIP ingest endpoint (RFC 9725), an Express router: any WHIP publisher POSTs an SDP offer
 * to /whip and gets a session created through the same SessionRegistry/Session as WebSocket
 * signaling. WHIP has no data channel: the masks of a WHIP session go to WebSocket
 * subscribers (GET /sessions/{id}/masks, maskSubscriptions.ts).
 *
 *   POST    /whip                 application/sdp offer → 201, answer, Location, ETag, Link
 *   PATCH   /whip/sessions/{id}   application/trickle-ice-sdpfrag → 204 (ICE restart: 422)
 *   DELETE  /whip/sessions/{id}   → 200, the session ends
 *   OPTIONS /whip, /whip/sessions/{id}   CORS preflight, Accept-Post / Accept-Patch
 *
 * Errors: 400 (not SDP, no video, unsupported codecs, absurd declared size, too many
 * candidates, bad fragment), 401 (bearer token missing, invalid or expired), 403 (the token
 * lacks the scope: not `publish`, or not this session's owner), 404 (unknown session), 405,
 * 412 (If-Match differs from the ETag), 413 (body over MAX_WHIP_BODY_BYTES), 415 (media type),
 * 422 (ICE restart), 429 + Retry-After (per-IP session rate or count), 503 + Retry-After (full
 * or draining). Every body of an error is one line of text saying what to change.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type Request, type Response } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { WHIP_CODES, WHIP_METHODS, type Metrics } from '../observability/metrics.js';
import { ServerDrainingError, ServerFullError, type SessionRegistry } from '../session/sessionRegistry.js';
import { UnsupportedOfferError, type Session } from '../session/session.js';
import { RETRY_AFTER_DRAINING_S, RETRY_AFTER_FULL_S } from '../shared/protocol.js';
import { AccessControl, wwwAuthenticate } from './access.js';
import type { AuthResult } from './auth.js';
import { checkOffer, MAX_SESSION_CANDIDATES } from './offerCheck.js';
import {
  hasMediaType, iceServerLinks, isIceRestart, MAX_WHIP_BODY_BYTES, parseSdpFrag, SDP_TYPE, SDPFRAG_TYPE, SdpFragError,
} from './whip.js';

/** Response headers a cross-origin publisher page must be able to read. */
const EXPOSED_HEADERS = 'Location, Link, ETag, Accept-Patch, Accept-Post, Retry-After, WWW-Authenticate, Access-Control-Allow-Methods';
const ALLOWED_METHODS = 'POST, PATCH, DELETE, OPTIONS';
// ETag: the eyevinn client (and others) send the ETag back in a header of that name instead of If-Match.
const ALLOWED_HEADERS = 'Authorization, Content-Type, If-Match, ETag';
/** How long a browser may cache a preflight answer, s. */
const PREFLIGHT_MAX_AGE_S = 600;

class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

/** Reads the request body as UTF-8, refusing more than `limit` bytes (declared or streamed). */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLargeError(`the body of ${declared} bytes exceeds the limit of ${limit}`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) throw new PayloadTooLargeError(`the body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface WhipResource {
  readonly session: Session;
  /** Identifies the ICE session (RFC 9725 §4.3.1); fixed, as ICE restarts are not supported. */
  readonly etag: string;
  /** ICE candidates received so far (offer + PATCHes), bounded by MAX_SESSION_CANDIDATES. */
  candidates: number;
}

export interface WhipDeps {
  readonly registry: SessionRegistry;
  readonly config: Config;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly access: AccessControl;
}

export class WhipEndpoint {
  readonly router = express.Router();
  private readonly resources = new Map<string, WhipResource>();
  private readonly log: Logger;

  constructor(private readonly deps: WhipDeps) {
    this.log = deps.logger.child({ component: 'whip' });
    const r = this.router;
    r.use((req, res, next) => {
      if (req.path === '/whip' || req.path.startsWith('/whip/')) this.instrument(req, res);
      next();
    });
    r.options('/whip', (req, res) => this.options(req, res, 'endpoint'));
    r.options('/whip/sessions/:id', (req, res) => this.options(req, res, 'session'));
    r.post('/whip', (req, res) => this.guard(res, this.post(req, res)));
    r.patch('/whip/sessions/:id', (req, res) => this.guard(res, this.patch(req, res)));
    r.delete('/whip/sessions/:id', (req, res) => this.delete(req, res));
    r.all('/whip', (req, res) => this.notAllowed(req, res, 'POST, OPTIONS'));
    r.all('/whip/sessions/:id', (req, res) => this.notAllowed(req, res, 'PATCH, DELETE, OPTIONS'));
  }

  /** The WHIP session URL of a session (absolute when publicUrl is configured). */
  sessionUrl(id: string): string {
    return `${this.deps.config.publicUrl}/whip/sessions/${id}`;
  }

  private instrument(req: Request, res: Response): void {
    const method = req.method as (typeof WHIP_METHODS)[number];
    if (!WHIP_METHODS.includes(method)) return;
    res.on('finish', () => {
      const code = String(res.statusCode) as (typeof WHIP_CODES)[number];
      if (WHIP_CODES.includes(code)) this.deps.metrics.whipRequests.inc({ method, code });
    });
  }

  private cors(req: Request, res: Response): void {
    const allowed = this.deps.config.corsAllowOrigins;
    const origin = req.headers.origin;
    if (allowed.includes('*')) res.set('Access-Control-Allow-Origin', '*');
    else if (origin && allowed.includes(origin)) res.set('Access-Control-Allow-Origin', origin).append('Vary', 'Origin');
    res.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  }

  private text(res: Response, status: number, message: string): void {
    res.status(status).type('text/plain; charset=utf-8').send(message + '\n');
  }

  /**
   * Sends 401/403 unless the request's bearer token may do this (create a session, or manage
   * session `id`); returns the verdict, ok or not.
   */
  private checkAuth(req: Request, res: Response, sessionId?: string): AuthResult {
    const token = AccessControl.requestToken(req, false);
    const { access } = this.deps;
    const r = sessionId === undefined ? access.publish('whip', token) : access.session('whip', token, sessionId, 'manage');
    if (r.ok) return r;
    res.set('WWW-Authenticate', wwwAuthenticate(r));
    if (req.method === 'POST') this.deps.metrics.refuse('unauthorized');
    this.text(res, r.status, r.message);
    return r;
  }

  private guard(res: Response, p: Promise<void>): void {
    p.catch((e: Error) => {
      this.log.error('WHIP request failed', { error: e.message });
      if (!res.headersSent) this.text(res, 500, 'internal error; see the server log');
    });
  }

  private options(req: Request, res: Response, what: 'endpoint' | 'session'): void {
    this.cors(req, res);
    res.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.set('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.set('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
    if (what === 'endpoint') {
      res.set('Accept-Post', SDP_TYPE);
      // ICE servers (with TURN credentials) only to an authorized, non-preflight OPTIONS (RFC 9725 §4.6).
      const preflight = req.headers['access-control-request-method'] !== undefined;
      const { auth } = this.deps.access;
      if (!preflight && auth.required('whip') && auth.authenticate('whip', AccessControl.requestToken(req, false)).ok) this.appendIceLinks(res);
    } else {
      res.set('Accept-Patch', SDPFRAG_TYPE);
    }
    res.status(204).end();
  }

  private appendIceLinks(res: Response): void {
    const c = this.deps.config;
    for (const link of iceServerLinks(c.clientIceServers, c.clientIceUsername, c.clientIceCredential)) res.append('Link', link);
  }

  private notAllowed(req: Request, res: Response, allow: string): void {
    this.cors(req, res);
    res.set('Allow', allow);
    this.text(res, 405, `${req.method} is not supported here; allowed: ${allow}`);
  }

  private unavailable(res: Response, e: ServerFullError): void {
    res.set('Retry-After', String(e instanceof ServerDrainingError ? RETRY_AFTER_DRAINING_S : RETRY_AFTER_FULL_S));
    this.text(res, 503, e.message);
  }

  private async post(req: Request, res: Response): Promise<void> {
    this.cors(req, res);
    const auth = this.checkAuth(req, res);
    if (!auth.ok) return;
    const { registry, metrics, access } = this.deps;
    if (!hasMediaType(req.headers['content-type'], SDP_TYPE)) {
      metrics.refuse('bad_request');
      return this.text(res, 415, `send the offer with Content-Type: ${SDP_TYPE}`);
    }
    let offer: string;
    try {
      offer = await readBody(req, MAX_WHIP_BODY_BYTES);
    } catch (e) {
      if (!(e instanceof PayloadTooLargeError)) throw e;
      metrics.refuse('bad_request');
      res.set('Connection', 'close'); // the rest of the body is not read
      return this.text(res, 413, `${e.message}; an SDP offer is a few kB`);
    }
    const problem = checkOffer(offer, { maxFramePixels: this.deps.config.maxFramePixels });
    if (problem) {
      metrics.refuse(problem.kind === 'no_video' || problem.kind === 'unsupported_codec' || problem.kind === 'resolution_too_large' ? 'unsupported_offer' : 'bad_request');
      return this.text(res, 400, problem.message);
    }
    const admission = access.admitIp(access.clientIp(req));
    if (!admission.ok) {
      res.set('Retry-After', String(admission.retryAfterS));
      return this.text(res, 429, admission.message);
    }
    let session: Session;
    try {
      session = registry.create(() => {
        admission.release();
        access.auth.releaseOwner(session.id);
        this.resources.delete(session.id);
      }, 'whip');
    } catch (e) {
      admission.release();
      if (e instanceof ServerFullError) return this.unavailable(res, e);
      throw e;
    }
    access.auth.bindOwner(session.id, auth.principal);
    let answer: string;
    try {
      answer = await session.answer(offer);
    } catch (e) {
      session.close('error');
      if (e instanceof UnsupportedOfferError) {
        metrics.refuse('unsupported_offer');
        return this.text(res, 400, e.message);
      }
      throw e;
    }
    if (session.closed) return this.text(res, 503, 'the session ended while it was being answered (server shutting down?); retry');
    const etag = `"${randomBytes(12).toString('base64url')}"`;
    this.resources.set(session.id, { session, etag, candidates: offer.split('\na=candidate:').length - 1 });
    res.status(201).set({ 'Content-Type': SDP_TYPE, Location: this.sessionUrl(session.id), ETag: etag, 'Accept-Patch': SDPFRAG_TYPE });
    this.appendIceLinks(res);
    res.send(answer);
  }

  private async patch(req: Request, res: Response): Promise<void> {
    this.cors(req, res);
    if (!this.checkAuth(req, res, String(req.params.id)).ok) return;
    const resource = this.resources.get(String(req.params.id));
    if (!resource || resource.session.closed) return this.text(res, 404, 'no such WHIP session (it ended, or lives on another instance)');
    if (!hasMediaType(req.headers['content-type'], SDPFRAG_TYPE)) return this.text(res, 415, `send trickled candidates with Content-Type: ${SDPFRAG_TYPE}`);
    const ifMatch = req.headers['if-match'];
    if (ifMatch === '*') return this.text(res, 422, 'ICE restarts are not supported: DELETE this session and POST a new offer');
    if (ifMatch !== undefined && ifMatch !== resource.etag) return this.text(res, 412, `If-Match does not match this session's ETag ${resource.etag}`);
    let body: string;
    try {
      body = await readBody(req, MAX_WHIP_BODY_BYTES);
    } catch (e) {
      if (!(e instanceof PayloadTooLargeError)) throw e;
      res.set('Connection', 'close');
      return this.text(res, 413, e.message);
    }
    let frag;
    try {
      frag = parseSdpFrag(body);
    } catch (e) {
      if (e instanceof SdpFragError) return this.text(res, 400, e.message);
      throw e;
    }
    if (isIceRestart(frag, resource.session.remoteIce)) {
      return this.text(res, 422, 'ICE restarts (new ice-ufrag/ice-pwd) are not supported: DELETE this session and POST a new offer');
    }
    resource.candidates += frag.candidates.length;
    if (resource.candidates > MAX_SESSION_CANDIDATES) {
      return this.text(res, 400, `more than ${MAX_SESSION_CANDIDATES} ICE candidates for this session; the rest are refused`);
    }
    for (const c of frag.candidates) {
      try {
        await resource.session.addCandidate(c);
      } catch (e) {
        return this.text(res, 400, `candidate rejected: ${(e as Error).message}`);
      }
    }
    res.status(204).end();
  }

  private delete(req: Request, res: Response): void {
    this.cors(req, res);
    if (!this.checkAuth(req, res, String(req.params.id)).ok) return;
    const resource = this.resources.get(String(req.params.id));
    if (!resource) return this.text(res, 404, 'no such WHIP session (it ended, or lives on another instance)');
    resource.session.close('bye');
    this.text(res, 200, 'session ended');
  }
}
