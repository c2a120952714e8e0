/**
 * The pretrained segmentation CNN. Owns its GraphModel. One run: RGB frame at model input
 * size → person logit map (mask resolution) + one intermediate feature map for the temporal
 * stage. The tf backend must already be selected in this thread (see backend.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { ModelStore, type ModelSpec } from './modelStore.js';
import type { ModelName } from './types.js';

export interface BackboneOptions {
  /** Where the weights come from; default ModelStore.open() (project models/). */
  readonly store?: ModelStore;
}

export interface BackboneInfo {
  readonly model: ModelName;
  /** px */
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** px (= output node resolution) */
  readonly maskWidth: number;
  readonly maskHeight: number;
  readonly featureNode: string;
  /** [h, w, c] */
  readonly featureShape: readonly [number, number, number];
}

export interface BackboneOutput {
  /** [maskHeight, maskWidth, 1] person logit (sigmoid → probability). Caller disposes. */
  readonly logits: tf.Tensor3D;
  /** featureShape [h, w, c]. Caller disposes. */
  readonly features: tf.Tensor3D;
}

/** A frame of the wrong size was handed to run(). */
export class FrameSizeError extends Error {
  override readonly name = 'FrameSizeError';
}

/** The loaded graph does not have the nodes/shapes models/manifest.json promises. */
export class ModelShapeError extends Error {
  override readonly name = 'ModelShapeError';
}

/** The backbone was used after dispose(). */
export class BackboneDisposedError extends Error {
  override readonly name = 'BackboneDisposedError';
}

export class Backbone {
  private disposed = false;
  /** [0,255] → inputRange: x * scale + offset. */
  private readonly scale: number;
  private readonly offset: number;

  private constructor(
    private readonly model: tf.GraphModel,
    private readonly spec: ModelSpec,
    readonly info: BackboneInfo,
  ) {
    const [lo, hi] = spec.inputRange;
    this.scale = (hi - lo) / 255;
    this.offset = lo;
  }

  /** Loads (sha256-checked) weights, then runs one grey frame to learn the output size and warm kernels up. */
  static async load(name: ModelName, opts: BackboneOptions = {}): Promise<Backbone> {
    const store = opts.store ?? ModelStore.open();
    const spec = store.spec(name);
    const model = await tf.loadGraphModel(store.ioHandler(name));
    try {
      const info = Backbone.probe(model, spec);
      return new Backbone(model, spec, info);
    } catch (e) {
      model.dispose();
      throw e;
    }
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

  /**
   * @param rgb inputWidth × inputHeight × 3 bytes, row-major RGB.
   * Everything but the two returned tensors is freed inside; the caller owns and disposes both.
   */
  run(rgb: Uint8Array): BackboneOutput {
    if (this.disposed) throw new BackboneDisposedError(`backbone "${this.spec.name}" was disposed`);
    const { inputWidth: w, inputHeight: h } = this.info;
    if (rgb.length !== w * h * 3) {
      throw new FrameSizeError(`frame has ${rgb.length} bytes, model "${this.spec.name}" needs ${w}×${h}×3 = ${w * h * 3}; resize to the engine's inputWidth × inputHeight first`);
    }
    // Normalise in one JS pass straight into float32: cheaper than uploading int32 and
    // running cast + mul kernels on it.
    const input = new Float32Array(rgb.length);
    for (let i = 0; i < rgb.length; i++) input[i] = rgb[i]! * this.scale + this.offset;
    return tf.tidy(() => {
      const x = tf.tensor4d(input, [1, h, w, 3]);
      const [out, feat] = this.model.execute(x, [this.spec.outputNode, this.spec.featureNode]) as [tf.Tensor4D, tf.Tensor4D];
      const logits = this.personLogit(out);
      const features = feat.squeeze([0]) as tf.Tensor3D;
      return { logits, features };
    });
  }

  /** [1,H,W,C] model output → [H,W,1] person logit. Call inside tidy. */
  private personLogit(out: tf.Tensor4D): tf.Tensor3D {
    const o = this.spec.output;
    const [, h, w, c] = out.shape;
    if (o.kind === 'logit') return out.reshape([h, w, 1]);
    // Two-class softmax: p(person) = sigmoid(l_person − l_background), so the difference is
    // the logit the rest of the pipeline (temporal fusion, sigmoid × 255) works with.
    // Computed as a [H·W,2]×[2,1] matMul: on wasm, slicing a channel out is a strided copy
    // that cost ≈ 5 ms per slice for meet's 144×256 here, the matMul ≈ 0.3 ms, same values.
    const weights = o.personChannel === 1 ? [-1, 1] : [1, -1];
    return tf.matMul(out.reshape([h * w, c]), tf.tensor2d(weights, [2, 1])).reshape([h, w, 1]);
  }

  /** Frees the model's weights. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}
