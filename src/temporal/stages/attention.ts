/**
 * Temporal attention over the session's ring buffer (definition of the read in
 * ../attention/types.ts), in two variants that share everything up to the fusion:
 *
 *  - `attention` (non-parametric): cosine affinity between the current frame's backbone
 *    features and the memory's, windowed, top-k over all memory frames, softmax with a
 *    temperature, weighted sum of the memory's masks; the read is combined with the current
 *    prediction as independent evidence in logit space: fused logit = L_t + γ·logit(read),
 *    both clamped to ±8. A confident current frame overrules a hesitant memory and vice
 *    versa, which a probability average cannot do (measured: TE 0.98 % vs 1.22 % at equal J
 *    on the validation clips, γ = 0.75).
 *  - `attention-learned`: the same read, fused by a small trained head that decides per pixel
 *    how much to trust the current prediction versus the memory, from the two predictions, the
 *    match confidence, the motion the read implies and the frame difference (fusionHead.ts).
 *
 * Keys are the backbone features, optionally projected (a fixed matrix from the weights file),
 * then L2-normalised. The read runs as the fused typed-array kernel on CPU backends (wasm, cpu)
 * and as tensor ops elsewhere (GPU); both compute the same thing (tested against each other).
 */
import * as tf from '@tensorflow/tfjs';
import { FrameRing } from '../ringBuffer.js';
import { FusedAttention } from '../attention/fusedKernel.js';
import { TensorAttention } from '../attention/tensorAttention.js';
import type { AttentionParams } from '../attention/types.js';
import { TemporalConfigError, type TemporalInput, type TemporalStage, type TemporalState } from '../temporalStage.js';
import { asState } from './simple.js';
import { LOGIT_CLAMP, clampLogit, fastClampedLogit, fastSigmoid } from '../../shared/fastMath.js';
import type { FusionHead, FusionInputs } from './fusionHead.js';

export interface AttentionGeometryIn {
  /** Mask size, px. */
  readonly maskHeight: number;
  readonly maskWidth: number;
  /** Backbone feature map [h, w, c]. */
  readonly featureShape: readonly [number, number, number];
}

export interface AttentionStageOptions {
  readonly params: AttentionParams;
  /** Memory frames per session. */
  readonly ringSize: number;
  /** Weight γ of the memory read's logit in the non-parametric fusion, [0, 2]. */
  readonly memoryWeight: number;
  /** Optional key projection [c, c'] (row-major), applied before normalisation. */
  readonly projection?: { readonly matrix: Float32Array; readonly outChannels: number };
  /** 'auto' = fused kernel on CPU backends (wasm, cpu, ort-*), tensor ops on the TF.js native ones. */
  readonly implementation: 'auto' | 'fused' | 'tensor';
  /** The learned fusion (attention-learned); absent = the non-parametric rule. */
  readonly head?: FusionHead;
  /** Fuse with tensor ops even on CPU backends (training, and tests of the array path). */
  readonly tensorFusion?: boolean;
}

export class AttentionState implements TemporalState {
  readonly ring: FrameRing;
  /** This frame's key, kept between process() and commit(). */
  readonly pendingKey: Float32Array;
  hasPending = false;
  /** Luma of the previous frame's model input (motion cue for the learned head). */
  readonly prevLuma: Uint8Array;
  hasPrevLuma = false;

  private released = false;

  /**
   * @param release where a disposed state goes to be reused by a later session (the stage's
   *   pool); without it, dispose() ends the ring for good.
   */
  constructor(ring: FrameRing, pixels: number, private readonly release?: (s: AttentionState) => boolean) {
    this.ring = ring;
    this.pendingKey = new Float32Array(ring.cells * ring.channels);
    this.prevLuma = new Uint8Array(pixels);
  }

  get bytes(): number {
    return this.ring.bytes + this.pendingKey.byteLength + this.prevLuma.byteLength;
  }

  /** Empty again for a new session (memory kept). */
  reuse(): this {
    this.released = false;
    this.ring.reset();
    this.hasPending = false;
    this.hasPrevLuma = false;
    return this;
  }

  /** Idempotent: the state goes back to the stage's pool once, or its ring is disposed. */
  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.hasPending = false;
    this.hasPrevLuma = false;
    if (!this.release?.(this)) this.ring.dispose();
  }
}

/**
 * States of closed sessions kept for the next ones: a state is ≈ 0.4 MiB of typed arrays, and
 * sessions that come and go would otherwise leave that much garbage in the worker's heap each
 * time (measured: +79 MiB RSS over 200 sessions before a worker GC). Bounded.
 */
const MAX_SPARE_STATES = 8;

export class AttentionTemporal implements TemporalStage {
  readonly name: 'attention' | 'attention-learned';
  /** attention-learned reads the frame difference of the picture's luma; attention does not. */
  readonly usesLuma: boolean;
  private readonly h: number;
  private readonly w: number;
  private readonly c: number;
  private readonly H: number;
  private readonly W: number;
  private readonly stride: number;
  private readonly keyChannels: number;
  private readonly fused: FusedAttention | undefined;
  private readonly tensor: TensorAttention | undefined;
  private readonly projection: tf.Tensor2D | undefined;
  private disposed = false;
  /** Closed sessions' states, ready for reuse (≤ MAX_SPARE_STATES). */
  private readonly spare: AttentionState[] = [];

  constructor(geometry: AttentionGeometryIn, private readonly opts: AttentionStageOptions, backend: string) {
    const [h, w, c] = geometry.featureShape;
    this.h = h;
    this.w = w;
    this.c = c;
    this.H = geometry.maskHeight;
    this.W = geometry.maskWidth;
    this.stride = this.H / h;
    if (!Number.isInteger(this.stride) || this.W / w !== this.stride) {
      throw new TemporalConfigError(`attention needs the mask (${this.W}×${this.H}) to be an integer multiple of the feature grid (${w}×${h}) in both directions`);
    }
    if (!(opts.memoryWeight >= 0 && opts.memoryWeight <= 2)) throw new TemporalConfigError(`attention memoryWeight must be in [0, 2], got ${opts.memoryWeight}`);
    if (!Number.isInteger(opts.ringSize) || opts.ringSize < 1) throw new TemporalConfigError(`ringSize must be an integer ≥ 1, got ${opts.ringSize}`);
    this.name = opts.head ? 'attention-learned' : 'attention';
    this.usesLuma = opts.head !== undefined;
    opts.head?.prepare(this.H, this.W);
    this.keyChannels = c;
    if (opts.projection) {
      const { matrix, outChannels } = opts.projection;
      if (matrix.length !== c * outChannels) throw new TemporalConfigError(`key projection has ${matrix.length} weights, expected ${c}×${outChannels}`);
      this.projection = tf.tensor2d(matrix, [c, outChannels]);
      this.keyChannels = outChannels;
    }
    const g = { h, w, c: this.keyChannels, stride: this.stride };
    // ONNX Runtime (ort-*) hands the backbone's outputs back in CPU memory, like wasm/cpu.
    const useFused = opts.implementation === 'fused' || (opts.implementation === 'auto' && (backend === 'wasm' || backend === 'cpu' || backend.startsWith('ort-')));
    if (useFused) this.fused = new FusedAttention(opts.params, g);
    else this.tensor = new TensorAttention(opts.params, g);
    this.arrayPath = !!this.fused && !this.projection && (!opts.head || opts.head.supportsArrays(this.H, this.W)) && !opts.tensorFusion;
  }

  /** The whole stage runs on arrays (CPU backends; see processArrays). */
  private readonly arrayPath: boolean;

  /** Which implementation of the read runs. */
  get implementation(): 'fused' | 'tensor' {
    return this.fused ? 'fused' : 'tensor';
  }

  openSession(): TemporalState {
    const spare = this.spare.pop();
    if (spare) return spare.reuse();
    const ring = new FrameRing({ capacity: this.opts.ringSize, cells: this.h * this.w, channels: this.keyChannels, pixels: this.H * this.W });
    return new AttentionState(ring, this.H * this.W, (st) => {
      if (this.disposed || this.spare.length >= MAX_SPARE_STATES) return false;
      this.spare.push(st);
      return true;
    });
  }

  process(state: TemporalState, input: TemporalInput): tf.Tensor2D {
    // A copy: the cpu backend keeps the array it is given, and the stage reuses its buffer.
    if (this.arrayPath) return tf.tensor2d(this.processArrays(asState(state, AttentionState), input).slice(), [this.H, this.W]);
    const x = this.prepareFusion(state, input);
    try {
      return tf.tidy(() => {
        if (!x) return tf.sigmoid(input.logits).squeeze([2]) as tf.Tensor2D;
        if (this.opts.head) return this.opts.head.fuse(x);
        return tf.sigmoid(tf.add(clampLogitTensor(x.logits), tf.mul(logitOf(x.read), this.opts.memoryWeight))) as tf.Tensor2D;
      });
    } finally {
      if (x) disposeFusionInputs(x);
    }
  }

  processToArray(state: TemporalState, input: TemporalInput): Float32Array | null {
    return this.arrayPath ? this.processArrays(asState(state, AttentionState), input) : null;
  }

  /** Output buffer of the array path (owned; valid until the next frame) and its luma scratch. */
  private out?: Float32Array;
  private lumaScratch?: Uint8Array;

  /**
   * The whole stage on plain arrays (CPU backends): the fused read, then the head's fuseArrays()
   * or the non-parametric rule, with no tensor op but the input read-backs and the output
   * tensor. Computes the same function as the tensor path (tested against it); on wasm the
   * tensor path's ~50 small ops cost ~2.5 ms of per-op overhead per frame.
   */
  private processArrays(s: AttentionState, input: TemporalInput): Float32Array {
    const P = this.h * this.w;
    const c = this.c;
    const feats = input.featuresData ?? (input.features.dataSync() as Float32Array);
    const key = s.pendingKey;
    for (let p = 0; p < P; p++) {
      let sq = 0;
      for (let k = 0; k < c; k++) sq += feats[p * c + k]! * feats[p * c + k]!;
      const inv = 1 / Math.sqrt(sq + 1e-12);
      for (let k = 0; k < c; k++) key[p * c + k] = feats[p * c + k]! * inv;
    }
    s.hasPending = true;
    const head = this.opts.head;
    const luma = head ? fullRangeLuma(input.luma, this.H * this.W, (this.lumaScratch ??= new Uint8Array(this.H * this.W))) : undefined;
    try {
      const logits = input.logitsData ?? (input.logits.dataSync() as Float32Array);
      const out = (this.out ??= new Float32Array(this.H * this.W));
      if (s.ring.size === 0) {
        for (let i = 0; i < out.length; i++) out[i] = fastSigmoid(logits[i]!);
        return out;
      }
      const n = s.ring.size;
      const r = this.fused!.run({ query: key, keys: s.ring.keys.subarray(0, n * P * c), values: s.ring.values.subarray(0, n * this.H * this.W), frames: n }, 1 / 255);
      if (head) {
        return head.fuseArrays({
          keys: key,
          featureGrid: [this.h, this.w, c],
          logits,
          read: r.read,
          confidence: r.confidence,
          motion: r.motion,
          ...(luma && s.hasPrevLuma ? { lumaNow: luma, lumaPrev: s.prevLuma } : {}),
          radius: this.opts.params.radius,
          H: this.H,
          W: this.W,
        });
      }
      const g = this.opts.memoryWeight;
      for (let i = 0; i < out.length; i++) out[i] = fastSigmoid(clampLogit(logits[i]!) + g * fastClampedLogit(r.read[i]!));
      return out;
    } finally {
      if (luma) {
        s.prevLuma.set(luma);
        s.hasPrevLuma = true;
      }
    }
  }

  /**
   * Everything the fusion needs for this frame, as tensors the caller disposes (see
   * disposeFusionInputs), or null while the session's memory is empty (the first frame).
   * Also encodes this frame's key for commit(). Training calls this directly, then fuses with
   * its trainable head, so it learns on exactly what inference computes.
   */
  prepareFusion(state: TemporalState, input: TemporalInput): FusionInputs | null {
    const s = asState(state, AttentionState);
    this.encodeKey(input.features, s.pendingKey);
    s.hasPending = true;
    const ring = s.ring;
    const luma = this.opts.head ? fullRangeLuma(input.luma, this.H * this.W) : undefined;
    try {
      if (ring.size === 0) return null;
      return tf.tidy(() => {
        const { read, confidence, motion } = this.read(s);
        const diff = luma && s.hasPrevLuma ? absDiff(luma, s.prevLuma, this.H, this.W) : tf.zeros([this.H, this.W]);
        return {
          features: tf.mul(tf.tensor3d(s.pendingKey, [this.h, this.w, this.keyChannels]), Math.sqrt(this.keyChannels)) as tf.Tensor3D,
          logits: input.logits.squeeze([2]) as tf.Tensor2D,
          read,
          confidence,
          motion,
          frameDiff: diff as tf.Tensor2D,
          radius: this.opts.params.radius,
        };
      });
    } finally {
      if (luma) {
        s.prevLuma.set(luma);
        s.hasPrevLuma = true;
      }
    }
  }

  commit(state: TemporalState, mask: Uint8Array): void {
    const s = asState(state, AttentionState);
    if (!s.hasPending) return;
    s.ring.push(s.pendingKey, mask);
    s.hasPending = false;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const st of this.spare.splice(0)) st.ring.dispose();
    this.projection?.dispose();
    this.tensor?.dispose();
    this.opts.head?.dispose();
  }

  /** features [h, w, c] → unit-length (projected) keys, written into `out`. */
  private encodeKey(features: tf.Tensor3D, out: Float32Array): void {
    const k = tf.tidy(() => {
      let f = features.reshape([this.h * this.w, this.c]) as tf.Tensor2D;
      if (this.projection) f = tf.matMul(f, this.projection);
      const norm = tf.sqrt(tf.add(tf.sum(tf.square(f), 1, true), 1e-12));
      return tf.div(f, norm);
    });
    try {
      out.set(k.dataSync() as Float32Array);
    } finally {
      k.dispose();
    }
  }

  /** The memory read for the pending key: tensors [H, W], [h, w], [h, w] (inside a tidy). */
  private read(s: AttentionState): { read: tf.Tensor2D; confidence: tf.Tensor2D; motion: tf.Tensor2D } {
    const n = s.ring.size;
    const P = this.h * this.w;
    const keys = s.ring.keys.subarray(0, n * P * this.keyChannels);
    const values = s.ring.values.subarray(0, n * this.H * this.W);
    if (this.fused) {
      const r = this.fused.run({ query: s.pendingKey, keys, values, frames: n }, 1 / 255);
      return {
        read: tf.tensor2d(r.read, [this.H, this.W]),
        confidence: tf.tensor2d(r.confidence, [this.h, this.w]),
        motion: tf.tensor2d(r.motion, [this.h, this.w]),
      };
    }
    const q = tf.tensor3d(s.pendingKey, [this.h, this.w, this.keyChannels]);
    const k = tf.tensor4d(keys, [n, this.h, this.w, this.keyChannels]);
    const v = tf.div(tf.tensor3d(values, [n, this.H, this.W], 'float32'), 255);
    return this.tensor!.run(q, k, v);
  }
}

/** Y as coded (BT.601 limited range, 16…235) → the luma of the RGB it decodes to (0…255). */
const FULL_RANGE = Uint8Array.from({ length: 256 }, (_, y) => Math.min(255, Math.max(0, Math.round((y - 16) * (255 / 219)))));

/**
 * The frame-difference cue's picture: the engine's luma at mask size, on the 0…255 scale the
 * fusion head was trained on; undefined (no cue) when the caller has no picture.
 */
function fullRangeLuma(luma: Uint8Array | undefined, pixels: number, into?: Uint8Array): Uint8Array | undefined {
  if (!luma || luma.length !== pixels) return undefined;
  const y = into ?? new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) y[i] = FULL_RANGE[luma[i]!]!;
  return y;
}

function absDiff(a: Uint8Array, b: Uint8Array, H: number, W: number): tf.Tensor2D {
  const d = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = Math.abs(a[i]! - b[i]!) / 255;
  return tf.tensor2d(d, [H, W]);
}

export function disposeFusionInputs(x: FusionInputs): void {
  tf.dispose([x.features, x.logits, x.read, x.confidence, x.motion, x.frameDiff]);
}

export function clampLogitTensor(l: tf.Tensor): tf.Tensor {
  return tf.clipByValue(l, -LOGIT_CLAMP, LOGIT_CLAMP);
}

/** Probability → clamped logit. */
export function logitOf(p: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const q = tf.clipByValue(p, 1e-4, 1 - 1e-4);
    return clampLogitTensor(tf.log(tf.div(q, tf.sub(1, q))));
  });
}
