/**
 * The backbone on TF.js (backends tensorflow-gpu, tensorflow, wasm, cpu). Owns its
 * GraphModel(s). runBatch() runs frames of several sessions in one graph execution
 * ([n, H, W, 3]) using batch-size variants of the graph (batchGraph.ts), each checked at load
 * against single-frame runs. The tf backend must already be selected in this thread (see
 * backend.ts). Outputs are read back to arrays (the engine and the temporal stages work on
 * arrays; a stage that wants tensors makes them).
 */
import * as tf from '@tensorflow/tfjs';
import { ModelStore, type ModelSpec } from './modelStore.js';
import { withBatchSize } from './batchGraph.js';
import type { BackboneInfo, BackendName, ModelName } from './types.js';
import { BackboneDisposedError, checkFrames, ModelShapeError, type Backbone, type BackboneOutput, type BatchSupport, type RuntimeInfo } from './backbone.js';

export interface TfjsBackboneOptions {
  /** Where the weights come from; default ModelStore.open() (project models/). */
  readonly store?: ModelStore;
  /** Largest batch runBatch() runs as one graph execution (default 1: frames run back to back). */
  readonly maxBatch?: number;
  /** The tf backend selected in this thread (reported in runtime); default tf.getBackend(). */
  readonly backend?: BackendName;
}

export class TfjsBackbone implements Backbone {
  private disposed = false;
  /** [0,255] → inputRange: x * scale + offset. */
  private readonly scale: number;
  private readonly offset: number;

  private constructor(
    private readonly model: tf.GraphModel,
    private readonly spec: ModelSpec,
    readonly info: BackboneInfo,
    /** Graph variants by batch size (2..maxBatch); sizes missing here run back to back. */
    private readonly variants: ReadonlyMap<number, tf.GraphModel>,
    readonly batchSupport: BatchSupport,
    readonly runtime: RuntimeInfo,
  ) {
    const [lo, hi] = spec.inputRange;
    this.scale = (hi - lo) / 255;
    this.offset = lo;
  }

  /** Loads (sha256-checked) weights, then runs one grey frame to learn the output size and warm kernels up. */
  static async load(name: ModelName, opts: TfjsBackboneOptions = {}): Promise<TfjsBackbone> {
    const store = opts.store ?? ModelStore.open();
    const spec = store.spec(name);
    // Read once: the batch variants are patched copies of the same artifacts.
    const artifacts = await store.ioHandler(name).load!();
    const model = await tf.loadGraphModel({ load: async () => artifacts });
    const variants = new Map<number, tf.GraphModel>();
    try {
      const info = TfjsBackbone.probe(model, spec);
      const reasons: string[] = [];
      for (let n = 2; n <= (opts.maxBatch ?? 1); n++) {
        let variant: tf.GraphModel | undefined;
        try {
          variant = await tf.loadGraphModel({ load: async () => withBatchSize(artifacts, n).artifacts });
          TfjsBackbone.checkVariant(model, variant, spec, n);
          variants.set(n, variant);
        } catch (e) {
          variant?.dispose();
          reasons.push(`batch ${n}: ${(e as Error).message}`);
        }
      }
      const support: BatchSupport = { maxBatch: Math.max(1, opts.maxBatch ?? 1), graphSizes: [...variants.keys()], ...(reasons.length ? { fallbackReason: reasons.join('; ') } : {}) };
      const backend = opts.backend ?? (tf.getBackend() as BackendName);
      const runtime: RuntimeInfo = { backend, provider: `tfjs ${tf.version.tfjs} ${tf.getBackend()}` };
      return new TfjsBackbone(model, spec, info, variants, support, runtime);
    } catch (e) {
      model.dispose();
      for (const v of variants.values()) v.dispose();
      throw e;
    }
  }

  /**
   * A batch variant must give each frame what the batch-1 graph gives it: n different frames
   * (grey ramps) through both, compared output by output. Also warms the variant up.
   */
  private static checkVariant(single: tf.GraphModel, batched: tf.GraphModel, spec: ModelSpec, n: number): void {
    const { inputWidth: w, inputHeight: h } = spec;
    const nodes = [spec.outputNode, spec.featureNode];
    tf.tidy(() => {
      const [lo, hi] = spec.inputRange;
      const frames = Array.from({ length: n }, (_, i) => tf.fill([1, h, w, 3], lo + ((hi - lo) * (i + 1)) / (n + 1)).add(tf.randomUniform([1, h, w, 3], 0, (hi - lo) / 10, 'float32', 7 + i)));
      const batchOuts = batched.execute(tf.concat(frames, 0), nodes) as tf.Tensor[];
      for (let k = 0; k < nodes.length; k++) {
        if (batchOuts[k]!.shape[0] !== n) throw new Error(`node ${nodes[k]} has batch ${batchOuts[k]!.shape[0]}, expected ${n}`);
      }
      for (let i = 0; i < n; i++) {
        const singleOuts = single.execute(frames[i]!, nodes) as tf.Tensor[];
        for (let k = 0; k < nodes.length; k++) {
          const one = batchOuts[k]!.slice([i], [1]);
          // float32 kernels may sum in another order for other shapes: allow rounding noise.
          const diff = tf.max(tf.abs(tf.sub(one, singleOuts[k]!))).dataSync()[0]!;
          const scale = Math.max(1, tf.max(tf.abs(singleOuts[k]!)).dataSync()[0]!);
          if (!(diff <= 1e-3 * scale)) throw new Error(`frame ${i} of the batch differs from its single run at node ${nodes[k]} by ${diff}`);
        }
      }
    });
  }

  /**
   * Runs the model once on mid-grey: checks the nodes exist with the manifest's shapes and
   * reads the mask size. Also the warm-up, so the first real frame is not the slow one and
   * any lazily created backend state exists before the engine's tensor baseline is taken.
   */
  private static probe(model: tf.GraphModel, spec: ModelSpec): BackboneInfo {
    const { inputWidth: w, inputHeight: h } = spec;
    let info: BackboneInfo | undefined;
    tf.tidy(() => {
      const x = tf.fill([1, h, w, 3], (spec.inputRange[0] + spec.inputRange[1]) / 2);
      let outs: tf.Tensor[];
      try {
        outs = model.execute(x, [spec.outputNode, spec.featureNode]) as tf.Tensor[];
      } catch (e) {
        throw new ModelShapeError(`model "${spec.name}" cannot produce nodes ${spec.outputNode} and ${spec.featureNode} from a [1,${h},${w},3] input: ${(e as Error).message}; check models/manifest.json`);
      }
      const [out, feat] = outs as [tf.Tensor, tf.Tensor];
      const wantChannels = spec.output.kind === 'softmax2' ? 2 : 1;
      if (out.rank !== 4 || out.shape[0] !== 1 || out.shape[3] !== wantChannels) {
        throw new ModelShapeError(`model "${spec.name}" node ${spec.outputNode} has shape [${out.shape}], expected [1,H,W,${wantChannels}]`);
      }
      const fs = spec.featureShape;
      if (feat.rank !== 4 || feat.shape[1] !== fs[0] || feat.shape[2] !== fs[1] || feat.shape[3] !== fs[2]) {
        throw new ModelShapeError(`model "${spec.name}" node ${spec.featureNode} has shape [${feat.shape}], manifest says [1,${fs}]`);
      }
      info = {
        model: spec.name,
        inputWidth: w,
        inputHeight: h,
        maskWidth: out.shape[2]!,
        maskHeight: out.shape[1]!,
        featureNode: spec.featureNode,
        featureShape: fs,
      };
    });
    return info!;
  }

  /** One frame (see runBatch). */
  run(rgb: Uint8Array): BackboneOutput {
    return this.runBatch([rgb])[0]!;
  }

  /**
   * Frames of several sessions: one [n, H, W, 3] graph execution when a checked variant for n
   * exists (batchSupport), else one run per frame, back to back. Outputs in input order, read
   * back to arrays; no tensor is left behind.
   */
  runBatch(rgbs: readonly Uint8Array[]): BackboneOutput[] {
    if (this.disposed) throw new BackboneDisposedError(`backbone "${this.spec.name}" was disposed`);
    checkFrames(rgbs, this.info);
    const n = rgbs.length;
    const graph = n === 1 ? this.model : this.variants.get(n);
    if (!graph) return rgbs.map((rgb) => this.runBatch([rgb])[0]!);
    const { inputWidth: w, inputHeight: h } = this.info;
    const frame = w * h * 3;
    // Normalise in one JS pass straight into float32: cheaper than uploading int32 and
    // running cast + mul kernels on it.
    const input = new Float32Array(n * frame);
    rgbs.forEach((rgb, i) => {
      for (let j = 0, o = i * frame; j < frame; j++, o++) input[o] = rgb[j]! * this.scale + this.offset;
    });
    const [logits, features] = tf.tidy(() => {
      const x = tf.tensor4d(input, [n, h, w, 3]);
      const [out, feat] = graph.execute(x, [this.spec.outputNode, this.spec.featureNode]) as [tf.Tensor4D, tf.Tensor4D];
      return [this.personLogit(out), feat];
    });
    try {
      // One read-back per output waits for the whole batch on asynchronous backends.
      const l = logits.dataSync() as Float32Array;
      const f = features.dataSync() as Float32Array;
      const lp = l.length / n;
      const fp = f.length / n;
      return rgbs.map((_, i) => ({ logits: l.slice(i * lp, (i + 1) * lp), features: f.slice(i * fp, (i + 1) * fp) }));
    } finally {
      tf.dispose([logits, features]);
    }
  }

  /** [n,H,W,C] model output → [n,H,W,1] person logit. Call inside tidy. */
  private personLogit(out: tf.Tensor4D): tf.Tensor4D {
    const o = this.spec.output;
    const [n, h, w, c] = out.shape;
    if (o.kind === 'logit') return out;
    // Two-class softmax: p(person) = sigmoid(l_person − l_background), so the difference is
    // the logit the rest of the pipeline (temporal fusion, sigmoid × 255) works with.
    // Computed as a [n·H·W,2]×[2,1] matMul: on wasm, slicing a channel out is a strided copy
    // that cost ≈ 5 ms per slice for meet's 144×256 here, the matMul ≈ 0.3 ms, same values.
    const weights = o.personChannel === 1 ? [-1, 1] : [1, -1];
    return tf.matMul(out.reshape([n * h * w, c]), tf.tensor2d(weights, [2, 1])).reshape([n, h, w, 1]);
  }

  /** Frees the model's weights (and every batch variant's). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
    for (const v of this.variants.values()) v.dispose();
  }
}
