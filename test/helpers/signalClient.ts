/**
 * A signaling-only WebSocket client for tests: sends raw frames, records every server message
 * and how the socket closed. No media (sessions it opens never complete ICE unless a peer uses
 * the answer).
 */
import WebSocket from 'ws';
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack } from 'werift';
import type { ServerMessage } from '../../src/shared/protocol.js';
import { LOADED_MS } from './waitFor.js';

export class SignalClient {
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  /** HTTP status when the upgrade was refused. */
  refusedStatus: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.messages.push(JSON.parse(d.toString()) as ServerMessage));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  /** Opens /signal; resolves once open, or with refusedStatus set when the upgrade was refused. */
  static open(url: string, opts: { headers?: Record<string, string>; query?: string } = {}): Promise<SignalClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/signal' + (opts.query ?? ''), { headers: opts.headers ?? {} });
    const c = new SignalClient(ws);
    return new Promise((resolve) => {
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (_req, res) => {
        c.refusedStatus = res.statusCode;
        ws.terminate();
        resolve(c);
      });
      ws.once('error', () => resolve(c));
    });
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** Resolves with the next message matching `pred` (already received ones count), or rejects after ms. */
  async next(pred: (m: ServerMessage) => boolean = () => true, ms = LOADED_MS, from = 0): Promise<ServerMessage> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.messages.slice(from).find(pred);
      if (m) return m;
      if (Date.now() > end) throw new Error(`no matching server message within ${ms} ms (got ${JSON.stringify(this.messages).slice(0, 300)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves once the socket has closed (or rejects after ms). */
  async whenClosed(ms = LOADED_MS): Promise<{ code: number; reason: string }> {
    const end = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > end) throw new Error(`socket still open after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * An SDP offer from a real werift peer that is closed at once (its ICE can never complete):
 * sendonly video in `mime`, plus the masks data channel.
 */
export async function deadOffer(mime = 'video/VP8'): Promise<string> {
  const pc = new RTCPeerConnection({ codecs: { video: [new RTCRtpCodecParameters({ mimeType: mime, clockRate: 90000 })], audio: [] }, bundlePolicy: 'max-bundle' });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  pc.createDataChannel('masks');
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}

/** One value of a metric (first series matching `labels`) from a /metrics scrape. */
export async function metricValue(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(url + '/metrics')).text();
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${esc(name)}${labels ? esc(`{${labels}}`) : ''} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? NaN);
}

/**
 * The HTTP status a WebSocket upgrade got: 101 when it opened (then closed at once), the
 * refusal's status (401, 403, 404, 429, …), or 0 when the connection failed.
 */
export function upgradeStatus(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', () => resolve(0));
  });
}
