/**
 * Messages between the load benchmark (src/bench/load.ts, the server's process) and each of its
 * publisher processes (src/bench/loadPublisher.ts), over the child-process IPC channel.
 * Times in ms.
 */

/** benchmark → publisher: what to send, once, right after the process starts. */
export interface PublisherConfig {
  readonly type: 'config';
  readonly url: string;
  /** A .y4m clip at the benchmark resolution, looped. */
  readonly clipPath: string;
  readonly fps: number;
  /** Frames to send in all (warm-up + measured). */
  readonly totalFrames: number;
  /** Frames sent before the measured window (their masks are not counted). */
  readonly warmupFrames: number;
  /** VP8 target bitrate, bit/s. */
  readonly bitrate: number;
  /** Live VP8 encoder: libvpx in an ffmpeg child (default), or WebCodecs (@napi-rs/webcodecs; machines without ffmpeg). */
  readonly encoder: 'ffmpeg' | 'webcodecs';
  /**
   * If set, send the masks received so far as a `progress` message this often, ms (they are then
   * not repeated in `result`); long runs (the soak) use it to watch the stream over time.
   */
  readonly progressEveryMs?: number;
}

/** benchmark → publisher: start sending at this wall-clock time (Date.now() ms). */
export interface PublisherStart {
  readonly type: 'start';
  readonly atEpochMs: number;
}

/** benchmark → publisher: close the peer connection and exit. */
export interface PublisherStop {
  readonly type: 'stop';
}

export type ToPublisher = PublisherConfig | PublisherStart | PublisherStop;

/**
 * One received mask: [frameIndex, e2eMs, serverMs, receiveMs, decodeMs, preprocessMs,
 * inferenceMs, temporalMs, encodeMs]; e2eMs is publisher send → mask received on the
 * publisher's clock (−1 if the frame could not be matched), the rest come from the mask message.
 */
export type MaskRecord = [number, number, number, number, number, number, number, number, number];
export const MASK_FIELDS = ['frameIndex', 'e2eMs', 'serverMs', 'receiveMs', 'decodeMs', 'preprocessMs', 'inferenceMs', 'temporalMs', 'encodeMs'] as const;

export interface PublisherResult {
  readonly type: 'result';
  readonly framesSent: number;
  readonly masks: MaskRecord[];
  readonly keyframeRequests: number;
  readonly errors: string[];
  /** CPU time of this process and its encoder child while sending the measured frames, ms (user + system). */
  readonly measuredCpuMs: number;
  /** Wall time of the measured frames, ms. */
  readonly measuredWallMs: number;
  /** Resident set size at the end, bytes. */
  readonly rssBytes: number;
}

/** Masks received since the previous progress message (only with `progressEveryMs`). */
export interface PublisherProgress {
  readonly type: 'progress';
  readonly framesSent: number;
  readonly masks: MaskRecord[];
  readonly rssBytes: number;
}

export type FromPublisher =
  | { readonly type: 'connected'; readonly sessionId: string }
  | PublisherProgress
  | PublisherResult
  | { readonly type: 'failed'; readonly error: string };
