/**
 * The learned fusion of `attention-learned`: a per-pixel two-layer MLP (tensor ops, every
 * backend) that looks at the current prediction, the memory read and cheap cues, and decides
 * per pixel how much to trust the memory against the current prediction:
 *   fused logit = L + γ_max·σ(g)·logit(read),      g = MLP(inputs)
 * The gate can only scale the memory's evidence between 0 (per-frame) and γ_max, never invent
 * evidence of its own, so however it is trained the result stays between "ignore memory" and
 * "trust it fully". It starts at the non-parametric rule (σ(g) = γ₀ / γ_max everywhere: last
 * layer zero, bias logit(γ₀ / γ_max)).
 * Inputs per pixel (all at mask resolution):
 *   0  current logit L, clamped to ±8, / 4
 *   1  memory read as a logit, clamped to ±8, / 4
 *   2  match confidence (top-1 cosine affinity of the pixel's cell)
 *   3  expected offset of the read, / window radius (how far the content moved)
 *   4  |luma(t) − luma(t−1)| of the model input, in [0, 1] (frame difference)
 *   5  |σ(L) − read| (disagreement)
 * Trained by `npm run train` (src/train/) with the backbone frozen; weights are
 * models/temporal-fusion.json. Owns its weight tensors; dispose() frees them.
 */
import * as tf from '@tensorflow/tfjs';

export const FUSION_INPUTS = ['logit', 'readLogit', 'confidence', 'motion', 'frameDiff', 'disagreement'] as const;
/** The gate g per pixel. */
const OUTPUTS = 1;
/** Largest memory weight the gate can reach. */
export const MAX_MEMORY_WEIGHT = 1.5;
const CLAMP = 8;

export interface FusionInputs {
  /** [H, W] current logit. */
  readonly logits: tf.Tensor2D;
  /** [H, W] memory read, probability. */
  readonly read: tf.Tensor2D;
  /** [H, W] per-pixel (cell) confidence. */
  readonly confidence: tf.Tensor2D;
  /** [H, W] expected offset, cells. */
  readonly motion: tf.Tensor2D;
  /** [H, W] frame difference in [0, 1]. */
  readonly frameDiff: tf.Tensor2D;
  /** Attention window radius, cells (normalises motion). */
  readonly radius: number;
}

export interface FusionHeadJson {
  readonly format: 'maskstream-fusion-head';
  readonly version: 1;
  readonly inputs: readonly string[];
  readonly hidden: number;
  /** γ₀: the non-parametric memory weight the untrained head reproduces. */
  readonly memoryWeight: number;
  /** Row-major [inputs, hidden], [hidden], [hidden, 1], [1]. */
  readonly w1: number[];
  readonly b1: number[];
  readonly w2: number[];
  readonly b2: number[];
  /** Free-form provenance (training settings, metrics); not read by the head. */
  readonly meta?: Record<string, unknown>;
}

export class FusionHeadFormatError extends Error {
  override readonly name = 'FusionHeadFormatError';
}

export class FusionHead {
  readonly hidden: number;
  readonly memoryWeight: number;
  /** Trainable when built for training; plain constants otherwise. */
  readonly w1: tf.Variable<tf.Rank.R2>;
  readonly b1: tf.Variable<tf.Rank.R1>;
  readonly w2: tf.Variable<tf.Rank.R2>;
  readonly b2: tf.Variable<tf.Rank.R1>;
  private disposed = false;

  private constructor(hidden: number, memoryWeight: number, w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array, trainable: boolean) {
    const n = FUSION_INPUTS.length;
    this.hidden = hidden;
    this.memoryWeight = memoryWeight;
    this.w1 = tf.variable(tf.tensor2d(w1, [n, hidden]), trainable, undefined, 'float32');
    this.b1 = tf.variable(tf.tensor1d(b1), trainable, undefined, 'float32');
    this.w2 = tf.variable(tf.tensor2d(w2, [hidden, OUTPUTS]), trainable, undefined, 'float32');
    this.b2 = tf.variable(tf.tensor1d(b2), trainable, undefined, 'float32');
  }

  static fromJson(j: FusionHeadJson, opts: { trainable?: boolean } = {}): FusionHead {
    const n = FUSION_INPUTS.length;
    if (j.format !== 'maskstream-fusion-head' || j.version !== 1) throw new FusionHeadFormatError(`not a maskstream fusion head v1 (format ${String(j.format)}, version ${String(j.version)})`);
    if (JSON.stringify(j.inputs) !== JSON.stringify(FUSION_INPUTS)) throw new FusionHeadFormatError(`fusion head inputs ${JSON.stringify(j.inputs)} do not match this code's ${JSON.stringify(FUSION_INPUTS)}`);
    const h = j.hidden;
    if (!Number.isInteger(h) || h < 1 || h > 256) throw new FusionHeadFormatError(`fusion head hidden size ${h} is out of range`);
    const sizes: [string, number[], number][] = [['w1', j.w1, n * h], ['b1', j.b1, h], ['w2', j.w2, h * OUTPUTS], ['b2', j.b2, OUTPUTS]];
    for (const [k, arr, len] of sizes) {
      if (!Array.isArray(arr) || arr.length !== len || !arr.every(Number.isFinite)) throw new FusionHeadFormatError(`fusion head ${k} must be ${len} finite numbers`);
    }
    if (!(j.memoryWeight >= 0 && j.memoryWeight <= 2)) throw new FusionHeadFormatError(`fusion head memoryWeight must be in [0, 2], got ${j.memoryWeight}`);
    return new FusionHead(h, j.memoryWeight, Float32Array.from(j.w1), Float32Array.from(j.b1), Float32Array.from(j.w2), Float32Array.from(j.b2), opts.trainable ?? false);
  }

  /** A fresh head for training: random first layer, zero last layer (= the non-parametric rule). */
  static initial(hidden: number, memoryWeight: number, rand: () => number): FusionHead {
    const n = FUSION_INPUTS.length;
    const scale = Math.sqrt(2 / n);
    const w1 = Float32Array.from({ length: n * hidden }, () => (rand() * 2 - 1) * scale);
    const r = Math.min(0.999, Math.max(0.001, memoryWeight / MAX_MEMORY_WEIGHT));
    return new FusionHead(hidden, memoryWeight, w1, new Float32Array(hidden), new Float32Array(hidden * OUTPUTS), Float32Array.of(Math.log(r / (1 - r))), true);
  }

  get variables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2];
  }

  /** Fused foreground probability [H, W]. */
  fuse(x: FusionInputs): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(this.fuseLogits(x)) as tf.Tensor2D);
  }

  /** Fused logit [H, W] (training computes its loss on this). */
  fuseLogits(x: FusionInputs): tf.Tensor2D {
    const [H, W] = x.logits.shape;
    return tf.tidy(() => {
      const L = tf.clipByValue(x.logits, -CLAMP, CLAMP);
      const p = tf.sigmoid(L);
      const r = tf.clipByValue(x.read, 1e-4, 1 - 1e-4);
      const R = tf.clipByValue(tf.log(tf.div(r, tf.sub(1, r))), -CLAMP, CLAMP);
      const feats = tf.stack([
        tf.div(L, 4),
        tf.div(R, 4),
        x.confidence,
        tf.div(x.motion, Math.max(1, x.radius)),
        x.frameDiff,
        tf.abs(tf.sub(p, r)),
      ], 2).reshape([H * W, FUSION_INPUTS.length]);
      const hid = tf.relu(tf.add(tf.matMul(feats, this.w1), this.b1));
      const gate = tf.sigmoid(tf.add(tf.matMul(hid, this.w2), this.b2)).reshape([H, W]);
      return tf.add(L, tf.mul(tf.mul(gate, MAX_MEMORY_WEIGHT), R)) as tf.Tensor2D;
    });
  }

  toJson(meta?: Record<string, unknown>): FusionHeadJson {
    const round = (a: tf.Tensor) => Array.from(a.dataSync(), (v) => Math.round(v * 1e6) / 1e6);
    return { format: 'maskstream-fusion-head', version: 1, inputs: [...FUSION_INPUTS], hidden: this.hidden, memoryWeight: this.memoryWeight, w1: round(this.w1), b1: round(this.b1), w2: round(this.w2), b2: round(this.b2), ...(meta ? { meta } : {}) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.variables);
  }
}
