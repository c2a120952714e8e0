/**
 * Per-session memory of the last `capacity` frames for the temporal stage: a key feature map
 * [h, w, c] and a value map [H, W, 1] (logits or probabilities) per frame.
 *
 * All slots are tf.Variables created up front, so a session's footprint is fixed from the
 * start (`bytes`) and push() never grows it: Variable.assign() releases the slot's previous
 * buffer and takes a reference to the pushed tensor's buffer (no copy). The caller keeps
 * ownership of the tensors it pushes and disposes its own handles as usual; the ring's
 * reference keeps the data alive until the slot is overwritten, reset or disposed.
 */
import * as tf from '@tensorflow/tfjs';

export interface RingBufferOptions {
  /** Frames kept (≥ 1). */
  readonly capacity: number;
  /** Key feature map shape [h, w, c]. */
  readonly keyShape: readonly [number, number, number];
  /** Value map shape [H, W, 1]. */
  readonly valueShape: readonly [number, number, number];
}

/** One stored frame. Borrowed views: valid until the next push/reset/dispose; do not dispose. */
export interface RingEntry {
  readonly key: tf.Tensor3D;
  readonly value: tf.Tensor3D;
}

export class RingBufferError extends Error {
  override readonly name = 'RingBufferError';
}

const BYTES_PER_FLOAT32 = 4;

export class FeatureRingBuffer {
  readonly capacity: number;
  readonly keyShape: readonly [number, number, number];
  readonly valueShape: readonly [number, number, number];
  /** Memory held by the slots, bytes (float32); fixed for the buffer's life. */
  readonly bytes: number;
  private readonly keys: tf.Variable<tf.Rank.R3>[] = [];
  private readonly values: tf.Variable<tf.Rank.R3>[] = [];
  /** Slot the next push() writes. */
  private head = 0;
  private count = 0;
  private disposed = false;

  constructor(opts: RingBufferOptions) {
    const { capacity, keyShape, valueShape } = opts;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RingBufferError(`ring capacity must be an integer ≥ 1, got ${capacity}`);
    for (const [what, s] of [['keyShape', keyShape], ['valueShape', valueShape]] as const) {
      if (s.length !== 3 || !s.every((d) => Number.isInteger(d) && d > 0)) throw new RingBufferError(`${what} must be [h, w, c] of positive integers, got [${s}]`);
    }
    this.capacity = capacity;
    this.keyShape = [...keyShape];
    this.valueShape = [...valueShape];
    this.bytes = capacity * (sizeOf(keyShape) + sizeOf(valueShape)) * BYTES_PER_FLOAT32;
    for (let i = 0; i < capacity; i++) {
      this.keys.push(zeroVariable(keyShape));
      this.values.push(zeroVariable(valueShape));
    }
  }

  /** Valid entries (≤ capacity). */
  get size(): number {
    return this.count;
  }

  /** Stores one frame in the next slot, overwriting the oldest when full. */
  push(key: tf.Tensor3D, value: tf.Tensor3D): void {
    this.assertOpen('push');
    checkShape('key', key, this.keyShape);
    checkShape('value', value, this.valueShape);
    this.keys[this.head]!.assign(key);
    this.values[this.head]!.assign(value);
    this.head = (this.head + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** Valid entries, oldest first (borrowed: do not dispose, do not keep past the next push). */
  entries(): RingEntry[] {
    this.assertOpen('entries');
    const out: RingEntry[] = [];
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) {
      const slot = (start + i) % this.capacity;
      out.push({ key: this.keys[slot]!, value: this.values[slot]! });
    }
    return out;
  }

  /**
   * The valid entries stacked oldest first: keys [n, h, w, c], values [n, H, W, 1].
   * New tensors, caller owns both; null when empty.
   */
  stacked(): { keys: tf.Tensor4D; values: tf.Tensor4D } | null {
    const e = this.entries();
    if (e.length === 0) return null;
    return tf.tidy(() => ({ keys: tf.stack(e.map((x) => x.key)) as tf.Tensor4D, values: tf.stack(e.map((x) => x.value)) as tf.Tensor4D }));
  }

  /** Forgets all entries (e.g. after a scene cut); keeps the slots, so memory stays as is. */
  reset(): void {
    this.assertOpen('reset');
    this.head = 0;
    this.count = 0;
  }

  /** Frees the slots. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.count = 0;
    for (const v of [...this.keys, ...this.values]) v.dispose();
    this.keys.length = 0;
    this.values.length = 0;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertOpen(op: string): void {
    if (this.disposed) throw new RingBufferError(`FeatureRingBuffer.${op}() after dispose(); the session that owned it is closed`);
  }
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function zeroVariable(shape: readonly [number, number, number]): tf.Variable<tf.Rank.R3> {
  const z = tf.zeros(shape as [number, number, number]) as tf.Tensor3D;
  try {
    // trainable=false: no gradient bookkeeping; the variable shares z's buffer, so z itself goes.
    return tf.variable(z, false);
  } finally {
    z.dispose();
  }
}

function checkShape(what: string, t: tf.Tensor, want: readonly number[]): void {
  if (t.rank !== 3 || t.shape.some((d, i) => d !== want[i])) {
    throw new RingBufferError(`pushed ${what} has shape [${t.shape}], the ring was built for [${want}]`);
  }
  if (t.dtype !== 'float32') throw new RingBufferError(`pushed ${what} is ${t.dtype}; the ring stores float32`);
}
