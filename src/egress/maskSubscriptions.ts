/**
 * WebSocket mask subscriptions: `GET /sessions/{id}/masks` (upgrade) receives the session's
 * binary mask messages (maskCodec.ts), exactly what its data channel gets. The only way to
 * get the masks of a WHIP session; any session may have up to maxMaskSubscribers of them.
 *
 * Auth (src/signaling/auth.ts): when tokens are configured, every subscription needs one that
 * may read this session (static token, the session's owner, or a `session:<id>` token), as
 * `Authorization: Bearer <token>` or `?token=<token>` (browsers cannot set WebSocket headers).
 * The request URL is never logged. Refusals happen before the upgrade, as plain HTTP:
 * 401 (token missing/invalid), 403 (token for another session), 404 (no such session),
 * 429 (subscriber limit).
 *
 * A subscriber may send text acks (`{"type":"ack","seq":n,"e2eMs":…}`), like the data channel.
 * When the session ends the socket is closed with code 1000 and the ByeReason as reason
 * (`bye`, `shutdown`, `timeout`, …). A subscriber over maxBufferedBytes of backlog misses
 * masks (counted in maskstream_mask_messages_dropped_total{sink="subscriber"}).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { MAX_ACK_BYTES } from '../shared/protocol.js';
import { SubscriberLimitError, type SubscriberPort } from './maskFanout.js';

/** `/sessions/{id}/masks` → id, else undefined. Ids are UUIDs (Session.id). */
export function parseMasksPath(pathname: string): string | undefined {
  return /^\/sessions\/([0-9a-f-]{36})\/masks$/.exec(pathname)?.[1];
}

/** What a subscription needs of a session (Session implements it). */
export interface SubscribableSession {
  readonly id: string;
  readonly closed: boolean;
  readonly stats: { readonly subscribers: number };
  /** Adds a subscriber; returns its removal; throws SubscriberLimitError past the limit. */
  addSubscriber(port: SubscriberPort): () => void;
  /** A text ack from the subscriber (same format as on the data channel). */
  acceptAck(text: string): void;
}

export interface MaskSubscriptionDeps {
  /** The live session with this id, if any (the session registry). */
  readonly lookup: (sessionId: string) => SubscribableSession | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /**
   * Whether the request's token (Authorization header or ?token=) may read session
   * `sessionId`'s masks (AccessControl.session): ok, or the status (401/403) and why not.
   */
  readonly authorized: (req: IncomingMessage, sessionId: string) => { ok: true } | { ok: false; status: 401 | 403; message: string; wwwAuthenticate: string };
  /** Subscribers admitted per session (config maxMaskSubscribers). */
  readonly maxPerSession: number;
}

function refuse(socket: Duplex, status: number, text: string, extra = ''): void {
  const body = text + '\n';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
}

export class MaskSubscriptions {
  // maxPayload: acks are tiny; anything bigger closes the socket (1009) before it is buffered.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_ACK_BYTES, perMessageDeflate: false });
  private readonly log: Logger;

  constructor(private readonly deps: MaskSubscriptionDeps) {
    this.log = deps.logger.child({ component: 'mask-subscriptions' });
  }

  /** Handles an upgrade request whose path parseMasksPath() accepted. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, sessionId: string): void {
    const auth = this.deps.authorized(req, sessionId);
    if (!auth.ok) {
      return refuse(socket, auth.status, auth.status === 401 ? 'Unauthorized' : 'Forbidden', `WWW-Authenticate: ${auth.wwwAuthenticate}\r\n`);
    }
    const session = this.deps.lookup(sessionId);
    if (!session || session.closed) return refuse(socket, 404, 'Not Found');
    if (session.stats.subscribers >= this.deps.maxPerSession) return refuse(socket, 429, 'Too Many Requests');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const port: SubscriberPort = {
        get readyState() {
          return ws.readyState === WebSocket.OPEN ? 'open' : 'closed';
        },
        get bufferedAmount() {
          return ws.bufferedAmount;
        },
        send: (data) => ws.send(data, { binary: true }),
        end: (reason) => ws.close(1000, reason.slice(0, 100)),
      };
      let remove: () => void;
      try {
        remove = session.addSubscriber(port);
      } catch (e) {
        // Lost a race with another subscriber or with the session's end.
        if (!(e instanceof SubscriberLimitError)) throw e;
        ws.close(1008, 'subscriber limit');
        return;
      }
      const m = this.deps.metrics;
      m.maskSubscribers.inc();
      this.log.debug('mask subscriber joined', { session: session.id });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (!isBinary) session.acceptAck(data.toString());
      });
      ws.on('error', (e) => this.log.debug('subscriber socket error', { error: e.message }));
      ws.once('close', () => {
        remove();
        m.maskSubscribers.dec();
      });
    });
  }

  /** Terminates every subscriber socket (server shutdown, after the sessions closed them). */
  close(): void {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
  }
}
