/**
 * The pretrained segmentation CNN, whatever runs it. One run: RGB frames at the model's input
 * size → per frame, the person logit map (mask resolution) and one intermediate feature map for
 * the temporal stage, as plain arrays. Two implementations: OrtBackbone (ONNX Runtime, the
 * translated graph; ortBackbone.ts) and TfjsBackbone (TF.js GraphModel; tfjsBackbone.ts).
 * The owner disposes it; dispose() frees the native session or the tf weights.
 */
import type { BackboneInfo, BackendName } from './types.js';

/** How runBatch() runs a batch of each size n ≥ 2: one graph execution, or back to back. */
export interface BatchSupport {
  /** Largest batch the engine accepts (1 = no batching). */
  readonly maxBatch: number;
  /** Batch sizes that run as one [n, H, W, 3] execution. */
  readonly graphSizes: readonly number[];
  /** Why a size fell back to back-to-back runs (absent when all requested sizes work). */
  readonly fallbackReason?: string;
}

export interface BackboneOutput {
  /** Person logit (sigmoid → probability), maskHeight × maskWidth, row-major. The caller owns it. */
  readonly logits: Float32Array;
  /** Feature map, featureShape [h, w, c] row-major. The caller owns it. */
  readonly features: Float32Array;
}

/** What runs the model, for logs, /healthz, the signaling answer and metrics. */
export interface RuntimeInfo {
  readonly backend: BackendName;
  /** The library and its provider/backend, e.g. "onnxruntime-node 1.30.0 CPUExecutionProvider, 1 thread". */
  readonly provider: string;
}

export interface Backbone {
  readonly info: BackboneInfo;
  readonly batchSupport: BatchSupport;
  readonly runtime: RuntimeInfo;
  /**
   * Frames of several sessions in one execution where batchSupport allows, else back to back.
   * Each rgb is inputWidth × inputHeight × 3 bytes. Outputs in input order.
   */
  runBatch(rgbs: readonly Uint8Array[]): BackboneOutput[];
  /** Frees the model. Idempotent. */
  dispose(): void;
}

/** A frame of the wrong size was handed to the backbone. */
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

/** Throws FrameSizeError unless every frame has the model's input size. */
export function checkFrames(rgbs: readonly Uint8Array[], info: BackboneInfo): void {
  const bytes = info.inputWidth * info.inputHeight * 3;
  rgbs.forEach((rgb, i) => {
    if (rgb.length !== bytes) {
      throw new FrameSizeError(`frame ${i} has ${rgb.length} bytes, model "${info.model}" needs ${info.inputWidth}×${info.inputHeight}×3 = ${bytes}; resize to the engine's inputWidth × inputHeight first`);
    }
  });
}
