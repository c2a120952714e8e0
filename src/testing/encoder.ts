/**
 * A live VP8/H.264 encoder for test publishers and benchmarks (WebCodecs VideoEncoder from
 * @napi-rs/webcodecs, realtime mode): one I420 picture in, its encoded chunk(s) out, so a
 * keyframe request (PLI) can be honoured on the very next frame like a browser does.
 * H.264 comes out as Annex-B (what RTP packetization needs).
 */
import { VideoEncoder, VideoFrame } from '@napi-rs/webcodecs';
import type { I420Picture } from '../decode/types.js';

export interface ClipEncoderOptions {
  readonly codec: 'vp8' | 'h264';
  readonly width: number;
  readonly height: number;
  /** Target bitrate, bit/s. */
  readonly bitrate: number;
  readonly fps: number;
}

export interface EncodedChunk {
  readonly data: Uint8Array;
  readonly keyframe: boolean;
}

export class EncoderError extends Error {
  override readonly name = 'EncoderError';
}

/**
 * How long encode() waits for a frame's chunk before taking the frame as skipped, ms. Output is
 * in encode order, so a later frame's chunk settles every earlier frame still waiting; callers
 * that encode one frame at a time (the test publishers) rely on this timeout instead. Generous:
 * a loaded machine takes far longer than the few ms a realtime encoder needs when quiet (the
 * old 500 ms ran out there), and the VP8/H.264 realtime encoders here were not seen to skip.
 */
const SKIP_TIMEOUT_MS = 10_000;

export class ClipEncoder {
  private readonly encoder: VideoEncoder;
  /** Frames encoded but not answered yet, by encoder timestamp (µs), in encode order. */
  private readonly waiting = new Map<number, (chunks: EncodedChunk[]) => void>();
  private error: Error | undefined;
  private frameIndex = 0;
  private closed = false;

  constructor(private readonly opts: ClipEncoderOptions) {
    this.encoder = new VideoEncoder({
      output: (chunk) => {
        const data = new Uint8Array(chunk.byteLength);
        chunk.copyTo(data);
        // Output comes in encode order: frames before this one still waiting were skipped.
        for (const [ts, skipped] of this.waiting) {
          if (ts >= chunk.timestamp) break;
          this.waiting.delete(ts);
          skipped([]);
        }
        // Each chunk goes to its own frame only. (Handing a late chunk to the next frame sent it
        // under that frame's RTP timestamp: two frames with one timestamp on a loaded machine.)
        const resolve = this.waiting.get(chunk.timestamp);
        if (!resolve) return; // its frame was given up on: never sent as another frame
        this.waiting.delete(chunk.timestamp);
        resolve([{ data, keyframe: chunk.type === 'key' }]);
      },
      error: (e) => {
        this.error = e;
        for (const r of this.waiting.values()) r([]);
        this.waiting.clear();
      },
    });
    this.encoder.configure({
      codec: opts.codec === 'vp8' ? 'vp8' : 'avc1.42e01f',
      width: opts.width,
      height: opts.height,
      bitrate: opts.bitrate,
      framerate: opts.fps,
      latencyMode: 'realtime',
      ...(opts.codec === 'h264' ? { avc: { format: 'annexb' as const } } : {}),
    });
  }

  /** Encodes one picture; resolves with its chunk (empty if the encoder skipped it). */
  encode(pic: I420Picture, opts: { keyFrame?: boolean } = {}): Promise<EncodedChunk[]> {
    if (this.closed) return Promise.reject(new EncoderError('encoder closed'));
    if (this.error) return Promise.reject(new EncoderError(`encoder failed: ${this.error.message}`));
    if (pic.width !== this.opts.width || pic.height !== this.opts.height) {
      return Promise.reject(new EncoderError(`picture is ${pic.width}×${pic.height}, encoder was configured for ${this.opts.width}×${this.opts.height}`));
    }
    const timestamp = Math.round((this.frameIndex++ * 1e6) / this.opts.fps);
    const frame = new VideoFrame(packI420(pic), { format: 'I420', codedWidth: pic.width, codedHeight: pic.height, timestamp });
    const done = new Promise<EncodedChunk[]>((resolve) => {
      this.waiting.set(timestamp, resolve);
      // An encoder that skips the last frame never answers for it.
      setTimeout(() => {
        if (this.waiting.delete(timestamp)) resolve([]);
      }, SKIP_TIMEOUT_MS).unref();
    });
    try {
      this.encoder.encode(frame, { keyFrame: opts.keyFrame ?? false });
    } finally {
      frame.close();
    }
    return done;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.waiting.values()) r([]);
    this.waiting.clear();
    if (this.encoder.state !== 'closed') this.encoder.close();
  }
}

/** Planes into one tightly packed I420 buffer (what VideoFrame's buffer constructor takes). */
export function packI420(pic: I420Picture): Uint8Array {
  const { width: w, height: h } = pic;
  const cw = (w + 1) >> 1;
  const ch = (h + 1) >> 1;
  const out = new Uint8Array(w * h + 2 * cw * ch);
  for (let y = 0; y < h; y++) out.set(pic.y.subarray(y * pic.yStride, y * pic.yStride + w), y * w);
  for (let y = 0; y < ch; y++) {
    out.set(pic.u.subarray(y * pic.uvStride, y * pic.uvStride + cw), w * h + y * cw);
    out.set(pic.v.subarray(y * pic.uvStride, y * pic.uvStride + cw), w * h + cw * ch + y * cw);
  }
  return out;
}
