/**
 * Sender-side encoded-frame tap: reports the RTP timestamp of every frame the encoder emits,
 * so masks (which carry the RTP timestamp) can be traced back to local capture timestamps.
 * Prefers the standard RTCRtpScriptTransform (worker); falls back to Chromium's
 * createEncodedStreams() (needs `encodedInsertableStreams: true` at RTCPeerConnection
 * construction); without either the mapping stays unknown and masks go unmatched.
 */

import type { EncodedObservation } from './timestampMapper.js';
import type { TapMessage } from './tapMessage.js';

export type TapMode = 'script-transform' | 'encoded-streams' | 'none';

export function chooseTapMode(): TapMode {
  if (typeof RTCRtpScriptTransform !== 'undefined') return 'script-transform';
  if (typeof RTCRtpSender !== 'undefined' && 'createEncodedStreams' in RTCRtpSender.prototype) return 'encoded-streams';
  return 'none';
}

/** Extra RTCPeerConnection configuration the chosen tap needs. */
export function tapPeerConfig(mode: TapMode): Partial<RTCConfiguration> {
  return mode === 'encoded-streams' ? { encodedInsertableStreams: true } : {};
}

export interface SenderTap {
  readonly mode: TapMode;
  close(): void;
}

export function attachSenderTap(
  sender: RTCRtpSender,
  mode: TapMode,
  onObservation: (o: EncodedObservation) => void,
  onError: (message: string) => void,
): SenderTap {
  let closed = false;
  const report = (message: string) => {
    if (!closed) onError(message);
  };
  if (mode === 'script-transform') {
    const worker = new Worker(new URL('./rtpTap.js', import.meta.url), { type: 'module', name: 'rtp-tap' });
    worker.onmessage = (ev: MessageEvent<TapMessage>) => {
      const m = ev.data;
      if (m.kind === 'error') {
        report(`sender tap: ${m.message}`);
        return;
      }
      onObservation({
        rtp: m.rtp,
        ssrc: m.ssrc,
        seenAtMs: m.seenAtEpochMs - performance.timeOrigin,
        ...(m.captureUsHint !== undefined ? { captureUsHint: m.captureUsHint } : {}),
      });
    };
    worker.onerror = (ev) => report(`sender tap worker: ${ev.message}`);
    sender.transform = new RTCRtpScriptTransform(worker, { side: 'send' });
    return {
      mode,
      close: () => {
        closed = true;
        worker.terminate();
      },
    };
  }
  if (mode === 'encoded-streams' && sender.createEncodedStreams) {
    const { readable, writable } = sender.createEncodedStreams();
    const tap = new TransformStream<RTCEncodedVideoFrame, RTCEncodedVideoFrame>({
      transform(frame, controller) {
        const md = frame.getMetadata();
        if (typeof md.rtpTimestamp === 'number' && typeof md.synchronizationSource === 'number') {
          onObservation({
            rtp: md.rtpTimestamp,
            ssrc: md.synchronizationSource,
            seenAtMs: performance.now(),
            ...(typeof md.timestamp === 'number' ? { captureUsHint: md.timestamp } : {}),
          });
        }
        controller.enqueue(frame);
      },
    });
    readable.pipeThrough(tap).pipeTo(writable).catch((e: unknown) => report(`sender tap: ${String(e)}`));
    return { mode, close: () => { closed = true; } };
  }
  return { mode: 'none', close: () => { closed = true; } };
}
