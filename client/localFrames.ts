/**
 * A short queue of the local camera frames, so a mask can be composited with the very frame
 * it was computed from. Frames come from a MediaStreamTrackProcessor on a clone of the
 * camera track (the original goes to the encoder untouched).
 *
 * Each VideoFrame is copied into an ImageBitmap and closed at once: in this Chromium, holding
 * just two camera VideoFrames stalls the capturer (its buffer pool runs dry; measured with the
 * fake device: 112 frames in 4 s holding one, 2 frames holding two), while holding twenty
 * ImageBitmap copies does not.
 */

export interface LocalFrame {
  /** VideoFrame.timestamp: capture time, µs, on Chromium's monotonic (TimeTicks) clock. */
  readonly tsUs: number;
  /** When the page read it, performance.now() ms. */
  readonly readAtMs: number;
  readonly bitmap: ImageBitmap;
  readonly width: number;
  readonly height: number;
}

export interface LocalFrameQueueOptions {
  /** Keep frames captured at most this long before the newest one, ms. */
  readonly maxAgeMs?: number;
  /** Hard cap on queued frames (guards against odd timestamps). */
  readonly maxFrames?: number;
  /** Called after each frame is queued. */
  readonly onFrame?: (f: LocalFrame) => void;
  readonly onError?: (e: unknown) => void;
}

export class LocalFrameQueue {
  /** Ascending by tsUs. */
  private readonly frames: LocalFrame[] = [];
  private readonly track: MediaStreamTrack;
  private reader: ReadableStreamDefaultReader<VideoFrame> | undefined;
  private closed = false;
  /** Recent (readAtMs − tsUs/1000) values, ms; their minimum maps capture µs → page ms. */
  private readonly clockSamples: number[] = [];
  private clockOffsetMs: number | undefined;
  readonly maxAgeMs: number;
  private readonly maxFrames: number;

  constructor(cameraTrack: MediaStreamTrack, private readonly opts: LocalFrameQueueOptions = {}) {
    this.track = cameraTrack.clone();
    this.maxAgeMs = opts.maxAgeMs ?? 500;
    this.maxFrames = opts.maxFrames ?? 64;
  }

  start(): void {
    // maxBufferSize 2: if the page falls behind, the browser drops (and closes) old frames.
    const processor = new MediaStreamTrackProcessor({ track: this.track, maxBufferSize: 2 });
    this.reader = processor.readable.getReader();
    this.readLoop().catch((e: unknown) => {
      if (!this.closed) this.opts.onError?.(e);
    });
  }

  private async readLoop(): Promise<void> {
    const reader = this.reader!;
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) return;
      let bitmap: ImageBitmap;
      const tsUs = frame.timestamp;
      const width = frame.displayWidth;
      const height = frame.displayHeight;
      try {
        bitmap = await createImageBitmap(frame);
      } finally {
        frame.close();
      }
      if (this.closed) {
        bitmap.close();
        return;
      }
      const readAtMs = performance.now();
      this.noteClock(readAtMs, tsUs);
      const f: LocalFrame = { tsUs, readAtMs, bitmap, width, height };
      this.insert(f);
      this.opts.onFrame?.(f);
    }
  }

  private insert(f: LocalFrame): void {
    const last = this.frames[this.frames.length - 1];
    if (last && f.tsUs <= last.tsUs) {
      // Timestamps never go back for one track; if they do (device restart), start over.
      this.clear();
    }
    this.frames.push(f);
    const oldestKeptUs = f.tsUs - this.maxAgeMs * 1000;
    let drop = 0;
    while (drop < this.frames.length - 1 && (this.frames[drop]!.tsUs < oldestKeptUs || this.frames.length - drop > this.maxFrames)) drop++;
    for (const old of this.frames.splice(0, drop)) old.bitmap.close();
  }

  /**
   * VideoFrame timestamps and performance.now() run on the same monotonic clock with a fixed
   * offset (measured: readAt − ts/1000 spreads 1 ms at p50 around its minimum), so the
   * minimum over recent frames is capture time + the smallest delivery delay.
   */
  private noteClock(readAtMs: number, tsUs: number): void {
    const d = readAtMs - tsUs / 1000;
    this.clockSamples.push(d);
    if (this.clockSamples.length > 150) this.clockSamples.shift();
    this.clockOffsetMs = Math.min(...this.clockSamples);
  }

  /** Capture time of a frame timestamp on the page clock (performance.now() ms). */
  captureToPageMs(tsUs: number): number | undefined {
    return this.clockOffsetMs === undefined ? undefined : tsUs / 1000 + this.clockOffsetMs;
  }

  get size(): number {
    return this.frames.length;
  }

  newest(): LocalFrame | undefined {
    return this.frames[this.frames.length - 1];
  }

  oldest(): LocalFrame | undefined {
    return this.frames[0];
  }

  /** The queued frame nearest to tsUs. */
  nearest(tsUs: number): LocalFrame | undefined {
    let best: LocalFrame | undefined;
    for (const f of this.frames) {
      if (!best || Math.abs(f.tsUs - tsUs) < Math.abs(best.tsUs - tsUs)) best = f;
    }
    return best;
  }

  /** The newest queued frame captured at or before tsUs. */
  atOrBefore(tsUs: number): LocalFrame | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      if (this.frames[i]!.tsUs <= tsUs) return this.frames[i];
    }
    return undefined;
  }

  private clear(): void {
    for (const f of this.frames.splice(0)) f.bitmap.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clear();
    this.reader?.cancel().catch((e: unknown) => this.opts.onError?.(e));
    this.track.stop();
  }
}
