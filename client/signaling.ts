/** WebSocket signaling client (protocol: src/shared/protocol.ts). */

import { parseServerMessage, type ClientMessage, type ServerMessage } from '../src/shared/protocol.js';

/** ws(s)://<this host>/signal — wss when the page itself is https. */
export function signalUrl(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/signal`;
}

export class SignalingClient {
  onMessage: ((m: ServerMessage) => void) | undefined;
  /** The socket closed (by either side); `expected` when close() was called first. */
  onClose: ((info: { code: number; reason: string; expected: boolean }) => void) | undefined;
  onProtocolError: ((message: string) => void) | undefined;
  private closing = false;

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') {
        this.onProtocolError?.('binary signaling message ignored');
        return;
      }
      let m: ServerMessage;
      try {
        m = parseServerMessage(ev.data);
      } catch (e) {
        this.onProtocolError?.(`bad signaling message: ${(e as Error).message}`);
        return;
      }
      this.onMessage?.(m);
    };
    ws.onclose = (ev) => this.onClose?.({ code: ev.code, reason: ev.reason, expected: this.closing });
  }

  static connect(url: string, timeoutMs = 10_000): Promise<SignalingClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`signaling: no connection to ${url} after ${timeoutMs} ms`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new SignalingClient(ws));
      };
      // The error event carries no detail; onclose follows with the code.
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`signaling: cannot connect to ${url}`));
      };
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(m: ClientMessage): void {
    if (this.open) this.ws.send(JSON.stringify(m));
  }

  /** Resolves with the first message of the given type; rejects on error/bye/close/timeout. */
  waitFor<T extends ServerMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ServerMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const prevMessage = this.onMessage;
      const prevClose = this.onClose;
      const restore = () => {
        clearTimeout(timer);
        this.onMessage = prevMessage;
        this.onClose = prevClose;
      };
      const timer = setTimeout(() => {
        restore();
        reject(new Error(`signaling: no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onMessage = (m) => {
        if (m.type === type) {
          restore();
          resolve(m as Extract<ServerMessage, { type: T }>);
        } else if (m.type === 'error') {
          restore();
          reject(new Error(`server error ${m.code}: ${m.message}`));
        } else if (m.type === 'bye') {
          restore();
          reject(new Error(`server ended the session (${m.reason})`));
        }
      };
      this.onClose = (info) => {
        restore();
        reject(new Error(`signaling closed before "${type}" (code ${info.code}${info.reason ? `, ${info.reason}` : ''})`));
        prevClose?.(info);
      };
    });
  }

  close(): void {
    this.closing = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000, 'bye');
  }
}
