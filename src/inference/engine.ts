/**
 * Backbone + temporal stage + mask quantisation for any number of independent sessions, in
 * this thread (the inference worker hosts one). Owns the Backbone (an ONNX Runtime session or
 * TF.js weights), the temporal stage and each session's temporal state (its ring buffer);
 * close() releases them all, so tf.memory().numTensors and the open ONNX Runtime sessions
 * return to what they were before create().
 */
import * as tf from '@tensorflow/tfjs';
import type { TemporalInput, TemporalStage, TemporalState } from '../temporal/temporalStage.js';
import { createTemporalStage, validateTemporalConfig } from '../temporal/factory.js';
import { openBackbone } from './backend.js';
import type { Backbone, BackboneOutput, BatchSupport } from './backbone.js';
import { openOrtSessions } from './onnx/ortSession.js';
import { ModelStore } from './modelStore.js';
import type { BackendAttempt, BackendName, EngineInfo, EngineOptions, InferenceMemory, SegmentResult } from './types.js';
import type { I420Picture } from '../decode/types.js';
import { i420Luma, i420ToRgb } from '../decode/yuvToRgb.js';
import { RoiTracker, validateRoiOptions, type RoiBox, type RoiOptions } from '../roi/roiTracker.js';
import { cropI420, uncropOutputs } from '../roi/crop.js';

/**
 * Batch size used when EngineOptions.maxBatch is 0 (auto), by backend. Accelerators and
 * libtensorflow gain throughput from batching; on wasm the meet backbone measured
 * ≈ 12 ms/frame alone and ≈ 10.8 ms/frame in a batch of 2, and on ONNX Runtime's CPU provider
 * (one thread) a batch of n costs n single runs (docs/performance.md), which does not pay for
 * the extra wait of the first frame of each batch, so batching is off on CPUs.
 */
export const AUTO_MAX_BATCH: Readonly<Record<BackendName, number>> = Object.freeze({ 'ort-cuda': 8, 'ort-webgpu': 8, 'tensorflow-gpu': 8, 'ort-cpu': 1, tensorflow: 4, wasm: 1, cpu: 1 });

export class UnknownSessionError extends Error {
  override readonly name = 'UnknownSessionError';
}
export class DuplicateSessionError extends Error {
  override readonly name = 'DuplicateSessionError';
}
export class EngineClosedError extends Error {
  override readonly name = 'EngineClosedError';
}
/** A batch named the same session twice (its temporal state must see its frames one by one, in order). */
export class BatchSessionError extends Error {
  override readonly name = 'BatchSessionError';
}

/** One frame of a cross-session batch: the session it belongs to and its model-input RGB. */
export interface BatchItem {
  readonly id: string;
  /** inputWidth × inputHeight × 3 bytes. */
  readonly rgb: Uint8Array;
  /**
   * What prepare() cut `rgb` from: a crop or the whole picture (a box covering it). Absent/null
   * (RGB made elsewhere): the whole picture, and the session's region of interest is not tracked.
   */
  readonly roi?: RoiBox | null;
  /** Luma of the whole picture at the mask's size (prepare() makes it), for the temporal stage's pixel matching. */
  readonly luma?: Uint8Array;
}

/** A picture turned into model input by prepare(). */
export interface PreparedFrame {
  /** inputWidth × inputHeight × 3 bytes. */
  readonly rgb: Uint8Array;
  /** What it was cut from: the session's crop, or a box covering the whole picture. */
  readonly roi: RoiBox;
  /** Luma of the whole picture at the mask's size (maskWidth × maskHeight bytes). */
  readonly luma: Uint8Array;
  /** Time of the crop + I420 → RGB (+ luma), ms. */
  readonly ms: number;
}

/** A session's state in the engine: its temporal memory and, when enabled, its region-of-interest tracker. */
interface EngineSession {
  readonly temporal: TemporalState;
  readonly roi: RoiTracker | null;
}

function wholePicture(width: number, height: number): RoiBox {
  return { x: 0, y: 0, width, height, pictureWidth: width, pictureHeight: height };
}

function coversPicture(b: RoiBox): boolean {
  return b.x === 0 && b.y === 0 && b.width === b.pictureWidth && b.height === b.pictureHeight;
}

/** Tensor/memory counters of this thread's tf engine (subset of tf.MemoryInfo). */
export type EngineMemory = InferenceMemory;

export class SegmentationEngine {
  private readonly sessions = new Map<string, EngineSession>();
  private closed = false;

  private constructor(
    readonly info: EngineInfo,
    /** What backend selection tried (for the startup log). */
    readonly backendAttempts: readonly BackendAttempt[],
    private readonly backbone: Backbone,
    private readonly stage: TemporalStage,
    /** Region-of-interest settings, or null: every frame is segmented whole. */
    private readonly roiOptions: RoiOptions | null,
  ) {}

  static async create(opts: EngineOptions): Promise<SegmentationEngine> {
    validateTemporalConfig(opts.temporal); // cheap checks before the backend and model load
    if (opts.roi) validateRoiOptions(opts.roi);
    const store = ModelStore.open(opts.modelsDir);
    const { backbone, attempts } = await openBackbone(opts.backend, opts.model, {
      store,
      maxBatch: (backend) => (opts.maxBatch === 0 ? AUTO_MAX_BATCH[backend] : Math.max(1, opts.maxBatch ?? 1)),
      ortThreads: opts.ortThreads ?? 1,
    });
    const backend = backbone.runtime.backend;
    const b = backbone.info;
    let stage: TemporalStage;
    try {
      stage = createTemporalStage(opts.temporal, b, backend);
      if (opts.wrapStage) stage = opts.wrapStage(stage);
    } catch (e) {
      backbone.dispose();
      throw e;
    }
    const info: EngineInfo = {
      backend,
      provider: backbone.runtime.provider,
      model: b.model,
      inputWidth: b.inputWidth,
      inputHeight: b.inputHeight,
      maskWidth: b.maskWidth,
      maskHeight: b.maskHeight,
      featureNode: b.featureNode,
      featureShape: b.featureShape,
    };
    return new SegmentationEngine(info, attempts, backbone, stage, opts.roi ? { ...opts.roi } : null);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  hasSession(id: string): boolean {
    return this.sessions.has(id);
  }

  /**
   * Runs the temporal stage over a few synthetic frames in a throwaway session (a noisy square
   * of person moving across the mask, random features), so its JavaScript (the read kernel, the
   * gate) is compiled before the first real session: measured on an idle engine, the first
   * frame with memory took 15–21 ms cold and 2.5–5 ms after this (≈ 2.5 ms once warm). It does
   * not help against CPU contention when a session starts on a busy machine.
   * Leaves no tensors behind; the session's memory goes to the stage's pool of spare states.
   */
  warmUp(frames = 8): void {
    this.assertOpen();
    const { maskWidth: W, maskHeight: H, featureShape, inputWidth, inputHeight } = this.info;
    const [h, w, c] = featureShape;
    const state = this.stage.openSession();
    const rgb = new Uint8Array(inputWidth * inputHeight * 3).fill(128);
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
    try {
      for (let t = 0; t < frames; t++) {
        const logits = new Float32Array(H * W);
        const x0 = Math.floor(W / 4) + t * 2;
        // Noisy logits: every branch of the per-pixel code (saturated and in-between values) runs
        // here, not first in a real session (an untaken branch costs a deoptimisation later).
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) logits[y * W + x] = (x >= x0 && x < x0 + W / 2 && y >= H / 4 && y < (3 * H) / 4 ? 4 : -4) + 8 * rand();
        const lt = tf.tensor3d(logits, [H, W, 1]);
        const ft = tf.tensor3d(Float32Array.from({ length: h * w * c }, rand), [h, w, c]);
        try {
          const p = this.stage.process(state, { logits: lt, features: ft, rgb });
          try {
            this.stage.commit(state, Uint8Array.from(p.dataSync(), (v) => Math.round(v * 255)));
          } finally {
            p.dispose();
          }
        } finally {
          tf.dispose([lt, ft]);
        }
      }
    } finally {
      state.dispose();
    }
  }

  /** Allocates the session's temporal memory (fixed size). */
  openSession(id: string): void {
    this.assertOpen();
    if (this.sessions.has(id)) throw new DuplicateSessionError(`session "${id}" is already open in the inference engine`);
    this.sessions.set(id, { temporal: this.stage.openSession(), roi: this.roiOptions ? new RoiTracker(this.roiOptions) : null });
  }

  /**
   * A decoded picture of session `id` → model input: cut to the session's region of interest
   * when the engine has one and the session's tracker has a box, else the whole picture. Hand
   * the result to process()/processBatch() as { rgb, roi } for this same session.
   */
  prepare(id: string, pic: I420Picture, out?: Uint8Array): PreparedFrame {
    this.assertOpen();
    const s = this.sessions.get(id);
    if (!s) throw new UnknownSessionError(`session "${id}" is not open in the inference engine; call openSession() first`);
    const t0 = performance.now();
    const crop = s.roi?.next(pic.width, pic.height) ?? null;
    const rgb = i420ToRgb(crop ? cropI420(pic, crop) : pic, this.info.inputWidth, this.info.inputHeight, out).data;
    const luma = i420Luma(pic, this.info.maskWidth, this.info.maskHeight);
    return { rgb, roi: crop ?? wholePicture(pic.width, pic.height), luma, ms: performance.now() - t0 };
  }

  /** Frames of session `id` segmented on a crop and on the whole picture so far (null without region of interest). */
  roiCounts(id: string): { cropped: number; whole: number } | null {
    const r = this.sessions.get(id)?.roi;
    return r ? { cropped: r.cropped, whole: r.whole } : null;
  }

  /** Temporal memory held by all open sessions, bytes. */
  get temporalBytes(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.temporal.bytes;
    return n;
  }

  /** The temporal stage in use (name, implementation) for logs and benchmarks. */
  get temporalStage(): TemporalStage {
    return this.stage;
  }

  /** Which batch sizes run as one graph execution (the rest run back to back). */
  get batchSupport(): BatchSupport {
    return this.backbone.batchSupport;
  }

  /**
   * One frame of session `id`: rgb is inputWidth × inputHeight × 3 bytes; luma (prepare()'s) lets
   * the attention-fine stage match pixels (without it, that stage passes the frame through).
   * inferenceMs = normalise + backbone + outputs back in CPU memory; temporalMs = temporal stage
   * + sigmoid × 255 to bytes.
   */
  process(id: string, rgb: Uint8Array, roi?: RoiBox | null, luma?: Uint8Array): SegmentResult {
    return this.processBatch([{ id, rgb, roi, ...(luma ? { luma } : {}) }])[0]!;
  }

  /**
   * Frames of different sessions through the backbone as one batch (Backbone.runBatch), then
   * each through the temporal stage with its own session's state, in input order. Results are
   * in input order too, so result i belongs to items[i].id. inferenceMs is the batch's backbone
   * time (every frame waited for all of it) and batchSize says how many shared it.
   */
  processBatch(items: readonly BatchItem[]): SegmentResult[] {
    this.assertOpen();
    const states: EngineSession[] = [];
    const seen = new Set<string>();
    for (const { id } of items) {
      const state = this.sessions.get(id);
      if (!state) throw new UnknownSessionError(`session "${id}" is not open in the inference engine; call openSession() first`);
      if (seen.has(id)) throw new BatchSessionError(`session "${id}" appears twice in one batch; a session's frames must be processed one after another`);
      seen.add(id);
      states.push(state);
    }
    const t0 = performance.now();
    // Synchronous on every backend: the outputs are in CPU memory when runBatch returns, so
    // inferenceMs is the real compute time, not the time to enqueue it.
    const outs = this.backbone.runBatch(items.map((x) => x.rgb));
    const inferenceMs = performance.now() - t0;
    return items.map((item, i) => this.finish(states[i]!, item, outs[i]!, inferenceMs, items.length));
  }

  /** Whole-picture buffers of the region-of-interest path, reused frame after frame (one frame at a time per engine). */
  private uncropScratch?: { logits: Float32Array; features: Float32Array; rgb: Uint8Array };

  /**
   * One frame of a batch after the backbone: its output put back on the whole picture when it
   * came from a crop (the time goes to roiMs), then fuse(). The temporal stage reads arrays;
   * tensors of them are made only if it asks (its tensor path), and freed here.
   */
  private finish(session: EngineSession, item: BatchItem, out: BackboneOutput, inferenceMs: number, batchSize: number): SegmentResult {
    const roi = session.roi && item.roi ? item.roi : null;
    const t0 = performance.now();
    let data = { logits: out.logits, features: out.features, rgb: item.rgb };
    let roiMs = 0;
    if (roi && !coversPicture(roi)) {
      // A crop: its output back onto the whole picture's grids (background / zero features outside it).
      const { maskWidth: W, maskHeight: H, featureShape: [h, w, c] } = this.info;
      data = uncropOutputs(data, this.info, roi, (this.uncropScratch ??= { logits: new Float32Array(W * H), features: new Float32Array(h * w * c), rgb: new Uint8Array(item.rgb.length) }));
      roiMs = performance.now() - t0;
    }
    const { maskWidth: W, maskHeight: H, featureShape: [h, w, c] } = this.info;
    const made: tf.Tensor[] = [];
    let logits: tf.Tensor3D | undefined;
    let features: tf.Tensor3D | undefined;
    const input: TemporalInput = {
      rgb: data.rgb,
      ...(item.luma ? { luma: item.luma } : {}),
      logitsData: data.logits,
      featuresData: data.features,
      get logits(): tf.Tensor3D {
        // A copy: the cpu backend keeps the array it is given, and the scratch is reused.
        if (!logits) made.push((logits = tf.tensor3d(data.logits.slice(), [H, W, 1])));
        return logits;
      },
      get features(): tf.Tensor3D {
        if (!features) made.push((features = tf.tensor3d(data.features.slice(), [h, w, c])));
        return features;
      },
    };
    try {
      return this.fuse(session, input, roi, inferenceMs, batchSize, roiMs);
    } finally {
      tf.dispose(made);
    }
  }

  /** Temporal stage, bytes, commit; then the region of interest for the next frame (its time goes to roiMs with the uncrop's). */
  private fuse(session: EngineSession, input: TemporalInput, roi: RoiBox | null, inferenceMs: number, batchSize: number, roiMs: number): SegmentResult {
    const state = session.temporal;
    const t1 = performance.now();
    const direct = this.stage.processToArray?.(state, input);
    // Probability × 255 to bytes: a Uint8ClampedArray rounds to nearest and clamps to [0, 255].
    let mask: Uint8ClampedArray;
    if (direct) {
      mask = new Uint8ClampedArray(direct.length);
      for (let i = 0; i < direct.length; i++) mask[i] = direct[i]! * 255;
    } else {
      const fused = this.stage.process(state, input);
      try {
        const scaled = tf.tidy(() => tf.mul(fused, 255));
        try {
          mask = new Uint8ClampedArray(scaled.size);
          mask.set(scaled.dataSync() as Float32Array); // natively, in one pass
        } finally {
          scaled.dispose();
        }
      } finally {
        fused.dispose();
      }
    }
    const bytes = new Uint8Array(mask.buffer);
    this.stage.commit(state, bytes);
    const t2 = performance.now();
    if (session.roi && roi) {
      const { maskWidth: W, maskHeight: H } = this.info;
      if (session.roi.source === 'prediction') session.roi.updateFromLogits(input.logitsData!, W, H, roi.pictureWidth, roi.pictureHeight, !coversPicture(roi));
      else session.roi.update(bytes, W, H, roi.pictureWidth, roi.pictureHeight, !coversPicture(roi));
    }
    const t3 = performance.now();
    return { mask: bytes, width: this.info.maskWidth, height: this.info.maskHeight, inferenceMs, temporalMs: t2 - t1, ...(session.roi ? { roiMs: roiMs + (t3 - t2) } : {}), region: roi && !coversPicture(roi) ? 'crop' : 'whole', ...(batchSize > 1 ? { batchSize } : {}) };
  }

  /** Frees the session's ring buffer; false if it was not open. Safe after close(). */
  closeSession(id: string): boolean {
    const state = this.sessions.get(id);
    if (!state) return false;
    this.sessions.delete(id);
    state.temporal.dispose();
    return true;
  }

  /** This thread's tf counters and open ONNX Runtime sessions (the worker reports them for leak checks). */
  memory(): EngineMemory {
    const m = tf.memory();
    return { numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, numBytes: m.numBytes, temporalBytes: this.temporalBytes, sessions: this.sessions.size, nativeSessions: openOrtSessions() };
  }

  /** Closes every session, then frees the model. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.sessions.keys()]) this.closeSession(id);
    this.stage.dispose();
    this.backbone.dispose();
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineClosedError('the segmentation engine is closed');
  }
}
