/**
 * Decode stage: whole encoded frames → I420 pictures, with the W3C WebCodecs VideoDecoder
 * that @napi-rs/webcodecs implements in Node (FFmpeg underneath, decoding on its own thread,
 * so the event loop only pays for the copy out of the decoded frame).
 *
 * Owns one VideoDecoder at a time. A decode error closes a WebCodecs decoder for good, so the
 * stage drops it and builds a new one when the next keyframe comes; until then it refuses
 * delta frames (`needs_keyframe`). Each frame carries an opaque tag back to the caller.
 * Bounded: at most `maxQueue` frames inside the decoder; beyond that decode() says `busy`.
 */
import { performance } from 'node:perf_hooks';
import { EncodedVideoChunk, VideoDecoder, type VideoFrame } from '@napi-rs/webcodecs';
import type { EncodedFrame, VideoCodecName } from '../ingest/types.js';
import type { I420Picture } from './types.js';

export interface DecodedMeta<T> {
  /** decode() call → picture copied out, ms. */
  readonly decodeMs: number;
  readonly tag: T;
}

/** Why a frame handed to the decoder produced no picture. */
export type DecoderSkipReason = 'decode_error' | 'decoder_skipped';

export interface DecoderStageOptions<T> {
  onPicture(pic: I420Picture, meta: DecodedMeta<T>): void;
  /** The decoder failed; it has been discarded and the next frame must be a keyframe. */
  onError(err: Error): void;
  /** A frame that went in and will never come out (the decoder failed or skipped it). */
  onSkipped?(tag: T, reason: DecoderSkipReason): void;
  /** Frames inside the decoder at most (≈ 270 ms at 30 fps). */
  readonly maxQueue?: number;
}

export type DecodeOutcome = 'queued' | 'busy' | 'needs_keyframe' | 'closed';

/** WebCodecs codec strings; H.264 without a description means Annex-B input. */
const CODEC_STRING: Record<VideoCodecName, string> = { vp8: 'vp8', h264: 'avc1.42e01f' };

interface InFlight<T> {
  readonly tag: T;
  readonly startMs: number;
}

/**
 * What a VideoDecoder's callbacks reach. @napi-rs/webcodecs holds a decoder's output/error
 * callbacks in global (strong) handles until the VideoDecoder object itself is collected, also
 * after close(): callbacks that captured the decoder made a cycle through those handles, so
 * the decoder, the stage, its session and the session's whole peer connection were never
 * collected (~140 kB per session, found by the churn test). The callbacks capture only this
 * link, which discard() empties.
 */
interface DecoderLink<T> {
  stage: DecoderStage<T> | undefined;
  decoder: VideoDecoder | undefined;
}

export class DecoderError extends Error {
  override readonly name = 'DecoderError';
}

export class DecoderStage<T> {
  private decoder: VideoDecoder | undefined;
  private link: DecoderLink<T> | undefined;
  private codec: VideoCodecName | undefined;
  /** Frames inside the current decoder, by the chunk timestamp we gave them (a counter). */
  private readonly inFlight = new Map<number, InFlight<T>>();
  private nextTs = 0;
  /** Copies out of decoded frames run one after another, so pictures keep decode order. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly maxQueue: number;
  private stats = { decoded: 0, errors: 0, skipped: 0, decoders: 0 };

  constructor(private readonly opts: DecoderStageOptions<T>) {
    this.maxQueue = opts.maxQueue ?? 8;
  }

  /** Frames handed to the decoder that have not come out yet. */
  get queued(): number {
    return this.inFlight.size;
  }

  decode(frame: EncodedFrame, tag: T): DecodeOutcome {
    if (this.closed) return 'closed';
    if (this.decoder && (this.decoder.state === 'closed' || this.codec !== frame.codec)) this.discard();
    if (!this.decoder) {
      if (!frame.keyframe) return 'needs_keyframe';
      this.create(frame.codec);
    }
    if (this.inFlight.size >= this.maxQueue) return 'busy';
    const ts = this.nextTs++;
    this.inFlight.set(ts, { tag, startMs: performance.now() });
    try {
      this.decoder!.decode(new EncodedVideoChunk({ type: frame.keyframe ? 'key' : 'delta', timestamp: ts, data: frame.data }));
    } catch (e) {
      this.fail(new DecoderError(`decode() refused the frame: ${(e as Error).message}`));
    }
    return 'queued';
  }

  /** Forget the current decoder (e.g. the stream changed); the next frame must be a keyframe. */
  reset(): void {
    this.discard();
  }

  toJSON() {
    return { ...this.stats, queued: this.inFlight.size, codec: this.codec ?? null };
  }

  /** Closes the decoder; frames in flight are reported as skipped. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.discard();
    this.closed = true;
  }

  private create(codec: VideoCodecName): void {
    const link: DecoderLink<T> = { stage: this, decoder: undefined };
    const dec: VideoDecoder = new VideoDecoder({
      // No `this` or `dec` in these closures: only the link (see DecoderLink).
      output: (f) => {
        const stage = link.stage;
        if (stage && link.decoder) stage.onOutput(link.decoder, f);
        else f.close();
      },
      error: (e) => {
        const stage = link.stage;
        if (stage && link.decoder && stage.decoder === link.decoder) stage.fail(new DecoderError(e.message));
      },
    });
    link.decoder = dec;
    this.link = link;
    // optimizeForLatency: FFmpeg frame threading otherwise holds a decoded frame back until
    // the next one arrives (measured: 2 of 30 VP8 frames held, i.e. +33 ms at 30 fps).
    dec.configure({ codec: CODEC_STRING[codec], optimizeForLatency: true });
    this.decoder = dec;
    this.codec = codec;
    this.stats.decoders++;
  }

  private onOutput(dec: VideoDecoder, f: VideoFrame): void {
    const ts = f.timestamp;
    if (this.decoder !== dec || this.closed) {
      f.close();
      return;
    }
    // Frames are output in decode order (no B-frames in WebRTC): anything older than this
    // one that is still in flight was consumed without a picture.
    for (const [k, v] of this.inFlight) {
      if (k >= ts) break;
      this.inFlight.delete(k);
      this.stats.skipped++;
      this.opts.onSkipped?.(v.tag, 'decoder_skipped');
    }
    const entry = this.inFlight.get(ts);
    this.inFlight.delete(ts);
    if (!entry) {
      f.close();
      return;
    }
    this.chain = this.chain.then(() => this.copyOut(dec, f, entry));
  }

  private async copyOut(dec: VideoDecoder, f: VideoFrame, entry: InFlight<T>): Promise<void> {
    try {
      const width = f.codedWidth;
      const height = f.codedHeight;
      const cw = (width + 1) >> 1;
      const ch = (height + 1) >> 1;
      const buf = new Uint8Array(width * height + 2 * cw * ch);
      // Ask for I420 with tight strides; a decoder that produced another layout converts.
      const layout = [{ offset: 0, stride: width }, { offset: width * height, stride: cw }, { offset: width * height + cw * ch, stride: cw }];
      await f.copyTo(buf, { format: 'I420', layout });
      if (this.decoder !== dec || this.closed) return;
      const pic: I420Picture = {
        width,
        height,
        y: buf.subarray(0, width * height),
        u: buf.subarray(width * height, width * height + cw * ch),
        v: buf.subarray(width * height + cw * ch),
        yStride: width,
        uvStride: cw,
      };
      this.stats.decoded++;
      this.opts.onPicture(pic, { decodeMs: performance.now() - entry.startMs, tag: entry.tag });
    } catch (e) {
      if (this.decoder === dec && !this.closed) this.fail(new DecoderError(`copying the decoded frame failed: ${(e as Error).message}`));
    } finally {
      f.close();
    }
  }

  private fail(err: Error): void {
    this.stats.errors++;
    this.discard('decode_error');
    this.opts.onError(err);
  }

  private discard(reason: DecoderSkipReason = 'decoder_skipped'): void {
    const dec = this.decoder;
    this.decoder = undefined;
    this.codec = undefined;
    if (this.link) {
      this.link.stage = undefined;
      this.link.decoder = undefined;
      this.link = undefined;
    }
    for (const v of this.inFlight.values()) {
      this.stats.skipped++;
      this.opts.onSkipped?.(v.tag, reason);
    }
    this.inFlight.clear();
    if (dec && dec.state !== 'closed') {
      try {
        dec.close();
      } catch {
        // already closing on its own after an error: nothing left to release
      }
    }
  }
}
