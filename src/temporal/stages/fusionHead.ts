/**
 * The learned fusion of `attention-learned`: a per-pixel two-layer MLP (tensor ops, every
 * backend) that looks at the current prediction, the memory read and cheap cues, and decides
 * per pixel how much to trust the memory against the current prediction:
 *   fused logit = L + γ_max·σ(g)·logit(read),      g = MLP(inputs)
 * The gate can only scale the memory's evidence between 0 (per-frame) and γ_max, never invent
 * evidence of its own, so however it is trained the result stays between "ignore memory" and
 * "trust it fully". It starts at the non-parametric rule (σ(g) = γ₀ / γ_max everywhere: last
 * layer zero, bias logit(γ₀ / γ_max)).
 * The gate is computed on a coarse grid (gatePool× coarser than the mask: 8 = the feature grid
 * for the current head; the gate is smooth, and an MLP at full resolution cost ~15 ms per
 * frame on wasm), from cues pooled over every poolStep-th pixel of each gatePool² block (2: a
 * quarter of the pixels, the cost of pooling on the CPU path), and resized bilinearly; the
 * fusion itself is per pixel at full resolution.
 * The first layer sees a kernel × kernel neighbourhood of the gate grid (1 = per gate pixel),
 * so the gate can tell a hole inside a person from the edge of one.
 * Two implementations of one function: fuse()/fuseLogits() (tensor ops, every backend, and
 * the one training differentiates) and fuseArrays() (plain arrays, the CPU backends; tested
 * against the tensor one).
 * Inputs per gate pixel (mask-resolution maps averaged over the sampled pixels of its block):
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
import { LOGIT_CLAMP as CLAMP, fastClampedLogit, fastSigmoid } from '../../shared/fastMath.js';

export const FUSION_INPUTS = ['logit', 'readLogit', 'confidence', 'motion', 'frameDiff', 'disagreement'] as const;
/** Largest memory weight the gate can reach. */
export const MAX_MEMORY_WEIGHT = 1.5;
/** v1 heads (no gatePool/poolStep in their file): gate grid 4× coarser, every pixel pooled. */
const V1_GATE_POOL = 4;

export interface FusionInputs {
  /** [h, w, c] this frame's unit-length keys × √c (the backbone features the memory is matched on). */
  readonly features: tf.Tensor3D;
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

/** The same inputs as plain arrays (the CPU path: no tensor ops). Row-major. */
export interface FusionArrays {
  /** [h, w, c] unit-length keys (multiplied by √c here, as FusionInputs.features). */
  readonly keys: Float32Array;
  readonly featureGrid: readonly [number, number, number];
  /** [H, W] current logits. */
  readonly logits: Float32Array;
  /** [H, W] memory read, probability. */
  readonly read: Float32Array;
  /** [h, w] match confidence and expected offset (cells). */
  readonly confidence: Float32Array;
  readonly motion: Float32Array;
  /** [H, W] |luma(t) − luma(t−1)| bytes, or undefined (cue = 0). */
  readonly lumaNow?: Uint8Array;
  readonly lumaPrev?: Uint8Array;
  readonly radius: number;
  readonly H: number;
  readonly W: number;
}

export interface FusionHeadJson {
  readonly format: 'maskstream-fusion-head';
  readonly version: 1 | 2;
  readonly inputs: readonly string[];
  /** v2: backbone feature channels appended to the cue inputs (0 = cues only, as v1). */
  readonly featureChannels?: number;
  /** v2: largest per-pixel logit correction C (0 = none, as v1): fused += C·tanh(o₂). */
  readonly correction?: number;
  /** v2: the gate grid is the mask pooled by this factor (v1: 4). */
  readonly gatePool?: number;
  /** v2: cues are pooled over every poolStep-th pixel of each block in both directions (v1: 1). */
  readonly poolStep?: number;
  readonly hidden: number;
  /** Side of the first layer's square kernel on the gate grid (1 = per pixel, 3 = 3×3 context). */
  readonly kernel: number;
  /** γ₀: the non-parametric memory weight the untrained head reproduces. */
  readonly memoryWeight: number;
  /** Row-major [kernel, kernel, inputs + featureChannels, hidden], [hidden], [hidden, outputs], [outputs]; outputs = 2 with a correction, else 1. */
  readonly w1: number[];
  readonly b1: number[];
  readonly w2: number[];
  readonly b2: number[];
  /** Free-form provenance (training settings, metrics); not read by the head. */
  readonly meta?: Record<string, unknown>;
}

/** The architecture of a head (everything but its weights). */
export interface HeadShape {
  readonly hidden: number;
  readonly kernel: number;
  readonly memoryWeight: number;
  readonly featureChannels: number;
  readonly correction: number;
  readonly gatePool: number;
  readonly poolStep: number;
}

export class FusionHeadFormatError extends Error {
  override readonly name = 'FusionHeadFormatError';
}

export class FusionHead {
  readonly hidden: number;
  readonly kernel: number;
  readonly memoryWeight: number;
  /** Backbone feature channels the head reads besides the cues (0 = cues only). */
  readonly featureChannels: number;
  /** Largest logit correction the head may add on its own (0 = gate only). */
  readonly correction: number;
  /** 1 (gate) or 2 (gate, correction). */
  readonly outputs: number;
  /** Mask pixels per gate pixel side, and the pooling sample step. */
  readonly gatePool: number;
  readonly poolStep: number;
  /** Trainable when built for training; plain constants otherwise. */
  readonly w1: tf.Variable<tf.Rank.R4>;
  readonly b1: tf.Variable<tf.Rank.R1>;
  readonly w2: tf.Variable<tf.Rank.R2>;
  readonly b2: tf.Variable<tf.Rank.R1>;
  private disposed = false;

  private constructor(shape: HeadShape, w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array, trainable: boolean) {
    this.hidden = shape.hidden;
    this.kernel = shape.kernel;
    this.memoryWeight = shape.memoryWeight;
    this.featureChannels = shape.featureChannels;
    this.correction = shape.correction;
    this.outputs = shape.correction > 0 ? 2 : 1;
    this.gatePool = shape.gatePool;
    this.poolStep = shape.poolStep;
    const n = this.inputCount;
    this.w1 = variableOf(tf.tensor4d(w1, [this.kernel, this.kernel, n, this.hidden]), trainable);
    this.b1 = variableOf(tf.tensor1d(b1), trainable);
    this.w2 = variableOf(tf.tensor2d(w2, [this.hidden, this.outputs]), trainable);
    this.b2 = variableOf(tf.tensor1d(b2), trainable);
  }

  /** Inputs per gate pixel: the cues, then the feature channels. */
  get inputCount(): number {
    return FUSION_INPUTS.length + this.featureChannels;
  }

  static fromJson(j: FusionHeadJson, opts: { trainable?: boolean } = {}): FusionHead {
    if (j.format !== 'maskstream-fusion-head' || (j.version !== 1 && j.version !== 2)) throw new FusionHeadFormatError(`not a maskstream fusion head v1/v2 (format ${String(j.format)}, version ${String(j.version)})`);
    if (JSON.stringify(j.inputs) !== JSON.stringify(FUSION_INPUTS)) throw new FusionHeadFormatError(`fusion head inputs ${JSON.stringify(j.inputs)} do not match this code's ${JSON.stringify(FUSION_INPUTS)}`);
    const h = j.hidden;
    if (!Number.isInteger(h) || h < 1 || h > 256) throw new FusionHeadFormatError(`fusion head hidden size ${h} is out of range`);
    const k = j.kernel ?? 1;
    if (k !== 1 && k !== 3) throw new FusionHeadFormatError(`fusion head kernel must be 1 or 3, got ${k}`);
    const fc = j.version === 2 ? j.featureChannels ?? 0 : 0;
    if (!Number.isInteger(fc) || fc < 0 || fc > 256) throw new FusionHeadFormatError(`fusion head featureChannels must be an integer in [0, 256], got ${fc}`);
    const corr = j.version === 2 ? j.correction ?? 0 : 0;
    if (!(corr >= 0 && corr <= 8)) throw new FusionHeadFormatError(`fusion head correction must be in [0, 8], got ${corr}`);
    const n = FUSION_INPUTS.length + fc;
    const outputs = corr > 0 ? 2 : 1;
    const sizes: [string, number[], number][] = [['w1', j.w1, k * k * n * h], ['b1', j.b1, h], ['w2', j.w2, h * outputs], ['b2', j.b2, outputs]];
    for (const [name, arr, len] of sizes) {
      if (!Array.isArray(arr) || arr.length !== len || !arr.every(Number.isFinite)) throw new FusionHeadFormatError(`fusion head ${name} must be ${len} finite numbers`);
    }
    if (!(j.memoryWeight >= 0 && j.memoryWeight <= 2)) throw new FusionHeadFormatError(`fusion head memoryWeight must be in [0, 2], got ${j.memoryWeight}`);
    const gatePool = j.version === 2 ? j.gatePool ?? V1_GATE_POOL : V1_GATE_POOL;
    const poolStep = j.version === 2 ? j.poolStep ?? 1 : 1;
    checkPooling(gatePool, poolStep);
    const shape = { hidden: h, kernel: k, memoryWeight: j.memoryWeight, featureChannels: fc, correction: corr, gatePool, poolStep };
    return new FusionHead(shape, Float32Array.from(j.w1), Float32Array.from(j.b1), Float32Array.from(j.w2), Float32Array.from(j.b2), opts.trainable ?? false);
  }

  /** A fresh head for training: random first layer, zero last layer (= the non-parametric rule, no correction). */
  static initial(shape: HeadShape, rand: () => number): FusionHead {
    checkPooling(shape.gatePool, shape.poolStep);
    const n = FUSION_INPUTS.length + shape.featureChannels;
    const outputs = shape.correction > 0 ? 2 : 1;
    const scale = Math.sqrt(2 / (n * shape.kernel * shape.kernel));
    const w1 = Float32Array.from({ length: shape.kernel * shape.kernel * n * shape.hidden }, () => (rand() * 2 - 1) * scale);
    const r = Math.min(0.999, Math.max(0.001, shape.memoryWeight / MAX_MEMORY_WEIGHT));
    const b2 = new Float32Array(outputs);
    b2[0] = Math.log(r / (1 - r));
    return new FusionHead(shape, w1, new Float32Array(shape.hidden), new Float32Array(shape.hidden * outputs), b2, true);
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
    const [gh, gw] = this.gateGrid(H, W);
    this.upMatrix(H, gh);
    this.upMatrix(W, gw, true);
  }

  /** Gate grid [gh, gw] for an H × W mask. */
  gateGrid(H: number, W: number): [number, number] {
    return [Math.max(1, Math.round(H / this.gatePool)), Math.max(1, Math.round(W / this.gatePool))];
  }

  /** Fused logit [H, W] (training computes its loss on this). */
  fuseLogits(x: FusionInputs): tf.Tensor2D {
    const [H, W] = x.logits.shape;
    const [gh, gw] = this.gateGrid(H, W);
    const step = this.poolStep;
    const win = this.gatePool / step;
    return tf.tidy(() => {
      const L = tf.clipByValue(x.logits, -CLAMP, CLAMP);
      const p = tf.sigmoid(L);
      const r = tf.clipByValue(x.read, 1e-4, 1 - 1e-4);
      const R = tf.clipByValue(tf.log(tf.div(r, tf.sub(1, r))), -CLAMP, CLAMP);
      // Mask-resolution maps → gate grid (area average); cell maps → gate grid (nearest). Each
      // map is pooled on its own: stacking full-resolution maps on a channel axis first is a
      // strided interleave that cost ~9 ms on wasm, pooling them one by one ~0.2 ms each.
      // Every step-th pixel (from 0) of each block, averaged.
      const pool = (m: tf.Tensor) => {
        const sampled = step === 1 ? m : tf.stridedSlice(m, [0, 0], [H, W], [step, step]);
        const p = tf.avgPool(sampled.reshape([sampled.shape[0]!, sampled.shape[1]!, 1]) as tf.Tensor3D, [win, win], [win, win], 'same');
        return p.shape[0] === gh && p.shape[1] === gw ? p : tf.image.resizeBilinear(p, [gh, gw]);
      };
      const near = (m: tf.Tensor) => tf.image.resizeNearestNeighbor(m.reshape([m.shape[0]!, m.shape[1]!, m.shape[2] ?? 1]) as tf.Tensor3D, [gh, gw]);
      // Column order = FUSION_INPUTS: logit, readLogit, confidence, motion, frameDiff, disagreement; then the features.
      const cols = [
        pool(tf.div(L, 4)),
        pool(tf.div(R, 4)),
        near(x.confidence),
        near(tf.div(x.motion, Math.max(1, x.radius))),
        pool(x.frameDiff),
        pool(tf.abs(tf.sub(p, r))),
      ];
      if (this.featureChannels > 0) {
        if (x.features.shape[2] !== this.featureChannels) throw new FusionHeadFormatError(`fusion head reads ${this.featureChannels} feature channels, the backbone gives ${x.features.shape[2]}`);
        cols.push(near(x.features));
      }
      const n = this.inputCount;
      const feats = tf.concat(cols, 2) as tf.Tensor3D; // [gh, gw, inputs]
      // 1×1: a plain matrix product (conv2d's filter gradient, Conv2DBackpropFilter, is missing on wasm).
      const pre = this.kernel === 1
        ? tf.matMul(feats.reshape([gh * gw, n]), this.w1.reshape([n, this.hidden]))
        : tf.conv2d(feats, this.w1, 1, 'same').reshape([gh * gw, this.hidden]);
      const hid = tf.relu(tf.add(pre, this.b1));
      const out = tf.add(tf.matMul(hid, this.w2), this.b2); // [gh·gw, outputs]
      // Bilinear upsampling as two constant matrix products (A_h · G · A_wᵀ): same result as
      // resizeBilinear with half-pixel centres, but differentiable on every backend (tfjs
      // 4.22's ResizeBilinear gradient returns a transposed shape for non-square images).
      const up = (g: tf.Tensor) => tf.matMul(tf.matMul(this.upMatrix(H, gh), g.reshape([gh, gw])), this.upMatrix(W, gw, true));
      const cut = (k: number) => (this.outputs === 1 ? out : tf.slice(out, [0, k], [gh * gw, 1]));
      const gate = up(tf.sigmoid(cut(0)));
      let z = tf.add(L, tf.mul(tf.mul(gate, MAX_MEMORY_WEIGHT), R));
      if (this.outputs === 2) z = tf.add(z, up(tf.mul(tf.tanh(cut(1)), this.correction)));
      return z as tf.Tensor2D;
    });
  }

  /** Weights as arrays for the CPU path (read once; the head is not trained after that). */
  private cpuWeights?: CpuWeights;
  private cpuScratch?: CpuScratch;

  /** Whether fuseArrays() can run this head on an H × W mask (1×1 kernel, mask divisible by the pool). */
  supportsArrays(H: number, W: number): boolean {
    return this.kernel === 1 && H % this.gatePool === 0 && W % this.gatePool === 0;
  }

  /**
   * The fused foreground probability [H·W] computed on plain arrays: the same function as
   * fuse() (tested against it; σ and log from tables, see fastMath.ts), for the CPU backends,
   * where the ~40 small tensor ops of fuse() cost ~2 ms of per-op overhead on wasm. Returns a
   * buffer owned by the head, valid until the next call.
   */
  fuseArrays(x: FusionArrays): Float32Array {
    const { H, W } = x;
    if (!this.supportsArrays(H, W)) throw new FusionHeadFormatError(`fuseArrays needs a 1×1 head and a mask divisible by ${this.gatePool} (got kernel ${this.kernel}, ${W}×${H})`);
    const [h, w, c] = x.featureGrid;
    const fc = this.featureChannels;
    if (fc > 0 && c !== fc) throw new FusionHeadFormatError(`fusion head reads ${fc} feature channels, the backbone gives ${c}`);
    const [gh, gw] = this.gateGrid(H, W);
    const G = gh * gw;
    const n = this.inputCount;
    if (this.w1.trainable) this.cpuWeights = undefined; // weights still changing: read them afresh
    const wt = (this.cpuWeights ??= this.readCpuWeights());
    let sc = this.cpuScratch;
    if (!sc || sc.H !== H || sc.W !== W || sc.x.length !== G * n) sc = this.cpuScratch = cpuScratch(H, W, gh, gw, G * n);
    const X = sc.x;
    poolCues(x, sc, this.gatePool, this.poolStep, gw, G);
    // Cell maps and features: nearest cell of each gate pixel.
    const motionScale = 1 / Math.max(1, x.radius);
    const scaleF = Math.sqrt(c);
    for (let gy = 0; gy < gh; gy++) {
      const cy = Math.min(h - 1, Math.floor((gy * h) / gh));
      for (let gx = 0; gx < gw; gx++) {
        const cell = cy * w + Math.min(w - 1, Math.floor((gx * w) / gw));
        const g = gy * gw + gx;
        X[2 * G + g] = x.confidence[cell]!;
        X[3 * G + g] = x.motion[cell]! * motionScale;
        for (let k = 0; k < fc; k++) X[(6 + k) * G + g] = x.keys[cell * c + k]! * scaleF;
      }
    }
    mlp(X, G, n, this.hidden, wt, sc.gate, sc.corr, this.outputs, this.correction);
    upsampleAndFuse(x.logits, x.read, sc, gh, gw, H, W, this.outputs === 2);
    return sc.out;
  }

  private readCpuWeights(): CpuWeights {
    const n = this.inputCount;
    const hid = this.hidden;
    const w1 = this.w1.dataSync(); // [1, 1, n, hid]
    const w1t = new Float64Array(n * hid);
    for (let k = 0; k < n; k++) for (let j = 0; j < hid; j++) w1t[j * n + k] = w1[k * hid + j]!;
    return { w1t, b1: Float64Array.from(this.b1.dataSync()), w2: Float64Array.from(this.w2.dataSync()), b2: Float64Array.from(this.b2.dataSync()) };
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
    return { format: 'maskstream-fusion-head', version: 2, inputs: [...FUSION_INPUTS], featureChannels: this.featureChannels, correction: this.correction, gatePool: this.gatePool, poolStep: this.poolStep, hidden: this.hidden, kernel: this.kernel, memoryWeight: this.memoryWeight, w1: round(this.w1), b1: round(this.b1), w2: round(this.w2), b2: round(this.b2), ...(meta ? { meta } : {}) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.variables);
    for (const m of this.upCache.values()) m.dispose();
    this.upCache.clear();
  }
}

/**
 * A variable from a fresh tensor, which is then disposed: tf.variable() shares the tensor's
 * data but leaves the tensor itself counted (a head used to leave 4 tensors per instance).
 */
function variableOf<R extends tf.Rank>(t: tf.Tensor<R>, trainable: boolean): tf.Variable<R> {
  const v = tf.variable(t, trainable, undefined, 'float32');
  t.dispose();
  return v;
}

interface CpuScratch {
  readonly H: number;
  readonly W: number;
  /** Gate-grid inputs, channel-major [inputs, G]. */
  readonly x: Float64Array;
  /** Gate (already × MAX_MEMORY_WEIGHT) and correction per gate pixel. */
  readonly gate: Float64Array;
  readonly corr: Float64Array;
  readonly rowG: Float64Array;
  readonly rowC: Float64Array;
  /** Per mask column: the bilinear neighbours on the gate grid and the weight of the second. */
  readonly x0s: Int32Array;
  readonly x1s: Int32Array;
  readonly fxs: Float64Array;
  readonly out: Float32Array;
}

function cpuScratch(H: number, W: number, gh: number, gw: number, inputs: number): CpuScratch {
  const G = gh * gw;
  const x0s = new Int32Array(W);
  const x1s = new Int32Array(W);
  const fxs = new Float64Array(W);
  for (let px = 0; px < W; px++) {
    const sx = Math.min(gw - 1, Math.max(0, ((px + 0.5) * gw) / W - 0.5));
    x0s[px] = Math.floor(sx);
    x1s[px] = Math.min(gw - 1, x0s[px]! + 1);
    fxs[px] = sx - x0s[px]!;
  }
  return { H, W, x: new Float64Array(inputs), gate: new Float64Array(G), corr: new Float64Array(G), rowG: new Float64Array(gw), rowC: new Float64Array(gw), x0s, x1s, fxs, out: new Float32Array(H * W) };
}

function checkPooling(gatePool: number, poolStep: number): void {
  if (!Number.isInteger(gatePool) || gatePool < 1 || gatePool > 32) throw new FusionHeadFormatError(`fusion head gatePool must be an integer in [1, 32], got ${gatePool}`);
  if (!Number.isInteger(poolStep) || poolStep < 1 || gatePool % poolStep !== 0) throw new FusionHeadFormatError(`fusion head poolStep must be a positive divisor of gatePool ${gatePool}, got ${poolStep}`);
}

/**
 * Pass 1 of the CPU path: the mask-resolution cues (inputs 0, 1, 4, 5) averaged over every
 * step-th pixel of each pool × pool block, into X (channel-major); inputs 2, 3 and the
 * features are left to the caller.
 */
function poolCues(x: FusionArrays, sc: CpuScratch, pool: number, step: number, gw: number, G: number): void {
  const { logits, read, lumaNow, lumaPrev, W, H } = x;
  const X = sc.x;
  X.fill(0);
  const G4 = 4 * G;
  const G5 = 5 * G;
  const withDiff = !!(lumaNow && lumaPrev);
  for (let py = 0; py < H; py += step) {
    const rowGate = ((py / pool) | 0) * gw;
    const row = py * W;
    for (let px = 0; px < W; px += step) {
      const i = row + px;
      const lv = logits[i]!;
      const L = lv > CLAMP ? CLAMP : lv < -CLAMP ? -CLAMP : lv;
      const rv = read[i]!;
      const r = rv < 1e-4 ? 1e-4 : rv > 1 - 1e-4 ? 1 - 1e-4 : rv;
      const d = fastSigmoid(L) - r;
      const g = rowGate + ((px / pool) | 0);
      X[g] += L;
      X[G + g] += readLogit(rv);
      X[G5 + g] += d < 0 ? -d : d;
      if (withDiff) {
        const e = lumaNow![i]! - lumaPrev![i]!;
        X[G4 + g] += e < 0 ? -e : e;
      }
    }
  }
  const inv = 1 / ((pool / step) * (pool / step));
  for (let g = 0; g < G; g++) {
    X[g] *= inv / 4;
    X[G + g] *= inv / 4;
    X[G4 + g] *= inv / 255;
    X[G5 + g] *= inv;
  }
}

/** Pass 2: the two-layer MLP per gate pixel → gate × MAX_MEMORY_WEIGHT (and the correction). */
function mlp(X: Float64Array, G: number, n: number, hid: number, wt: CpuWeights, gate: Float64Array, corr: Float64Array, outs: number, correction: number): void {
  const { w1t, b1, w2, b2 } = wt;
  for (let g = 0; g < G; g++) {
    let z0 = b2[0]!;
    let z1 = outs === 2 ? b2[1]! : 0;
    for (let j = 0; j < hid; j++) {
      let a = b1[j]!;
      const o = j * n;
      for (let k = 0; k < n; k++) a += X[k * G + g]! * w1t[o + k]!;
      if (a > 0) {
        z0 += a * w2[j * outs]!;
        if (outs === 2) z1 += a * w2[j * outs + 1]!;
      }
    }
    gate[g] = fastSigmoid(z0) * MAX_MEMORY_WEIGHT;
    corr[g] = outs === 2 ? correction * Math.tanh(z1) : 0;
  }
}

/** Pass 3: bilinear upsampling of the gate (half-pixel centres, clamped edges: upMatrix's weights) and the per-pixel fusion. */
function upsampleAndFuse(logits: Float32Array, read: Float32Array, sc: CpuScratch, gh: number, gw: number, H: number, W: number, withCorr: boolean): void {
  const { out, rowG, rowC, x0s, x1s, fxs, gate, corr } = sc;
  for (let py = 0; py < H; py++) {
    const sy = Math.min(gh - 1, Math.max(0, ((py + 0.5) * gh) / H - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(gh - 1, y0 + 1);
    const fy = sy - y0;
    for (let gx = 0; gx < gw; gx++) {
      rowG[gx] = gate[y0 * gw + gx]! * (1 - fy) + gate[y1 * gw + gx]! * fy;
      if (withCorr) rowC[gx] = corr[y0 * gw + gx]! * (1 - fy) + corr[y1 * gw + gx]! * fy;
    }
    const row = py * W;
    for (let px = 0; px < W; px++) {
      const x0 = x0s[px]!;
      const x1 = x1s[px]!;
      const fx = fxs[px]!;
      const i = row + px;
      const lv = logits[i]!;
      const L = lv > CLAMP ? CLAMP : lv < -CLAMP ? -CLAMP : lv;
      const R = readLogit(read[i]!);
      let z = L + (rowG[x0]! + (rowG[x1]! - rowG[x0]!) * fx) * R;
      if (withCorr) z += rowC[x0]! + (rowC[x1]! - rowC[x0]!) * fx;
      out[i] = fastSigmoid(z);
    }
  }
}

/**
 * The read as a clamped logit, as the tensor path computes it (probability clamped to
 * [1e-4, 1 − 1e-4], logit clamped to ±8); an empty or full read (most pixels) skips the table.
 */
function readLogit(p: number): number {
  if (p <= 1e-4) return -CLAMP; // logit(1e-4) = −9.2 → −8
  if (p >= 1 - 1e-4) return CLAMP;
  return fastClampedLogit(p);
}

interface CpuWeights {
  readonly w1t: Float64Array;
  readonly b1: Float64Array;
  readonly w2: Float64Array;
  readonly b2: Float64Array;
}
