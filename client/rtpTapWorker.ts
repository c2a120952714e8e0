/**
 * Worker side of the sender tap (RTCRtpScriptTransform): passes every encoded frame through
 * unchanged and tells the page its RTP timestamp, SSRC and (if present) capture timestamp.
 * Runs in a worker so a busy page never delays the outgoing video.
 * Bundled separately as dist/client/rtpTap.js. The DOM lib has no worker typings, hence the
 * local declarations.
 */

import type { TapMessage } from './tapMessage.js';

interface EncodedFrameLike {
  getMetadata(): { rtpTimestamp?: number; synchronizationSource?: number; timestamp?: number };
}

interface RtcTransformEventLike extends Event {
  readonly transformer: {
    readonly readable: ReadableStream<EncodedFrameLike>;
    readonly writable: WritableStream<EncodedFrameLike>;
  };
}

const scope = globalThis as unknown as {
  onrtctransform: ((ev: RtcTransformEventLike) => void) | null;
  postMessage(msg: TapMessage): void;
};

function post(msg: TapMessage): void {
  scope.postMessage(msg);
}

scope.onrtctransform = (ev) => {
  const { readable, writable } = ev.transformer;
  const tap = new TransformStream<EncodedFrameLike, EncodedFrameLike>({
    transform(frame, controller) {
      const md = frame.getMetadata();
      if (typeof md.rtpTimestamp === 'number' && typeof md.synchronizationSource === 'number') {
        post({
          kind: 'frame',
          rtp: md.rtpTimestamp,
          ssrc: md.synchronizationSource,
          // performance.timeOrigin differs between worker and page; the sum is comparable.
          seenAtEpochMs: performance.timeOrigin + performance.now(),
          ...(typeof md.timestamp === 'number' ? { captureUsHint: md.timestamp } : {}),
        });
      }
      controller.enqueue(frame);
    },
  });
  readable.pipeThrough(tap).pipeTo(writable).catch((e: unknown) => post({ kind: 'error', message: String(e) }));
};
