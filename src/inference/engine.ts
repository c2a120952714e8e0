/**
 * Backbone + temporal stage + mask quantisation for any number of independent sessions, all
 * on this thread's tf engine (the inference worker hosts one). Owns the Backbone, the temporal
 * stage and each session's temporal state (its ring buffer); close() releases them all, so
 * tf.memory().numTensors returns to what it was before create().
 */
import * as tf from '@tensorflow/tfjs';
import type { TemporalStage, TemporalState } from '../temporal/temporalStage.js';
import { createTemporalStage, validateTemporalConfig } from '../temporal/factory.js';
import { selectBackend } from './backend.js';
import { Backbone, type BackboneOutput, type BatchSupport } from './backbone.js';
import { ModelStore } from './modelStore.js';
import type { BackendAttempt, BackendName, EngineInfo, EngineOptions, InferenceMemory, SegmentResult } from './types.js';

/**
 * Batch size used when EngineOptions.maxBatch is 0 (auto), by backend. Accelerators and
 * libtensorflow gain throughput from batching; on wasm the meet backbone measured
 * ≈ 12 ms/frame alone and ≈ 10.8 ms/frame in a batch of 2 (docs/performance.md), which does
 * not pay for the extra wait of the first frame of each batch, so batching is off there.
 */
export const AUTO_MAX_BATCH: Readonly<Record<BackendName, number>> = Object.freeze({ 'tensorflow-gpu': 8, tensorflow: 4, wasm: 1, cpu: 1 });

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
}

/** Tensor/memory counters of this thread's tf engine (subset of tf.MemoryInfo). */
export type EngineMemory = InferenceMemory;

export class SegmentationEngine {
  private readonly sessions = new Map<string, TemporalState>();
  private closed = false;

  private constructor(
    readonly info: EngineInfo,
    /** What backend selection tried (for the startup log). */
    readonly backendAttempts: readonly BackendAttempt[],
    private readonly backbone: Backbone,
    private readonly stage: TemporalStage,
  ) {}

  static async create(opts: EngineOptions): Promise<SegmentationEngine> {
    validateTemporalConfig(opts.temporal); // cheap checks before the backend and model load
    const store = ModelStore.open(opts.modelsDir);
    const { backend, attempts } = await selectBackend(opts.backend);
    const maxBatch = opts.maxBatch === 0 ? AUTO_MAX_BATCH[backend] : Math.max(1, opts.maxBatch ?? 1);
    const backbone = await Backbone.load(opts.model, { store, maxBatch });
    const b = backbone.info;
    let stage: TemporalStage;
    try {
      stage = createTemporalStage(opts.temporal, b, backend);
    } catch (e) {
      backbone.dispose();
      throw e;
    }
    const info: EngineInfo = {
      backend,
      model: b.model,
      inputWidth: b.inputWidth,
      inputHeight: b.inputHeight,
      maskWidth: b.maskWidth,
      maskHeight: b.maskHeight,
      featureNode: b.featureNode,
      featureShape: b.featureShape,
    };
    return new SegmentationEngine(info, attempts, backbone, stage);
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
    this.sessions.set(id, this.stage.openSession());
  }

  /** Temporal memory held by all open sessions, bytes. */
  get temporalBytes(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.bytes;
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
   * One frame of session `id`: rgb is inputWidth × inputHeight × 3 bytes.
   * inferenceMs = normalise + backbone; temporalMs = temporal stage + sigmoid × 255 to bytes.
   * Each is measured after reading the result back (dataSync), so on asynchronous backends
   * (GPU) the time is the real compute time, not the time to enqueue it.
   */
  process(id: string, rgb: Uint8Array): SegmentResult {
    return this.processBatch([{ id, rgb }])[0]!;
  }

  /**
   * Frames of different sessions through the backbone as one batch (Backbone.runBatch), then
   * each through the temporal stage with its own session's state, in input order. Results are
   * in input order too, so result i belongs to items[i].id. inferenceMs is the batch's backbone
   * time (every frame waited for all of it) and batchSize says how many shared it.
   */
  processBatch(items: readonly BatchItem[]): SegmentResult[] {
    this.assertOpen();
    const states: TemporalState[] = [];
    const seen = new Set<string>();
    for (const { id } of items) {
      const state = this.sessions.get(id);
      if (!state) throw new UnknownSessionError(`session "${id}" is not open in the inference engine; call openSession() first`);
      if (seen.has(id)) throw new BatchSessionError(`session "${id}" appears twice in one batch; a session's frames must be processed one after another`);
      seen.add(id);
      states.push(state);
    }
    const t0 = performance.now();
    const outs = this.backbone.runBatch(items.map((x) => x.rgb));
    try {
      // One read-back waits for the whole batch on asynchronous backends.
      for (const o of outs) o.logits.dataSync();
      const inferenceMs = performance.now() - t0;
      return items.map((item, i) => this.finish(states[i]!, item.rgb, outs[i]!, inferenceMs, items.length));
    } finally {
      for (const o of outs) {
        o.logits.dispose();
        o.features.dispose();
      }
    }
  }

  /** Temporal stage + sigmoid × 255 to bytes + commit, for one frame of a batch. Borrows `out`. */
  private finish(state: TemporalState, rgb: Uint8Array, out: BackboneOutput, inferenceMs: number, batchSize: number): SegmentResult {
    const t1 = performance.now();
    const input = { logits: out.logits, features: out.features, rgb };
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
    return { mask: bytes, width: this.info.maskWidth, height: this.info.maskHeight, inferenceMs, temporalMs: t2 - t1, ...(batchSize > 1 ? { batchSize } : {}) };
  }

  /** Frees the session's ring buffer; false if it was not open. Safe after close(). */
  closeSession(id: string): boolean {
    const state = this.sessions.get(id);
    if (!state) return false;
    this.sessions.delete(id);
    state.dispose();
    return true;
  }

  /** This thread's tf counters (the worker reports them for leak checks). */
  memory(): EngineMemory {
    const m = tf.memory();
    return { numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, numBytes: m.numBytes, temporalBytes: this.temporalBytes, sessions: this.sessions.size };
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
