/**
 * One session's memory of its last `capacity` frames for the temporal stage: per frame a key
 * feature map (unit-length query/key vectors on the backbone's h × w feature grid, c channels)
 * and a value map (the session's own final mask for that frame, 8-bit, H × W px).
 *
 * Preallocated, fixed memory: every slot lives in two typed arrays allocated once, so a
 * session's footprint is `bytes` from the start and push() never allocates. Values are kept
 * as 8-bit probabilities (the exact bytes sent to the client) — a quarter of float32 and no
 * loss, since that is all the precision the mask ever had. Plain arrays, not tensors: the
 * fused attention kernel reads them directly; the tensor implementation uploads the stacked
 * memory once per frame (one copy of `bytes`, cheap on any accelerator).
 *
 * Slots are in storage order, not age order: the attention read treats memory as a set
 * (its only order dependence is the tie rule). `newest()` gives the last pushed slot.
 */

export interface RingBufferOptions {
  /** Frames kept (≥ 1). */
  readonly capacity: number;
  /** Feature grid cells (h × w) and channels per key. */
  readonly cells: number;
  readonly channels: number;
  /** Mask pixels per value map (H × W). */
  readonly pixels: number;
}

export class RingBufferError extends Error {
  override readonly name = 'RingBufferError';
}

export class FrameRing {
  readonly capacity: number;
  readonly cells: number;
  readonly channels: number;
  readonly pixels: number;
  /** Memory held, bytes; fixed for the ring's life. */
  readonly bytes: number;
  /** [capacity, cells, channels] float32, storage order. Only the first `size` slots are valid. */
  readonly keys: Float32Array;
  /** [capacity, pixels] uint8, storage order. */
  readonly values: Uint8Array;
  private head = 0;
  private count = 0;
  private disposed = false;

  constructor(opts: RingBufferOptions) {
    const { capacity, cells, channels, pixels } = opts;
    for (const [k, v] of Object.entries({ capacity, cells, channels, pixels })) {
      if (!Number.isInteger(v) || v < 1) throw new RingBufferError(`ring ${k} must be a positive integer, got ${v}`);
    }
    if (capacity > 64) throw new RingBufferError(`ring capacity ${capacity} is above the limit of 64 frames`);
    this.capacity = capacity;
    this.cells = cells;
    this.channels = channels;
    this.pixels = pixels;
    this.keys = new Float32Array(capacity * cells * channels);
    this.values = new Uint8Array(capacity * pixels);
    this.bytes = this.keys.byteLength + this.values.byteLength;
  }

  /** Valid slots (≤ capacity). When the ring is full they are all valid. */
  get size(): number {
    return this.count;
  }

  /** Copies one frame into the next slot, overwriting the oldest when full. */
  push(key: ArrayLike<number>, value: ArrayLike<number>): void {
    this.assertOpen('push');
    const kn = this.cells * this.channels;
    if (key.length !== kn) throw new RingBufferError(`pushed key has ${key.length} elements, the ring was built for ${this.cells} cells × ${this.channels} channels = ${kn}`);
    if (value.length !== this.pixels) throw new RingBufferError(`pushed value has ${value.length} pixels, the ring was built for ${this.pixels}`);
    this.keys.set(key, this.head * kn);
    this.values.set(value, this.head * this.pixels);
    this.head = (this.head + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** Slot index of the most recent push, or -1 when empty. */
  newest(): number {
    return this.count === 0 ? -1 : (this.head - 1 + this.capacity) % this.capacity;
  }

  /** The value map of a slot (a view; valid until that slot is overwritten). */
  value(slot: number): Uint8Array {
    if (slot < 0 || slot >= this.count) throw new RingBufferError(`slot ${slot} is not valid (${this.count} frames held)`);
    return this.values.subarray(slot * this.pixels, (slot + 1) * this.pixels);
  }

  /** Forgets all frames (e.g. after a scene cut); keeps the memory. */
  reset(): void {
    this.assertOpen('reset');
    this.head = 0;
    this.count = 0;
  }

  /** Marks the ring unusable (its arrays are garbage once the owner drops it). Idempotent. */
  dispose(): void {
    this.disposed = true;
    this.count = 0;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertOpen(op: string): void {
    if (this.disposed) throw new RingBufferError(`FrameRing.${op}() after dispose(); the session that owned it is closed`);
  }
}
