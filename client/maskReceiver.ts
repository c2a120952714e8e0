/**
 * Receives binary mask messages on the `masks` channel, decodes them, finds their source
 * frame and acknowledges each with its end-to-end latency.
 */

import { decodeMask, type MaskMessage } from '../src/shared/maskCodec.js';
import type { AckMessage } from '../src/shared/protocol.js';
import type { FrameMatcher } from './frameMatcher.js';
import type { LocalFrame } from './localFrames.js';

export interface ReceivedMask {
  readonly msg: MaskMessage;
  /** The message as it arrived (tests compare what the page drew with what it was sent). */
  readonly raw: Uint8Array;
  /** performance.now() at arrival, ms. */
  readonly receivedAtMs: number;
  /** Capture timestamp of the source frame, µs, when the RTP mapping is known. */
  readonly sourceUs?: number;
  /** The source frame, if it was still queued on arrival. */
  readonly frame?: LocalFrame;
  /** Capture → mask received, ms (page clock), when the source capture time is known. */
  readonly e2eMs?: number;
}

export interface MaskReceiverDeps {
  readonly matcher: FrameMatcher;
  /** Capture timestamp (µs) → page clock (ms). */
  readonly captureToPageMs: (tsUs: number) => number | undefined;
  readonly onMask: (m: ReceivedMask) => void;
  readonly onError: (message: string) => void;
}

export function attachMaskReceiver(channel: RTCDataChannel, deps: MaskReceiverDeps): void {
  channel.onmessage = (ev: MessageEvent) => {
    const receivedAtMs = performance.now();
    if (!(ev.data instanceof ArrayBuffer)) {
      deps.onError(`unexpected ${typeof ev.data} message on the masks channel`);
      return;
    }
    let msg: MaskMessage;
    try {
      msg = decodeMask(ev.data);
    } catch (e) {
      deps.onError(`bad mask message: ${(e as Error).message}`);
      return;
    }
    const m = deps.matcher.match(msg.rtpTimestamp);
    let e2eMs: number | undefined;
    if (m.sourceUs !== undefined) {
      const capturedAt = deps.captureToPageMs(m.sourceUs);
      if (capturedAt !== undefined) e2eMs = receivedAtMs - capturedAt;
    }
    sendAck(channel, msg.seq, e2eMs, deps.onError);
    deps.onMask({
      msg,
      raw: new Uint8Array(ev.data),
      receivedAtMs,
      ...(m.sourceUs !== undefined ? { sourceUs: m.sourceUs } : {}),
      ...(m.frame ? { frame: m.frame } : {}),
      ...(e2eMs !== undefined ? { e2eMs } : {}),
    });
  };
}

function sendAck(channel: RTCDataChannel, seq: number, e2eMs: number | undefined, onError: (m: string) => void): void {
  if (channel.readyState !== 'open') return;
  // The server accepts e2eMs in [0, 60000); anything else means our clock mapping is off.
  const ok = e2eMs !== undefined && Number.isFinite(e2eMs) && e2eMs >= 0 && e2eMs < 60_000;
  const ack: AckMessage = { type: 'ack', seq, ...(ok ? { e2eMs: Math.round(e2eMs * 10) / 10 } : {}) };
  try {
    channel.send(JSON.stringify(ack));
  } catch (e) {
    onError(`ack not sent: ${(e as Error).message}`);
  }
}
