/**
 * Frame assembly for one video stream: the reorder buffer's in-order packets (and gaps) in,
 * whole encoded frames out, plus the decisions that keep the decoder fed with decodable input:
 *
 *  - a frame ends at its marker bit (or when the next timestamp starts); a gap inside it, a
 *    head that is missing or a payload that does not parse makes it `incomplete`/`corrupt`;
 *  - after any loss the reference chain is broken: delta frames are dropped
 *    (`waiting_keyframe`) and a keyframe is requested, again every `keyframeRetryMs` (500 ms)
 *    until one arrives (a PLI can be lost too);
 *  - the first frame of a stream, and of a new SSRC, must be a keyframe;
 *  - frames above `maxFramePixels` (from the keyframe header / SPS) or `maxFrameBytes` are
 *    refused (`too_large`) before they reach the decoder;
 *  - stream changes (SSRC, picture size, RTP timestamp jumps, sequence resyncs) are reported
 *    as `stream_event`s for the counters; the decoder copes with a new size at a keyframe.
 *
 * Pure: no timers, no I/O; time comes in as `nowMs`.
 */
import type { ReorderOutput } from './rtpReorder.js';
import type { AssemblerDropReason, AssemblerOutput, KeyframeReason, VideoCodecName } from './types.js';
import { depacketizeVp8, DepacketizeError, type DepacketizedFrame } from './vp8Depacketizer.js';
import { depacketizeH264 } from './h264Depacketizer.js';

/** An RTP timestamp step larger than this either way is a jump, not frame pacing: 5 s at 90 kHz. */
export const TIMESTAMP_JUMP_TICKS = 5 * 90_000;

export interface AssemblerOptions {
  /** Largest picture accepted, px (width × height). */
  readonly maxFramePixels: number;
  /** Largest encoded frame accepted, bytes. */
  readonly maxFrameBytes?: number;
  /**
   * While waiting for a keyframe, ask again this often, ms. Default 500: a PLI lost on the
   * way (5 % loss loses one in twenty) must not cost a whole second of masks, and an encoder
   * answers a PLI within an RTT and a frame or two, so 500 ms does not flood it with requests.
   */
  readonly keyframeRetryMs?: number;
}

interface Pending {
  readonly rtpTimestamp: number;
  readonly ssrc: number;
  readonly firstPacketMs: number;
  readonly payloads: Uint8Array[];
  bytes: number;
  /** A packet of this frame was lost, or it grew past maxFrameBytes. */
  broken: 'incomplete' | 'too_large' | undefined;
}

export interface AssemblerStats {
  readonly frames: number;
  readonly keyframes: number;
  readonly dropped: Readonly<Record<AssemblerDropReason, number>>;
  readonly keyframeRequests: number;
  readonly waitingKeyframe: boolean;
  readonly width: number | undefined;
  readonly height: number | undefined;
}

export class FrameAssembler {
  private readonly maxFramePixels: number;
  private readonly maxFrameBytes: number;
  private readonly keyframeRetryMs: number;
  private readonly depacketize: (payloads: readonly Uint8Array[]) => DepacketizedFrame;
  private cur: Pending | undefined;
  private waitingKeyframe = true;
  /** Reason to give when the wait for a keyframe is first announced (start until the first frame). */
  private waitReason: KeyframeReason = 'start';
  private announced = false;
  private lastRequestMs = -Infinity;
  private ssrc: number | undefined;
  private extTimestampBase = 0;
  private lastTimestamp: number | undefined;
  /** Timestamp of the last frame started (emitted or not), for jump detection. */
  private lastStartTimestamp: number | undefined;
  private width: number | undefined;
  private height: number | undefined;
  private stats = {
    frames: 0,
    keyframes: 0,
    keyframeRequests: 0,
    dropped: { incomplete: 0, corrupt: 0, too_large: 0, waiting_keyframe: 0 } as Record<AssemblerDropReason, number>,
  };

  constructor(readonly codec: VideoCodecName, opts: AssemblerOptions) {
    this.maxFramePixels = opts.maxFramePixels;
    this.maxFrameBytes = opts.maxFrameBytes ?? 4 * 1024 * 1024;
    this.keyframeRetryMs = opts.keyframeRetryMs ?? 500;
    this.depacketize = codec === 'vp8' ? depacketizeVp8 : depacketizeH264;
  }

  push(o: ReorderOutput, nowMs: number): AssemblerOutput[] {
    const out: AssemblerOutput[] = [];
    if (o.kind === 'gap') {
      // The lost packets belong to the frame being assembled, or to frames never seen, or
      // are the head of the next one (the depacketizers check for a missing head). Either way
      // the reference chain is broken.
      if (this.cur) this.cur.broken ??= 'incomplete';
      if (o.resync) out.push({ kind: 'stream_event', event: 'sequence_jump' });
      this.breakChain('loss', nowMs, out);
      return out;
    }
    const p = o.packet;
    if (this.ssrc !== undefined && p.ssrc !== this.ssrc) {
      // A new source (the sender restarted its encoder): what we hold is from another stream.
      if (this.cur) this.dropFrame(this.cur, 'incomplete', out);
      this.cur = undefined;
      this.lastTimestamp = undefined;
      this.lastStartTimestamp = undefined;
      out.push({ kind: 'stream_event', event: 'ssrc_change' });
      this.breakChain('ssrc_change', nowMs, out);
    }
    this.ssrc = p.ssrc;
    if (this.cur && this.cur.rtpTimestamp !== p.timestamp) {
      // The previous frame ended without a marker bit; complete unless a packet went missing.
      const prev = this.cur;
      this.cur = undefined;
      this.finish(prev, nowMs, out);
    }
    if (!this.cur) {
      if (this.lastStartTimestamp !== undefined && Math.abs((p.timestamp - this.lastStartTimestamp) | 0) > TIMESTAMP_JUMP_TICKS) {
        out.push({ kind: 'stream_event', event: 'timestamp_jump' });
      }
      this.lastStartTimestamp = p.timestamp;
      this.cur = { rtpTimestamp: p.timestamp, ssrc: p.ssrc, firstPacketMs: p.arrivalMs, payloads: [], bytes: 0, broken: undefined };
    }
    const f = this.cur;
    if (!f.broken) {
      f.bytes += p.payload.length;
      if (f.bytes > this.maxFrameBytes) {
        f.broken = 'too_large';
        f.payloads.length = 0;
      } else {
        f.payloads.push(p.payload);
      }
    }
    if (p.marker) {
      this.cur = undefined;
      this.finish(f, nowMs, out);
    }
    this.retryIfDue(nowMs, out);
    return out;
  }

  /**
   * The decoder failed (or was reset): delta frames are useless until the next keyframe.
   * Returns the keyframe request to send (none if one was sent less than keyframeRetryMs ago).
   */
  requestKeyframe(reason: KeyframeReason, nowMs: number): AssemblerOutput[] {
    const out: AssemblerOutput[] = [];
    this.breakChain(reason, nowMs, out);
    return out;
  }

  /** Call periodically (the session's tick): re-asks for a keyframe that has not come. */
  tick(nowMs: number): AssemblerOutput[] {
    const out: AssemblerOutput[] = [];
    this.retryIfDue(nowMs, out);
    return out;
  }

  get isWaitingForKeyframe(): boolean {
    return this.waitingKeyframe;
  }

  toJSON(): AssemblerStats {
    return { ...this.stats, dropped: { ...this.stats.dropped }, waitingKeyframe: this.waitingKeyframe, width: this.width, height: this.height };
  }

  private finish(f: Pending, nowMs: number, out: AssemblerOutput[]): void {
    if (f.broken) {
      this.dropFrame(f, f.broken, out);
      this.breakChain('loss', nowMs, out);
      return;
    }
    let d: DepacketizedFrame;
    try {
      d = this.depacketize(f.payloads);
    } catch (e) {
      if (!(e instanceof DepacketizeError)) throw e;
      this.dropFrame(f, 'corrupt', out);
      this.breakChain('loss', nowMs, out);
      return;
    }
    if (d.width !== undefined && d.height !== undefined && d.width * d.height > this.maxFramePixels) {
      this.dropFrame(f, 'too_large', out);
      this.breakChain('loss', nowMs, out);
      return;
    }
    if (this.waitingKeyframe && !d.keyframe) {
      this.dropFrame(f, 'waiting_keyframe', out);
      // The stream's very first frame is not a keyframe: that is when "start" asks for one.
      if (!this.announced) this.announce(nowMs, out);
      return;
    }
    if (d.keyframe) {
      this.waitingKeyframe = false;
      this.announced = false;
      this.stats.keyframes++;
      if (this.width !== undefined && d.width !== undefined && (d.width !== this.width || d.height !== this.height)) {
        out.push({ kind: 'stream_event', event: 'resolution_change' });
      }
      if (d.width !== undefined) this.width = d.width;
      if (d.height !== undefined) this.height = d.height;
    }
    this.stats.frames++;
    out.push({
      kind: 'frame',
      frame: {
        codec: this.codec,
        data: d.data,
        keyframe: d.keyframe,
        rtpTimestamp: f.rtpTimestamp,
        extTimestamp: this.extend(f.rtpTimestamp),
        ssrc: f.ssrc,
        firstPacketMs: f.firstPacketMs,
        completeMs: nowMs,
        ...(d.width !== undefined && d.height !== undefined ? { width: d.width, height: d.height } : {}),
      },
    });
  }

  private dropFrame(f: Pending, reason: AssemblerDropReason, out: AssemblerOutput[]): void {
    this.stats.dropped[reason]++;
    out.push({ kind: 'frame_dropped', reason, rtpTimestamp: f.rtpTimestamp });
  }

  /** Enter (or stay in) the wait for a keyframe; announce it unless one was asked for recently. */
  private breakChain(reason: KeyframeReason, nowMs: number, out: AssemblerOutput[]): void {
    if (!this.waitingKeyframe || this.waitReason === 'start') this.waitReason = reason;
    this.waitingKeyframe = true;
    if (nowMs - this.lastRequestMs >= this.keyframeRetryMs || !this.announced) this.announce(nowMs, out);
  }

  private announce(nowMs: number, out: AssemblerOutput[]): void {
    this.announced = true;
    this.lastRequestMs = nowMs;
    this.stats.keyframeRequests++;
    out.push({ kind: 'keyframe_needed', reason: this.waitReason });
  }

  private retryIfDue(nowMs: number, out: AssemblerOutput[]): void {
    if (this.waitingKeyframe && this.announced && nowMs - this.lastRequestMs >= this.keyframeRetryMs) {
      this.waitReason = 'timeout';
      this.announce(nowMs, out);
    }
  }

  /** Unwrapped RTP timestamp (uint32 wraps every 13.25 h at 90 kHz). */
  private extend(ts: number): number {
    if (this.lastTimestamp !== undefined) {
      const d = (ts - this.lastTimestamp) >>> 0;
      // Forward by less than half the range: same epoch or wrapped forward.
      if (d < 0x80000000 && ts < this.lastTimestamp) this.extTimestampBase += 0x100000000;
      else if (d >= 0x80000000 && ts > this.lastTimestamp) this.extTimestampBase -= 0x100000000;
    }
    this.lastTimestamp = ts;
    return this.extTimestampBase + ts;
  }
}
