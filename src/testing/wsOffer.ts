/**
 * The publisher side of the WebSocket signaling (`/signal`, protocol.ts), shared by the test
 * publishers (weriftPublisher.ts, reliability/faultPublisher.ts): open the socket, send the
 * offer once it is open, hand every server message to the caller's handlers, resolve when the
 * caller has applied the answer. The socket is returned at once, so its owner can close it
 * while the exchange is still under way.
 */
import WebSocket from 'ws';
import { parseServerMessage, type ServerMessage } from '../shared/protocol.js';

export interface WsOfferOptions {
  /** Server base URL (http[s]://host:port). */
  readonly url: string;
  readonly sdp: string;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  readonly ca?: string | Buffer;
  readonly timeoutMs: number;
}

export interface WsOfferHandlers {
  /** Applies the answer (setRemoteDescription); the exchange completes when this resolves. */
  answer(m: Extract<ServerMessage, { type: 'answer' }>): Promise<void>;
  bye(reason: string): void;
  /** A server error message; the exchange fails with it. */
  serverError(text: string): void;
  /** A frame that is not a valid server message (ignored otherwise). */
  badMessage(text: string): void;
}

export function openWsOffer(o: WsOfferOptions, on: WsOfferHandlers): { ws: WebSocket; answered: Promise<void> } {
  const ws = new WebSocket(o.url.replace(/^http/, 'ws') + '/signal', { headers: o.headers ?? {}, ...(o.ca ? { ca: o.ca } : {}) });
  const answered = new Promise<void>((resolve, reject) => {
    ws.on('message', (raw) => {
      let m: ServerMessage;
      try {
        m = parseServerMessage(raw.toString());
      } catch (e) {
        on.badMessage(`bad server message: ${(e as Error).message}`);
        return;
      }
      if (m.type === 'answer') {
        on.answer(m).then(() => resolve(), reject);
      } else if (m.type === 'bye') {
        on.bye(m.reason);
      } else {
        on.serverError(`${m.code}: ${m.message}`);
        reject(new Error(`server error ${m.code}: ${m.message}`));
      }
    });
    ws.on('error', reject);
  });
  answered.catch(() => {}); // awaited below only once the socket is open; a failed open rejects `done`
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const done = opened.then(() => {
    ws.send(JSON.stringify({ type: 'offer', sdp: o.sdp, ...(o.token ? { token: o.token } : {}) }));
    return withTimeout(answered, o.timeoutMs, 'answer');
  });
  done.catch(() => {}); // the caller awaits `answered`; no unhandled rejection if it stops waiting
  return { ws, answered: done };
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, reject) => { t = setTimeout(() => reject(new Error(`timed out waiting for ${what} after ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(t);
  }
}
