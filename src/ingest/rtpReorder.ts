/**
 * Jitter/reorder buffer for one RTP stream (one SSRC): packets in, in arrival order; packets
 * out, in sequence order, each exactly once. A missing packet is waited for up to `maxWaitMs`
 * (time for werift's NACK → RTX retransmission to arrive); then the buffer gives up on it and
 * reports a `gap`, which tells the frame assembler that the frame it belonged to is broken.
 *
 * Pure: no timers, no I/O; time comes in as `nowMs`. The owner calls `flush(now)`
 * periodically so a stream that stops right after a loss still gets its gap reported.
 * Bounded: at most `capacity` packets are held; beyond that the oldest hole is given up.
 */
import type { RtpIn } from './types.js';

export type ReorderOutput =
  | { readonly kind: 'packet'; readonly packet: RtpIn }
  /**
   * `lost` packets were given up on just before the next packet out; `resync`: the sequence
   * jumped by more than maxJump (sender restart) and the buffer started over.
   */
  | { readonly kind: 'gap'; readonly lost: number; readonly resync?: true };

export interface ReorderOptions {
  /** How long a hole is waited for before it is declared lost, ms. */
  readonly maxWaitMs: number;
  /** Packets held at most while waiting for a hole (≈ 1 s of 640×480 video at 300). */
  readonly capacity?: number;
  /**
   * A jump forward by more than this many sequence numbers is a sender restart, not loss:
   * the buffer resynchronises instead of waiting for thousands of packets.
   */
  readonly maxJump?: number;
}

export interface ReorderStats {
  readonly received: number;
  readonly emitted: number;
  readonly duplicates: number;
  /** Arrived after the buffer had given up on them (or from before the start). */
  readonly late: number;
  /** Arrived out of order but in time. */
  readonly reordered: number;
  /** Given up on. */
  readonly lost: number;
  readonly resyncs: number;
}

const SEQ_MOD = 0x10000;

export class RtpReorderBuffer {
  private readonly maxWaitMs: number;
  private readonly capacity: number;
  private readonly maxJump: number;
  /** Held packets by extended sequence number. */
  private readonly held = new Map<number, RtpIn>();
  /** Extended sequence number of the next packet to emit; undefined before the first packet. */
  private next: number | undefined;
  /** Highest extended sequence number seen (the reference for unwrapping). */
  private highest = 0;
  private stats = { received: 0, emitted: 0, duplicates: 0, late: 0, reordered: 0, lost: 0, resyncs: 0 };

  constructor(opts: ReorderOptions) {
    this.maxWaitMs = opts.maxWaitMs;
    this.capacity = opts.capacity ?? 300;
    this.maxJump = opts.maxJump ?? 3000;
    if (!(this.maxWaitMs >= 0) || !(this.capacity >= 1) || !(this.maxJump >= 1)) throw new RangeError('RtpReorderBuffer: maxWaitMs ≥ 0, capacity ≥ 1, maxJump ≥ 1');
  }

  /** Packets held waiting for a hole to fill. */
  get size(): number {
    return this.held.size;
  }

  push(packet: RtpIn, nowMs: number): ReorderOutput[] {
    this.stats.received++;
    const out: ReorderOutput[] = [];
    if (this.next === undefined) {
      this.next = this.highest = packet.seq;
      this.emit(packet, out);
      return out;
    }
    const ext = this.unwrap(packet.seq);
    if (ext < this.next) {
      // Already emitted or given up on. Telling the two apart needs history; both are dropped.
      if (this.next - ext > this.maxJump) return this.resync(packet, ext, out);
      this.stats.late++;
      return out;
    }
    if (this.held.has(ext)) {
      this.stats.duplicates++;
      return out;
    }
    if (ext - this.next > this.maxJump) return this.resync(packet, ext, out);
    if (ext < this.highest) this.stats.reordered++;
    else this.highest = ext;
    if (ext === this.next) {
      this.emit(packet, out);
      this.drain(out);
    } else {
      this.held.set(ext, packet);
      // Over capacity: the oldest hole will not be filled in time for anything useful.
      while (this.held.size > this.capacity) this.skipToOldestHeld(out);
    }
    out.push(...this.flush(nowMs));
    return out;
  }

  /** Gives up on holes whose successor has waited longer than maxWaitMs. Call periodically. */
  flush(nowMs: number): ReorderOutput[] {
    const out: ReorderOutput[] = [];
    while (this.held.size > 0) {
      const oldest = this.oldestHeld();
      if (nowMs - oldest.packet.arrivalMs < this.maxWaitMs) break;
      this.skipToOldestHeld(out);
    }
    return out;
  }

  toJSON(): ReorderStats & { held: number } {
    return { ...this.stats, held: this.held.size };
  }

  /** Extended sequence number of a 16-bit one: the candidate closest to the highest seen. */
  private unwrap(seq: number): number {
    const base = this.highest - (this.highest % SEQ_MOD);
    let ext = base + seq;
    if (ext - this.highest > SEQ_MOD / 2) ext -= SEQ_MOD;
    else if (this.highest - ext > SEQ_MOD / 2) ext += SEQ_MOD;
    return ext;
  }

  private emit(packet: RtpIn, out: ReorderOutput[]): void {
    out.push({ kind: 'packet', packet });
    this.stats.emitted++;
    this.next! += 1;
  }

  private drain(out: ReorderOutput[]): void {
    for (let p = this.held.get(this.next!); p; p = this.held.get(this.next!)) {
      this.held.delete(this.next!);
      this.emit(p, out);
    }
  }

  private oldestHeld(): { ext: number; packet: RtpIn } {
    let ext = Infinity;
    for (const k of this.held.keys()) if (k < ext) ext = k;
    return { ext, packet: this.held.get(ext)! };
  }

  private skipToOldestHeld(out: ReorderOutput[]): void {
    const { ext } = this.oldestHeld();
    const lost = ext - this.next!;
    this.stats.lost += lost;
    out.push({ kind: 'gap', lost });
    this.next = ext;
    this.drain(out);
  }

  /** Sender restarted its sequence (or a huge jump): drop what is held, start over at `packet`. */
  private resync(packet: RtpIn, ext: number, out: ReorderOutput[]): ReorderOutput[] {
    this.stats.resyncs++;
    const dropped = this.held.size;
    this.held.clear();
    out.push({ kind: 'gap', lost: dropped, resync: true });
    this.next = this.highest = ext;
    this.emit(packet, out);
    return out;
  }
}
