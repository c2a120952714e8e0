/**
 * The backbone on ONNX Runtime: the model's ONNX translation (onnx/onnxModels.ts, uint8 RGB in,
 * person logits + features out, free batch dimension) in one native session on the chosen
 * execution provider. Owns the session; dispose() frees it.
 */
import { ModelStore } from './modelStore.js';
import type { BackboneInfo, BackendName, ModelName } from './types.js';
import { BackboneDisposedError, checkFrames, ModelShapeError, type Backbone, type BackboneOutput, type BatchSupport, type RuntimeInfo } from './backbone.js';
import { loadOnnxModel, type OnnxModelBytes } from './onnx/onnxModels.js';
import { OrtSession, ortVersion, PROVIDER_NAMES, type OrtProvider } from './onnx/ortSession.js';
import { INPUT_NAME } from './onnx/translate.js';

export interface OrtBackboneOptions {
  readonly provider: OrtProvider;
  /** Intra-op threads; 0 = ORT's default (one per core). */
  readonly threads: number;
  /** Default ModelStore.open() (project models/). */
  readonly store?: ModelStore;
  /** Largest batch runBatch() runs as one execution (default 1). */
  readonly maxBatch?: number;
}

const BACKEND_OF: Readonly<Record<OrtProvider, BackendName>> = { cpu: 'ort-cpu', webgpu: 'ort-webgpu', cuda: 'ort-cuda' };

export class OrtBackbone implements Backbone {
  private disposed = false;

  private constructor(
    private readonly session: OrtSession,
    readonly info: BackboneInfo,
    private support: BatchSupport,
    readonly runtime: RuntimeInfo,
    /** Where the ONNX bytes came from (cache or translated now), for the startup log. */
    readonly modelOrigin: OnnxModelBytes['origin'],
  ) {}

  get batchSupport(): BatchSupport {
    return this.support;
  }

  /**
   * Loads the translation (sha256-checked), creates the session (throws with ORT's reason when
   * the provider cannot start), runs one grey frame to check the outputs against the manifest,
   * and checks a batch of maxBatch frames against single runs.
   */
  static load(name: ModelName, opts: OrtBackboneOptions): OrtBackbone {
    const store = opts.store ?? ModelStore.open();
    const spec = store.spec(name);
    const model = loadOnnxModel(store, name);
    const session = OrtSession.create(model.bytes, { provider: opts.provider, threads: opts.threads });
    try {
      const { inputWidth: w, inputHeight: h } = spec;
      const probe = session.run({ [INPUT_NAME]: { type: 'uint8', data: new Uint8Array(w * h * 3).fill(128), dims: [1, h, w, 3] } });
      const logits = probe['logits'];
      const features = probe['features'];
      const fs = spec.featureShape;
      if (!logits || logits.dims.length !== 4 || logits.dims[0] !== 1 || logits.dims[3] !== 1) throw new ModelShapeError(`ONNX model "${name}" output logits has shape [${logits?.dims}], expected [1,H,W,1]`);
      if (!features || features.dims.join() !== [1, ...fs].join()) throw new ModelShapeError(`ONNX model "${name}" output features has shape [${features?.dims}], manifest says [1,${fs}]`);
      const info: BackboneInfo = { model: name, inputWidth: w, inputHeight: h, maskWidth: logits.dims[2]!, maskHeight: logits.dims[1]!, featureNode: spec.featureNode, featureShape: fs };
      const maxBatch = Math.max(1, opts.maxBatch ?? 1);
      const threads = opts.provider === 'cpu' ? `, ${opts.threads || 'all'} thread${opts.threads === 1 ? '' : 's'}` : '';
      const runtime: RuntimeInfo = { backend: BACKEND_OF[opts.provider], provider: `onnxruntime-node ${ortVersion()} ${PROVIDER_NAMES[opts.provider]}${threads}` };
      const bb = new OrtBackbone(session, info, { maxBatch, graphSizes: [] }, runtime, model.origin);
      if (maxBatch > 1) bb.checkBatches(maxBatch);
      return bb;
    } catch (e) {
      session.dispose();
      throw e;
    }
  }

  /**
   * Batches 2..n run as one execution if a batch of n different frames gives each what a
   * single run gives it (float rounding aside); else back to back, with the reason.
   */
  private checkBatches(n: number): void {
    const { inputWidth: w, inputHeight: h } = this.info;
    const frames = Array.from({ length: n }, (_, i) => {
      const f = new Uint8Array(w * h * 3);
      let seed = 7 + i;
      for (let j = 0; j < f.length; j++) f[j] = (((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 26) + (255 * (i + 1)) / (n + 1)) & 255;
      return f;
    });
    const batch = this.execute(frames);
    let reason: string | undefined;
    frames.forEach((f, i) => {
      const one = this.execute([f])[0]!;
      for (const k of ['logits', 'features'] as const) {
        let diff = 0;
        let scale = 1;
        for (let j = 0; j < one[k].length; j++) {
          diff = Math.max(diff, Math.abs(one[k][j]! - batch[i]![k][j]!));
          scale = Math.max(scale, Math.abs(one[k][j]!));
        }
        if (!(diff <= 1e-3 * scale)) reason ??= `frame ${i} of a batch of ${n} differs from its single run in ${k} by ${diff}`;
      }
    });
    this.support = reason ? { maxBatch: n, graphSizes: [], fallbackReason: reason } : { maxBatch: n, graphSizes: Array.from({ length: n - 1 }, (_, i) => i + 2) };
  }

  runBatch(rgbs: readonly Uint8Array[]): BackboneOutput[] {
    if (this.disposed) throw new BackboneDisposedError(`backbone "${this.info.model}" was disposed`);
    checkFrames(rgbs, this.info);
    if (rgbs.length > 1 && !this.batchSupport.graphSizes.includes(rgbs.length)) return rgbs.map((rgb) => this.execute([rgb])[0]!);
    return this.execute(rgbs);
  }

  private execute(rgbs: readonly Uint8Array[]): BackboneOutput[] {
    const n = rgbs.length;
    const { inputWidth: w, inputHeight: h } = this.info;
    let input: Uint8Array;
    if (n === 1) input = rgbs[0]!;
    else {
      input = new Uint8Array(n * w * h * 3);
      rgbs.forEach((rgb, i) => input.set(rgb, i * rgb.length));
    }
    const out = this.session.run({ [INPUT_NAME]: { type: 'uint8', data: input, dims: [n, h, w, 3] } });
    const l = out['logits']!.data;
    const f = out['features']!.data;
    if (n === 1) return [{ logits: l, features: f }];
    const lp = l.length / n;
    const fp = f.length / n;
    return rgbs.map((_, i) => ({ logits: l.subarray(i * lp, (i + 1) * lp), features: f.subarray(i * fp, (i + 1) * fp) }));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.dispose();
  }
}
