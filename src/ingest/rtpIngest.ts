/**
 * The whole ingest chain of one video track as one pure stage: RTP packets in, encoded frames
 * (and what to do about the stream) out.
 *
 *   packet → payload type → codec   (unknown types: an event, nothing else)
 *          → RtpReorderBuffer (one per SSRC; a new SSRC starts over)
 *          → FrameAssembler   (one per codec; a codec switch starts over)
 *          → IngestOutput[]
 *
 * No timers and no I/O: the owner passes time in and calls tick(now) every ~100 ms, so a
 * stalled reorder buffer is flushed and a missing keyframe is asked for again. The session only
 * wires it: packets in, one handler for the outputs.
 */
import { FrameAssembler } from './frameAssembler.js';
import { RtpReorderBuffer, type ReorderOutput } from './rtpReorder.js';
import type { AssemblerOutput, KeyframeReason, RtpIn, StreamEvent, VideoCodecName } from './types.js';

/** What the stream did that the chain noticed; `unknown_payload_type`: a packet of no negotiated video codec. */
export type IngestEvent = StreamEvent | 'unknown_payload_type';

export type IngestOutput =
  | Exclude<AssemblerOutput, { kind: 'stream_event' }>
  | { readonly kind: 'stream_event'; readonly event: IngestEvent };

export interface RtpIngestOptions {
  /** Negotiated video payload types and their codecs. */
  readonly codecs: ReadonlyMap<number, VideoCodecName>;
  /** Largest decoded frame accepted (width × height), px. */
  readonly maxFramePixels: number;
  /** How long the reorder buffer waits for a missing packet, ms. */
  readonly reorderWaitMs: number;
}

export class RtpIngest {
  private reorder: RtpReorderBuffer | undefined;
  private reorderSsrc: number | undefined;
  private assembler: FrameAssembler | undefined;
  private lastSsrc: number | undefined;

  constructor(private readonly opts: RtpIngestOptions) {
    if (opts.codecs.size === 0) throw new RangeError('RtpIngest: no video codec negotiated');
  }

  /** SSRC of the last accepted packet (where keyframe requests go), undefined before one. */
  get ssrc(): number | undefined {
    return this.lastSsrc;
  }

  /** Codec of the current assembler, undefined before the first accepted packet. */
  get codec(): VideoCodecName | undefined {
    return this.assembler?.codec;
  }

  push(packet: RtpIn, nowMs: number): IngestOutput[] {
    const codec = this.opts.codecs.get(packet.payloadType);
    // RTX is already unwrapped by werift; any other type (audio is routed elsewhere) is not ours.
    if (!codec) return [{ kind: 'stream_event', event: 'unknown_payload_type' }];
    this.lastSsrc = packet.ssrc;
    if (this.assembler?.codec !== codec) this.assembler = new FrameAssembler(codec, { maxFramePixels: this.opts.maxFramePixels });
    if (this.reorderSsrc !== packet.ssrc) {
      // A new SSRC: the old one's held packets are dropped with its buffer.
      this.reorder = new RtpReorderBuffer({ maxWaitMs: this.opts.reorderWaitMs });
      this.reorderSsrc = packet.ssrc;
    }
    return this.assemble(this.reorder!.push(packet, nowMs), nowMs);
  }

  /** Flushes packets held past their wait and repeats an unanswered keyframe request. */
  tick(nowMs: number): IngestOutput[] {
    const out = this.reorder ? this.assemble(this.reorder.flush(nowMs), nowMs) : [];
    if (this.assembler) out.push(...this.assembler.tick(nowMs));
    return out;
  }

  /** The decoder lost its reference chain: wait for a keyframe (and ask for one). */
  requestKeyframe(reason: KeyframeReason, nowMs: number): IngestOutput[] {
    return this.assembler ? this.assembler.requestKeyframe(reason, nowMs) : [];
  }

  private assemble(outs: readonly ReorderOutput[], nowMs: number): IngestOutput[] {
    const asm = this.assembler;
    if (!asm) return [];
    const result: IngestOutput[] = [];
    for (const o of outs) result.push(...asm.push(o, nowMs));
    return result;
  }
}
