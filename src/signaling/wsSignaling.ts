/**
 * WebSocket signaling adapter: one socket ↔ at most one session. Parses and validates
 * every message (protocol.ts), answers offers, applies trickled candidates, and ends the
 * session on bye or socket close. Errors go back as {type:"error"} with a specific code
 * (counted in maskstream_signaling_errors_total).
 *
 * Bounds and closing policy (the process and other sockets never notice a bad client):
 *  - upgrade: a page from a foreign Origin gets 403 before the upgrade (access.ts);
 *  - frames over MAX_SIGNAL_MESSAGE_BYTES: `too_large`, socket closed 1009; over
 *    MAX_SIGNAL_FRAME_BYTES the ws library closes 1009 without reading them;
 *  - unreadable messages (bad JSON, wrong types, unknown type, binary): an error each, and
 *    the socket is closed (1008) at the MAX_PROTOCOL_ERRORS-th;
 *  - no / bad token, per-IP limits, server full, too many candidates, no offer within
 *    connectTimeoutMs: error, then the socket is closed (1008), which ends its session;
 *  - a session that ends for any other reason: bye, then the socket is closed (1000);
 *  - every PING_INTERVAL_MS each socket is pinged (browsers answer by themselves); one that
 *    has not answered the previous ping is terminated — a dead TCP peer is noticed, and idle
 *    timeouts of proxies in front (nginx: 60 s) do not cut a quiet signaling socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ServerDrainingError, ServerFullError, type SessionRegistry } from '../session/sessionRegistry.js';
import { Session, UnsupportedOfferError } from '../session/session.js';
import type { EngineInfo } from '../inference/types.js';
import { AccessControl } from './access.js';
import { checkOffer, MAX_SESSION_CANDIDATES } from './offerCheck.js';
import {
  MAX_PROTOCOL_ERRORS, MAX_SIGNAL_FRAME_BYTES, MAX_SIGNAL_MESSAGE_BYTES, parseClientMessage, ProtocolError, RETRY_AFTER_DRAINING_S,
  RETRY_AFTER_FULL_S, type ErrorCode, type ServerMessage,
} from '../shared/protocol.js';

export interface WsSignalingDeps {
  readonly registry: SessionRegistry;
  readonly engineInfo: EngineInfo;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly access: AccessControl;
  readonly config: Config;
}

/** How often signaling sockets are pinged, ms; a socket silent for two intervals is dropped. */
export const PING_INTERVAL_MS = 25_000;

/** WebSocket close codes (RFC 6455 §7.4.1). */
const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;
const CLOSE_INTERNAL = 1011;

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

export class WsSignaling {
  readonly wss: WebSocketServer;
  /** Sockets that answered (or were opened) since the last ping round. */
  private readonly alive = new WeakSet<WebSocket>();
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly deps: WsSignalingDeps) {
    // maxPayload: frames above it are refused by ws (1009) before they are buffered; between
    // MAX_SIGNAL_MESSAGE_BYTES and it the client gets a `too_large` error first.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_FRAME_BYTES, perMessageDeflate: false });
    this.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => this.onConnection(ws, req));
    this.pinger = setInterval(() => {
      for (const ws of this.wss.clients) {
        if (!this.alive.has(ws)) {
          ws.terminate();
          continue;
        }
        this.alive.delete(ws);
        ws.ping();
      }
    }, PING_INTERVAL_MS);
    this.pinger.unref();
  }

  /** Upgrade of `/signal`: Origin check, then the WebSocket handshake. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.deps.access.checkOrigin(req, socket)) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const { registry, metrics, access, config } = this.deps;
    const log = this.deps.logger;
    const ip = access.clientIp(req);
    const upgradeToken = AccessControl.requestToken(req, true);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    let session: Session | undefined;
    let starting = false;
    let errors = 0;
    let candidates = 0;
    const send = (m: ServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const fail = (code: ErrorCode, message: string, closeCode?: number, extra: { retryAfterMs?: number } = {}) => {
      metrics.signalingErrors.inc({ code });
      send({ type: 'error', code, message, ...extra });
      if (closeCode !== undefined) ws.close(closeCode, code);
    };
    // A well-behaved client makes no protocol errors; a few are tolerated (one bad message
    // should not cost a live session), a stream of them is not.
    const strike = (code: ErrorCode, message: string) => {
      errors++;
      if (errors >= MAX_PROTOCOL_ERRORS) fail(code, `${message} (${errors} bad messages: closing the socket)`, CLOSE_POLICY);
      else fail(code, message);
    };
    const idle = setTimeout(() => {
      if (!session && !starting) fail('timeout', `no offer within ${config.connectTimeoutMs} ms of connecting`, CLOSE_POLICY);
    }, config.connectTimeoutMs);

    const onMessage = (data: RawData, isBinary: boolean): void => {
      const bytes = byteLength(data);
      if (bytes > MAX_SIGNAL_MESSAGE_BYTES) return fail('too_large', `message of ${bytes} bytes exceeds the limit of ${MAX_SIGNAL_MESSAGE_BYTES}`, CLOSE_TOO_BIG);
      if (isBinary) return strike('bad_message', 'signaling messages are JSON text frames');
      let msg;
      try {
        msg = parseClientMessage(data.toString());
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        if (e.code === 'too_large') return fail(e.code, e.message, CLOSE_TOO_BIG);
        return strike(e.code, e.message);
      }
      switch (msg.type) {
        case 'offer': {
          if (session || starting) return strike('bad_state', 'this socket already has a session; open a new socket for another');
          const auth = access.publish('ws', msg.token ?? upgradeToken);
          if (!auth.ok) {
            metrics.refuse('unauthorized');
            return fail(auth.failure === 'insufficient_scope' ? 'forbidden' : 'unauthorized', auth.message, CLOSE_POLICY);
          }
          const problem = checkOffer(msg.sdp, { maxFramePixels: config.maxFramePixels });
          if (problem) {
            if (problem.kind === 'too_many_candidates') {
              metrics.refuse('bad_request');
              return fail('too_many_candidates', problem.message, CLOSE_POLICY);
            }
            metrics.refuse(problem.kind === 'not_sdp' || problem.kind === 'too_many_media' ? 'bad_request' : 'unsupported_offer');
            return fail('unsupported_offer', problem.message);
          }
          const admission = access.admitIp(ip);
          if (!admission.ok) return fail('rate_limited', admission.message, CLOSE_POLICY, { retryAfterMs: admission.retryAfterS * 1000 });
          starting = true;
          let s: Session;
          try {
            s = registry.create((reason) => {
              admission.release();
              access.auth.releaseOwner(s.id);
              const bye = Session.byeReason(reason);
              send({ type: 'bye', reason: bye });
              // One session per socket: once it has ended, the socket has nothing left to do.
              if (ws.readyState === ws.OPEN) ws.close(1000, bye);
            });
          } catch (e) {
            admission.release();
            if (e instanceof ServerFullError) {
              // Draining answers like full (clients already retry on server_full), with a shorter hint.
              const retryAfterMs = 1000 * (e instanceof ServerDrainingError ? RETRY_AFTER_DRAINING_S : RETRY_AFTER_FULL_S);
              return fail('server_full', e.message, CLOSE_POLICY, { retryAfterMs });
            }
            throw e;
          }
          access.auth.bindOwner(s.id, auth.principal);
          session = s;
          candidates = msg.sdp.split('\na=candidate:').length - 1;
          s.answer(msg.sdp).then(
            (sdp) => {
              if (s.closed) return;
              const info = this.deps.engineInfo;
              send({ type: 'answer', sessionId: s.id, sdp, model: info.model, backend: info.backend, provider: info.provider, maskWidth: info.maskWidth, maskHeight: info.maskHeight });
            },
            (e: Error) => {
              if (e instanceof UnsupportedOfferError) {
                metrics.refuse('unsupported_offer');
                fail('unsupported_offer', e.message);
              } else {
                log.error('answering an offer failed', { error: e.message });
                fail('internal', 'the server could not answer this offer');
              }
              session = undefined;
              starting = false;
              s.close('error');
            },
          );
          return;
        }
        case 'candidate':
          if (!session) return strike('bad_state', 'send an offer before candidates');
          if (msg.candidate !== '' && ++candidates > MAX_SESSION_CANDIDATES) {
            return fail('too_many_candidates', `more than ${MAX_SESSION_CANDIDATES} ICE candidates for one session`, CLOSE_POLICY);
          }
          session.addCandidate(msg).catch((e: Error) => strike('bad_message', `candidate rejected: ${e.message}`));
          return;
        case 'bye':
          session?.close('bye');
          session = undefined;
          ws.close(1000, 'bye');
          return;
      }
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        onMessage(data, isBinary);
      } catch (e) {
        // A bug must cost this socket (and its session), not the process and every other session.
        log.error('signaling message handling failed', { error: (e as Error).message });
        fail('internal', 'the server failed on this message; see its log', CLOSE_INTERNAL);
      }
    });
    ws.on('close', () => {
      clearTimeout(idle);
      session?.close('socket_closed');
      session = undefined;
    });
    ws.on('error', (e) => log.debug('signaling socket error', { error: e.message }));
  }

  close(): void {
    clearInterval(this.pinger);
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
  }
}
