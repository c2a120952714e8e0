/**
 * A real VP8 encode → decode round trip at a WebRTC bitrate, so the quality clips carry the
 * compression artefacts (blocking, ringing, smeared motion, keyframe-to-delta drift) a
 * segmenter sees in production. Same encoder as the test publisher (ClipEncoder, realtime
 * libvpx) and the server's own decode stage (DecoderStage), frame by frame.
 *
 * The ground truth is not touched: it stays the exact alpha of the uncompressed render.
 */
import { DecoderStage } from '../../decode/videoDecoder.js';
import type { I420Picture } from '../../decode/types.js';
import type { EncodedFrame } from '../../ingest/types.js';
import { ClipEncoder } from '../../testing/encoder.js';

/** WebRTC's usual range for 640×480 VP8, bit/s. */
export const MIN_BITRATE = 250_000;
export const MAX_BITRATE = 800_000;

export class CodecRoundTripError extends Error {
  override readonly name = 'CodecRoundTripError';
}

export interface RoundTripOptions {
  /** Target bitrate, bit/s (250 000 … 800 000 for WebRTC-like quality). */
  readonly bitrate: number;
  readonly fps: number;
  /** Longest wait for one decoded picture, ms (default 5000). */
  readonly timeoutMs?: number;
}

export interface RoundTripResult {
  /** Decoded pictures, one per input frame, same order and size. */
  readonly frames: I420Picture[];
  /** Bytes of VP8 produced per frame (0 = the encoder dropped it). */
  readonly frameBytes: number[];
  /**
   * Input frames without a decoded picture of their own (encoder dropped them or the decoder
   * skipped them); each was replaced by the previous decoded picture, as a receiver shows it.
   */
  readonly repeated: number[];
  /** Frames the encoder emitted as keyframes (0 first; others only if libvpx chose to). */
  readonly keyframes: number[];
}

/**
 * Encodes `frames` with VP8 at `bitrate` (keyframe forced only at frame 0) and decodes them
 * again. All frames must have the same size.
 */
export async function vp8RoundTrip(frames: readonly I420Picture[], o: RoundTripOptions): Promise<RoundTripResult> {
  if (frames.length === 0) return { frames: [], frameBytes: [], repeated: [], keyframes: [] };
  const { width, height } = frames[0]!;
  if (frames.some((f) => f.width !== width || f.height !== height)) throw new CodecRoundTripError('all frames of a clip must have the same size');
  if (!(o.bitrate > 0 && o.fps > 0)) throw new CodecRoundTripError(`bitrate (${o.bitrate}) and fps (${o.fps}) must be positive`);
  const timeoutMs = o.timeoutMs ?? 5000;

  const decoded = new Map<number, I420Picture>();
  const errors: Error[] = [];
  const gone = new Set<number>();
  const dec = new DecoderStage<number>({
    onPicture: (pic, meta) => decoded.set(meta.tag, pic),
    onError: (e) => errors.push(e),
    onSkipped: (tag) => gone.add(tag),
  });
  const enc = new ClipEncoder({ codec: 'vp8', width, height, bitrate: o.bitrate, fps: o.fps });
  const frameBytes: number[] = [];
  const keyframes: number[] = [];
  // The encoder's answer comes from a native thread and its fallback timer is unref'd: in a
  // plain script (no server, no test runner) nothing would keep Node's event loop alive while
  // we wait, and the process would exit mid-clip. A ref'd timer holds it open until done.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    for (let i = 0; i < frames.length; i++) {
      const chunks = await enc.encode(frames[i]!, { keyFrame: i === 0 });
      frameBytes.push(chunks.reduce((n, c) => n + c.data.length, 0));
      for (const c of chunks) {
        // Keyframe-ness from the VP8 bitstream (bit 0 of the frame tag = 0), like the depacketizer.
        const keyframe = (c.data[0]! & 1) === 0;
        if (keyframe) keyframes.push(i);
        const frame: EncodedFrame = { codec: 'vp8', data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength), keyframe, rtpTimestamp: i * 3000, extTimestamp: i * 3000, ssrc: 1, firstPacketMs: 0, completeMs: 0 };
        // Fed like a live receiver: one frame at a time, waiting for its picture, so the
        // decoder queue never fills and the order is the encode order.
        const outcome = dec.decode(frame, i);
        if (outcome !== 'queued') throw new CodecRoundTripError(`decoder refused frame ${i} (${outcome})`);
        await until(() => decoded.has(i) || gone.has(i) || errors.length > 0, timeoutMs);
        if (errors.length > 0) throw new CodecRoundTripError(`VP8 decode failed at frame ${i}: ${errors[0]!.message}`);
        if (!decoded.has(i) && !gone.has(i)) throw new CodecRoundTripError(`no decoded picture for frame ${i} within ${timeoutMs} ms`);
      }
    }
  } finally {
    clearInterval(keepAlive);
    enc.close();
    dec.close();
  }
  return assemble(frames.length, decoded, frameBytes, keyframes);
}

/** One picture per input frame: a frame without its own picture repeats the previous one. */
function assemble(n: number, decoded: Map<number, I420Picture>, frameBytes: number[], keyframes: number[]): RoundTripResult {
  const out: I420Picture[] = [];
  const repeated: number[] = [];
  for (let i = 0; i < n; i++) {
    const pic = decoded.get(i) ?? out[i - 1];
    if (!pic) throw new CodecRoundTripError(`frame ${i} has no decoded picture and none before it (the first keyframe was lost)`);
    if (!decoded.has(i)) repeated.push(i);
    out.push(pic);
  }
  return { frames: out, frameBytes, repeated, keyframes };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
}

/** PSNR of the luma planes, dB (Infinity when identical). For checks and reports. */
export function psnrY(a: I420Picture, b: I420Picture): number {
  if (a.width !== b.width || a.height !== b.height) throw new CodecRoundTripError(`cannot compare ${a.width}×${a.height} with ${b.width}×${b.height}`);
  let se = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const d = a.y[y * a.yStride + x]! - b.y[y * b.yStride + x]!;
      se += d * d;
    }
  }
  const mse = se / (a.width * a.height);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
