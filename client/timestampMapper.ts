/**
 * Maps the RTP timestamp of an encoded (sent) video frame back to the capture timestamp of the
 * local frame it was encoded from. Pure logic, no DOM.
 *
 * What this Chromium (156) does, measured in a two-RTCPeerConnection loopback page:
 *   rtp = 90 × floor(aligned_capture_µs / 1000) + C   (mod 2^32)
 * where aligned_capture_µs is WebRTC's timestamp-aligner output, within ±0.1 ms of the local
 * VideoFrame.timestamp, and C is a random per-SSRC offset. Evidence: every RTP delta between
 * sent frames is a multiple of 90 (228/228); one offset explains all 229 sent frames with a
 * residual of −0.2…+0.8 ms against VideoFrame.timestamp; with that flag (below), metadata
 * `timestamp` − VideoFrame.timestamp stays within ±90 µs and rtp − 90 × floor(timestamp / 1000)
 * is one constant for all frames. So rtp − 90 × floor(ts_µs / 1000) is C for (nearly) every
 * frame, C ± 90 when the aligner jitter crosses a millisecond boundary.
 * The encoded-frame metadata of a default Chromium carries rtpTimestamp but no capture time,
 * so C is learned by voting over (encoded frame, local frame) pairs that are plausible in
 * time: the local frame was captured at most maxLagMs before the encoder emitted the frame.
 * If the metadata does carry a capture timestamp (`timestamp`, only with
 * --enable-blink-features=RTCEncodedVideoFrameAdditionalMetadata in Chromium 156), it
 * narrows each vote to the local frame it names.
 */

/** An encoded frame seen by the sender-side transform. */
export interface EncodedObservation {
  readonly rtp: number;
  readonly ssrc: number;
  /** When the transform saw it, page clock ms (performance.now()). */
  readonly seenAtMs: number;
  /** Capture timestamp from the encoded-frame metadata, µs, when the browser gives one. */
  readonly captureUsHint?: number;
}

export interface MapperOptions {
  /** Longest plausible capture → encoded-frame-out delay, ms. */
  readonly maxLagMs?: number;
  /** Allowed clock error the other way (encoded "before" capture), ms. */
  readonly slackMs?: number;
  /** Votes decay by this factor per observation, so a changed mapping is relearned in ~1 s. */
  readonly decay?: number;
  /** Votes needed before the mapping is used. */
  readonly minVotes?: number;
}

interface Hypothesis {
  /** C, ticks in [0, 2^32). */
  readonly offset: number;
  votes: number;
  members: number;
  /** Mean of (seenAt − capture) of its pairs, ms. */
  meanLagMs: number;
}

interface LocalStamp {
  readonly tsUs: number;
  readonly captureAtMs: number;
}

const TWO32 = 2 ** 32;

/** a − b on the uint32 circle, as a signed difference in (−2^31, 2^31]. */
export function rtpDiff(a: number, b: number): number {
  let d = (a - b) % TWO32;
  if (d > TWO32 / 2) d -= TWO32;
  else if (d <= -TWO32 / 2) d += TWO32;
  return d;
}

function mod32(v: number): number {
  const m = v % TWO32;
  return m < 0 ? m + TWO32 : m;
}

export type MappingSource = 'metadata' | 'learned' | 'none';

export class RtpCaptureMapper {
  private readonly locals: LocalStamp[] = [];
  private readonly pending: EncodedObservation[] = [];
  /** Keyed by exact offset (ticks). */
  private hyps = new Map<number, Hypothesis>();
  private ssrc: number | undefined;
  private observations = 0;
  private hintedVotes = 0;
  private chosen: Hypothesis | undefined;
  private readonly maxLagMs: number;
  private readonly slackMs: number;
  private readonly decay: number;
  private readonly minVotes: number;

  constructor(opts: MapperOptions = {}) {
    this.maxLagMs = opts.maxLagMs ?? 250;
    this.slackMs = opts.slackMs ?? 5;
    this.decay = opts.decay ?? 0.98;
    this.minVotes = opts.minVotes ?? 3;
  }

  /** A local frame: its timestamp (µs) and its capture time on the page clock (ms). */
  addLocal(tsUs: number, captureAtMs: number): void {
    this.locals.push({ tsUs, captureAtMs });
    // Two seconds of frames covers maxLagMs with room for late observations.
    while (this.locals.length > 0 && this.locals[0]!.captureAtMs < captureAtMs - 2000) this.locals.shift();
    this.drain();
  }

  addEncoded(obs: EncodedObservation): void {
    if (this.ssrc !== obs.ssrc) this.reset(obs.ssrc);
    this.pending.push(obs);
    if (this.pending.length > 120) this.pending.shift();
    this.drain();
  }

  /**
   * Observations are voted on only once every local frame that could be their source has
   * been read (the page reads frames and hears from the transform worker on separate paths).
   */
  private drain(): void {
    const newest = this.locals[this.locals.length - 1];
    while (this.pending.length > 0) {
      const obs = this.pending[0]!;
      const ready = newest !== undefined &&
        (newest.captureAtMs > obs.seenAtMs + this.slackMs || (obs.captureUsHint !== undefined && newest.tsUs >= obs.captureUsHint - 2000));
      if (!ready) return;
      this.pending.shift();
      this.vote(obs);
    }
  }

  private candidates(obs: EncodedObservation): LocalStamp[] {
    if (obs.captureUsHint !== undefined) {
      const hint = obs.captureUsHint;
      const near = this.locals.filter((l) => Math.abs(l.tsUs - hint) <= 2000);
      if (near.length > 0) {
        this.hintedVotes++;
        return near;
      }
      // A hint that matches no local frame is not on the VideoFrame clock: ignore it.
    }
    return this.locals.filter((l) => l.captureAtMs <= obs.seenAtMs + this.slackMs && l.captureAtMs >= obs.seenAtMs - this.maxLagMs);
  }

  private vote(obs: EncodedObservation): void {
    this.observations++;
    for (const h of this.hyps.values()) h.votes *= this.decay;
    const seen = new Set<number>();
    for (const l of this.candidates(obs)) {
      const off = mod32(obs.rtp - 90 * Math.floor(l.tsUs / 1000));
      if (seen.has(off)) continue;
      seen.add(off);
      const lag = obs.seenAtMs - l.captureAtMs;
      let h = this.hyps.get(off);
      if (!h) {
        h = { offset: off, votes: 0, members: 0, meanLagMs: lag };
        this.hyps.set(off, h);
      }
      h.members++;
      h.votes += 1;
      h.meanLagMs += (lag - h.meanLagMs) / Math.min(h.members, 50);
    }
    if (this.hyps.size > 256) {
      const keep = [...this.hyps.values()].sort((a, b) => b.votes - a.votes).slice(0, 64);
      this.hyps = new Map(keep.map((h) => [h.offset, h]));
    }
    for (const [k, h] of this.hyps) if (h.votes < 0.05) this.hyps.delete(k);
    this.choose();
  }

  /**
   * Votes are for exact offsets: the true C gets a vote from nearly every encoded frame (all
   * but the ~5 % where aligner jitter crosses a millisecond boundary). An offset shifted by a
   * whole frame interval gets one only when that interval is the same whole number of ms:
   * at 30 fps (33.3 ms) that is at most 2 frames in 3 even for a perfectly regular camera,
   * less with real jitter. Among near-ties (a perfectly regular camera at an integer-ms
   * interval), the true C pairs each encoded frame with the latest plausible capture, i.e.
   * has the smallest capture → encode lag.
   */
  private choose(): void {
    let top: Hypothesis | undefined;
    for (const h of this.hyps.values()) if (!top || h.votes > top.votes) top = h;
    if (!top || top.votes < this.minVotes) {
      this.chosen = undefined;
      return;
    }
    let best = top;
    for (const h of this.hyps.values()) if (h.votes >= 0.9 * top.votes && h.meanLagMs < best.meanLagMs) best = h;
    this.chosen = best;
  }

  get locked(): boolean {
    return this.chosen !== undefined;
  }

  get source(): MappingSource {
    if (!this.chosen) return 'none';
    return this.hintedVotes > this.observations / 2 ? 'metadata' : 'learned';
  }

  /** Current offset C (ticks) and its support, for the HUD / test hooks. */
  describe(): { source: MappingSource; offset?: number; votes?: number; lagMs?: number; hypotheses: number; observations: number } {
    const c = this.chosen;
    return {
      source: this.source,
      ...(c ? { offset: Math.round(c.offset), votes: Math.round(c.votes * 10) / 10, lagMs: Math.round(c.meanLagMs * 10) / 10 } : {}),
      hypotheses: this.hyps.size,
      observations: this.observations,
    };
  }

  /**
   * Capture timestamp (µs) of the frame sent with this RTP timestamp, or undefined while the
   * mapping is unknown. `nearUs` (any recent capture timestamp) resolves the 2^32-tick
   * wraparound (13.3 h at 90 kHz).
   */
  captureUs(rtp: number, nearUs: number): number | undefined {
    const c = this.chosen;
    if (!c) return undefined;
    const ticks = mod32(rtp - c.offset); // = 90 × floor(capture ms), mod 2^32
    const nearMs = Math.floor(nearUs / 1000);
    const ms = nearMs + rtpDiff(ticks, mod32(90 * nearMs)) / 90;
    // floor() above lost up to 1 ms: the capture lies in [ms, ms + 1).
    return (ms + 0.5) * 1000;
  }

  private reset(ssrc: number): void {
    this.ssrc = ssrc;
    this.hyps.clear();
    this.pending.length = 0;
    this.observations = 0;
    this.hintedVotes = 0;
    this.chosen = undefined;
  }
}
