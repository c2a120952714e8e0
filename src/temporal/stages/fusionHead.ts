/**
 * The learned fusion of `attention-learned`: a per-pixel two-layer MLP (tensor ops, every
 * backend) that looks at the current prediction, the memory read and cheap cues, and decides
 * per pixel how much to trust the memory against the current prediction:
 *   fused logit = L + γ_max·σ(g)·logit(read),      g = MLP(inputs)
 * The gate can only scale the memory's evidence between 0 (per-frame) and γ_max, never invent
 * evidence of its own, so however it is trained the result stays between "ignore memory" and
 * "trust it fully". It starts at the non-parametric rule (σ(g) = γ₀ / γ_max everywhere: last
 * layer zero, bias logit(γ₀ / γ_max)).
 * The gate is computed on a grid GATE_POOL× coarser than the mask (36×64 for meet: the gate
 * is smooth, and the MLP at full resolution cost ~15 ms per frame on wasm) and resized
 * bilinearly; the fusion itself is per pixel at full resolution.
 * The first layer sees a kernel × kernel neighbourhood of the gate grid (3: 12×12 mask px),
 * so the gate can tell a hole inside a person from the edge of one.
 * Inputs per gate pixel (mask-resolution maps averaged over GATE_POOL² pixels):
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
/** The gate grid is the mask grid pooled by this factor in each direction. */
export const GATE_POOL = 4;
const CLAMP = 8;

export interface FusionInputs {
  /** [H, W] current logit. */
  readonly logits: tf.Tensor2D;
  /** [H, W] memory read, probability. */
  readonly read: tf.Tensor2D;
  /** [h, w] per-cell match confidence (feature grid). */
  readonly confidence: tf.Tensor2D;
  /** [h, w] per-cell expected offset, cells. */
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
  /** Side of the first layer's square kernel on the gate grid (1 = per pixel, 3 = 3×3 context). */
  readonly kernel: number;
  /** γ₀: the non-parametric memory weight the untrained head reproduces. */
  readonly memoryWeight: number;
  /** Row-major [kernel, kernel, inputs, hidden], [hidden], [hidden, 1], [1]. */
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
  readonly kernel: number;
  readonly memoryWeight: number;
  /** Trainable when built for training; plain constants otherwise. */
  readonly w1: tf.Variable<tf.Rank.R4>;
  readonly b1: tf.Variable<tf.Rank.R1>;
  readonly w2: tf.Variable<tf.Rank.R2>;
  readonly b2: tf.Variable<tf.Rank.R1>;
  private disposed = false;

  private constructor(hidden: number, kernel: number, memoryWeight: number, w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array, trainable: boolean) {
    const n = FUSION_INPUTS.length;
    this.hidden = hidden;
    this.kernel = kernel;
    this.memoryWeight = memoryWeight;
    this.w1 = tf.variable(tf.tensor4d(w1, [kernel, kernel, n, hidden]), trainable, undefined, 'float32');
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
    const k = j.kernel ?? 1;
    if (k !== 1 && k !== 3) throw new FusionHeadFormatError(`fusion head kernel must be 1 or 3, got ${k}`);
    const sizes: [string, number[], number][] = [['w1', j.w1, k * k * n * h], ['b1', j.b1, h], ['w2', j.w2, h * OUTPUTS], ['b2', j.b2, OUTPUTS]];
    for (const [k, arr, len] of sizes) {
      if (!Array.isArray(arr) || arr.length !== len || !arr.every(Number.isFinite)) throw new FusionHeadFormatError(`fusion head ${k} must be ${len} finite numbers`);
    }
    if (!(j.memoryWeight >= 0 && j.memoryWeight <= 2)) throw new FusionHeadFormatError(`fusion head memoryWeight must be in [0, 2], got ${j.memoryWeight}`);
    return new FusionHead(h, k, j.memoryWeight, Float32Array.from(j.w1), Float32Array.from(j.b1), Float32Array.from(j.w2), Float32Array.from(j.b2), opts.trainable ?? false);
  }

  /** A fresh head for training: random first layer, zero last layer (= the non-parametric rule). */
  static initial(hidden: number, kernel: number, memoryWeight: number, rand: () => number): FusionHead {
    const n = FUSION_INPUTS.length;
    const scale = Math.sqrt(2 / (n * kernel * kernel));
    const w1 = Float32Array.from({ length: kernel * kernel * n * hidden }, () => (rand() * 2 - 1) * scale);
    const r = Math.min(0.999, Math.max(0.001, memoryWeight / MAX_MEMORY_WEIGHT));
    return new FusionHead(hidden, kernel, memoryWeight, w1, new Float32Array(hidden), new Float32Array(hidden * OUTPUTS), Float32Array.of(Math.log(r / (1 - r))), true);
  }

  get variables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2];
  }

  /** Fused foreground probability [H, W]. */
  fuse(x: FusionInputs): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(this.fuseLogits(x)) as tf.Tensor2D);
  }

  /**
   * Builds the constant upsampling matrices for an H × W mask now rather than on the first frame,
   * so the tensors the head keeps for its lifetime exist from its owner's creation on (a leak
   * check that takes its baseline after creation sees a constant count).
   */
  prepare(H: number, W: number): void {
    this.upMatrix(H, Math.max(1, Math.round(H / GATE_POOL)));
    this.upMatrix(W, Math.max(1, Math.round(W / GATE_POOL)), true);
  }

  /** Fused logit [H, W] (training computes its loss on this). */
  fuseLogits(x: FusionInputs): tf.Tensor2D {
    const [H, W] = x.logits.shape;
    const gh = Math.max(1, Math.round(H / GATE_POOL));
    const gw = Math.max(1, Math.round(W / GATE_POOL));
    return tf.tidy(() => {
      const L = tf.clipByValue(x.logits, -CLAMP, CLAMP);
      const p = tf.sigmoid(L);
      const r = tf.clipByValue(x.read, 1e-4, 1 - 1e-4);
      const R = tf.clipByValue(tf.log(tf.div(r, tf.sub(1, r))), -CLAMP, CLAMP);
      // Mask-resolution maps → gate grid (area average); cell maps → gate grid (nearest). Each
      // map is pooled on its own: stacking full-resolution maps on a channel axis first is a
      // strided interleave that cost ~9 ms on wasm, pooling them one by one ~0.2 ms each.
      const pool = (m: tf.Tensor) => {
        const p = tf.avgPool(m.reshape([H, W, 1]) as tf.Tensor3D, [GATE_POOL, GATE_POOL], [GATE_POOL, GATE_POOL], 'same');
        return p.shape[0] === gh && p.shape[1] === gw ? p : tf.image.resizeBilinear(p, [gh, gw]);
      };
      const near = (m: tf.Tensor) => tf.image.resizeNearestNeighbor(m.reshape([m.shape[0]!, m.shape[1]!, 1]) as tf.Tensor3D, [gh, gw]);
      // Column order = FUSION_INPUTS: logit, readLogit, confidence, motion, frameDiff, disagreement.
      const feats = tf.concat([
        pool(tf.div(L, 4)),
        pool(tf.div(R, 4)),
        near(x.confidence),
        near(tf.div(x.motion, Math.max(1, x.radius))),
        pool(x.frameDiff),
        pool(tf.abs(tf.sub(p, r))),
      ], 2) as tf.Tensor3D; // [gh, gw, inputs]
      // 1×1: a plain matrix product (conv2d's filter gradient, Conv2DBackpropFilter, is missing on wasm).
      const pre = this.kernel === 1
        ? tf.matMul(feats.reshape([gh * gw, FUSION_INPUTS.length]), this.w1.reshape([FUSION_INPUTS.length, this.hidden]))
        : tf.conv2d(feats, this.w1, 1, 'same').reshape([gh * gw, this.hidden]);
      const hid = tf.relu(tf.add(pre, this.b1));
      const gateLow = tf.sigmoid(tf.add(tf.matMul(hid, this.w2), this.b2)).reshape([gh, gw, 1]) as tf.Tensor3D;
      // Bilinear upsampling as two constant matrix products (A_h · G · A_wᵀ): same result as
      // resizeBilinear with half-pixel centres, but differentiable on every backend (tfjs
      // 4.22's ResizeBilinear gradient returns a transposed shape for non-square images).
      const gate = tf.matMul(tf.matMul(this.upMatrix(H, gh), gateLow.reshape([gh, gw])), this.upMatrix(W, gw, true));
      return tf.add(L, tf.mul(tf.mul(gate, MAX_MEMORY_WEIGHT), R)) as tf.Tensor2D;
    });
  }

  private readonly upCache = new Map<string, tf.Tensor2D>();

  /**
   * [dst, src] bilinear interpolation weights (half-pixel centres, clamped edges), or [src, dst]
   * when `transposed` (built transposed: a transposeB matMul is ~9× slower on wasm); cached, owned.
   */
  private upMatrix(dst: number, src: number, transposed = false): tf.Tensor2D {
    const key = `${dst}>${src}${transposed ? 'T' : ''}`;
    let m = this.upCache.get(key);
    if (!m) {
      const a = new Float32Array(dst * src);
      for (let i = 0; i < dst; i++) {
        const s = Math.min(src - 1, Math.max(0, ((i + 0.5) * src) / dst - 0.5));
        const i0 = Math.floor(s);
        const i1 = Math.min(src - 1, i0 + 1);
        const at = (j: number) => (transposed ? j * dst + i : i * src + j);
        a[at(i0)]! += 1 - (s - i0);
        a[at(i1)]! += s - i0;
      }
      m = tf.keep(tf.tensor2d(a, transposed ? [src, dst] : [dst, src]));
      this.upCache.set(key, m);
    }
    return m;
  }

  toJson(meta?: Record<string, unknown>): FusionHeadJson {
    const round = (a: tf.Tensor) => Array.from(a.dataSync(), (v) => Math.round(v * 1e6) / 1e6);
    return { format: 'maskstream-fusion-head', version: 1, inputs: [...FUSION_INPUTS], hidden: this.hidden, kernel: this.kernel, memoryWeight: this.memoryWeight, w1: round(this.w1), b1: round(this.b1), w2: round(this.w2), b2: round(this.b2), ...(meta ? { meta } : {}) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.variables);
    for (const m of this.upCache.values()) m.dispose();
    this.upCache.clear();
  }
}
