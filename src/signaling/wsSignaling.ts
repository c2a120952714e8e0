/**
 * WebSocket signaling adapter: one socket ↔ at most one session. Parses and validates
 * every message (protocol.ts), answers offers, applies trickled candidates, and ends the
 * session on bye or socket close. Errors go back as {type:"error"} with a specific code.
 */
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ServerDrainingError, ServerFullError, type SessionRegistry } from '../session/sessionRegistry.js';
import { Session, UnsupportedOfferError } from '../session/session.js';
import type { EngineInfo } from '../inference/types.js';
import {
  MAX_SIGNAL_MESSAGE_BYTES, parseClientMessage, ProtocolError, RETRY_AFTER_DRAINING_S, RETRY_AFTER_FULL_S, type ErrorCode, type ServerMessage,
} from './protocol.js';

export class WsSignaling {
  readonly wss: WebSocketServer;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly engineInfo: EngineInfo,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    // maxPayload makes ws close oversized frames with 1009 before we buffer them.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_MESSAGE_BYTES });
    this.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, _req: IncomingMessage): void {
    let session: Session | undefined;
    let starting = false;
    const send = (m: ServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const fail = (code: ErrorCode, message: string, close: boolean) => {
      send({ type: 'error', code, message });
      if (close) ws.close(1008, code);
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return fail('bad_message', 'signaling messages are JSON text frames', false);
      let msg;
      try {
        msg = parseClientMessage(data.toString());
      } catch (e) {
        if (e instanceof ProtocolError) return fail(e.code, e.message, false);
        throw e;
      }
      switch (msg.type) {
        case 'offer': {
          if (session || starting) return fail('bad_state', 'this socket already has a session; open a new socket for another', false);
          starting = true;
          let s: Session;
          try {
            s = this.registry.create((reason) => {
              send({ type: 'bye', reason: Session.byeReason(reason) });
            });
          } catch (e) {
            if (e instanceof ServerFullError) {
              // Draining answers like full (clients already retry on server_full), with a shorter hint.
              const retryAfterMs = 1000 * (e instanceof ServerDrainingError ? RETRY_AFTER_DRAINING_S : RETRY_AFTER_FULL_S);
              send({ type: 'error', code: 'server_full', message: e.message, retryAfterMs });
              ws.close(1008, 'server_full');
              return;
            }
            throw e;
          }
          session = s;
          s.answer(msg.sdp).then(
            (sdp) => {
              if (s.closed) return;
              const info = this.engineInfo;
              send({ type: 'answer', sessionId: s.id, sdp, model: info.model, backend: info.backend, maskWidth: info.maskWidth, maskHeight: info.maskHeight });
            },
            (e: Error) => {
              if (e instanceof UnsupportedOfferError) {
                this.metrics.refuse('unsupported_offer');
                fail('unsupported_offer', e.message, false);
              } else {
                this.log.error('answering an offer failed', { error: e.message });
                fail('internal', 'the server could not answer this offer', false);
              }
              session = undefined;
              starting = false;
              s.close('error');
            },
          );
          return;
        }
        case 'candidate':
          if (!session) return fail('bad_state', 'send an offer before candidates', false);
          session.addCandidate(msg).catch((e: Error) => fail('bad_message', `candidate rejected: ${e.message}`, false));
          return;
        case 'bye':
          session?.close('bye');
          session = undefined;
          ws.close(1000, 'bye');
          return;
      }
    });
    ws.on('close', () => {
      session?.close('socket_closed');
      session = undefined;
    });
    ws.on('error', (e) => this.log.debug('signaling socket error', { error: e.message }));
  }

  close(): void {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
  }
}
