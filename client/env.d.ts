/**
 * Chromium APIs that TypeScript's DOM lib does not describe (yet). Only what the client uses.
 */

interface MediaStreamTrackProcessorInit {
  track: MediaStreamTrack;
  /** Frames buffered before the oldest is dropped (and closed) by the browser. */
  maxBufferSize?: number;
}

/** Breakout box (Chromium): exposes a video track's raw frames as a stream of VideoFrames. */
declare class MediaStreamTrackProcessor {
  constructor(init: MediaStreamTrackProcessorInit);
  readonly readable: ReadableStream<VideoFrame>;
}

interface RTCConfiguration {
  /** Chromium: required before `RTCRtpSender.createEncodedStreams()` may be called. */
  encodedInsertableStreams?: boolean;
}

interface RTCRtpSender {
  /** Chromium's older encoded-transform API (main thread). */
  createEncodedStreams?(): { readable: ReadableStream<RTCEncodedVideoFrame>; writable: WritableStream<RTCEncodedVideoFrame> };
}

interface RTCEncodedVideoFrameMetadata {
  /**
   * Chromium behind --enable-blink-features=RTCEncodedVideoFrameAdditionalMetadata (or
   * --enable-experimental-web-platform-features): the frame's capture timestamp in µs after
   * WebRTC's timestamp aligner, i.e. within ~0.1 ms of the source VideoFrame.timestamp.
   */
  timestamp?: number;
}
