import type { RoiBox, RoiOptions } from '../roi/roiTracker.js';
import type { TemporalConfig } from '../temporal/temporalConfig.js';
import type { TemporalStage } from '../temporal/temporalStage.js';
export type ModelName = 'meet' | 'selfie';
/** Every backend, in one list (config validation, CLIs, metric labels). ort-* = ONNX Runtime with that execution provider; the rest are TF.js backends. */
export const BACKENDS = ['ort-cpu', 'ort-webgpu', 'ort-cuda', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type TfBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
/** The model a backbone runs: its sizes and the feature map the temporal stage reads. */
export interface BackboneInfo {
  readonly model: ModelName;
  /** Model input size, px. RGB frames handed to the engine must have exactly this size. */
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** Mask size, px (= model output resolution). */
  readonly maskWidth: number;
  readonly maskHeight: number;
  /** Intermediate feature map exposed to the temporal stage: node name and [h, w, c]. */
  readonly featureNode: string;
  readonly featureShape: readonly [number, number, number];
}

/** Static facts about the loaded engine, reported in logs, /healthz and metrics. */
export interface EngineInfo extends BackboneInfo {
  readonly backend: BackendName;
  /** What runs it, e.g. "onnxruntime-node 1.30.0 CPUExecutionProvider, 1 thread" or "tfjs 4.22.0 wasm". */
  readonly provider: string;
  /** The person detector proposing people for the region of interest, when one runs. */
  readonly detector?: string;
  /** The region of interest's second model (RoiOptions.secondModel), when one runs. */
  readonly secondModel?: string;
}

/**
 * A crop's mask at the model's resolution over the crop (finer than the whole picture's grid),
 * drawn by the client over the whole-picture mask inside `box` (src/shared/maskCodec.ts, v2).
 */
export interface MaskDetail {
  /** Where it goes in the picture, picture px. */
  readonly box: RoiBox;
  /** Grid size, cells (the model's mask size). */
  readonly width: number;
  readonly height: number;
  /** width × height bytes, probability × 255. */
  readonly alpha: Uint8Array;
}

/** Result of one frame through backbone + temporal stage + mask encoding. */
export interface SegmentResult {
  /** 8-bit alpha (foreground probability × 255), maskWidth × maskHeight, row-major. */
  readonly mask: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Stage times, ms. */
  readonly inferenceMs: number;
  readonly temporalMs: number;
  /**
   * Region of interest, when enabled: the crop's backbone output put back on the whole
   * picture's grids + the next crop chosen, ms (the crop itself is part of preprocessMs).
   */
  readonly roiMs?: number;
  /** Whether the backbone saw at least one crop (the session's region of interest) or only the whole picture. */
  readonly region?: 'crop' | 'whole';
  /**
   * The person detector's time on an earlier picture of this session, run between frames and
   * delivered with this frame (its people are in this frame's tracking), ms; not part of this
   * frame's latency, part of the work it cost (computeShareMs).
   */
  readonly detectMs?: number;
  /** Backbone runs this frame took (its views: crops and/or the whole picture, and the second model's runs); absent = 1. */
  readonly views?: number;
  /** Of `views`, the region of interest's second-model runs (views holding people the mask left out); absent = 0. */
  readonly secondViews?: number;
  /** Detail layers: each crop's mask at the model's resolution over the crop, when crops were segmented. */
  readonly details?: readonly MaskDetail[];
  /**
   * I420 → model-input RGB, when the engine's thread did it (frames handed over as I420), ms;
   * absent when the caller passed RGB.
   */
  readonly preprocessMs?: number;
  /**
   * Views (backbone inputs) in the batch this result came from (all sessions' frames together);
   * absent = 1. inferenceMs is the whole batch's time (what this frame waited for), so the
   * compute this frame cost is inferenceMs × views / batchSize (see computeShareMs).
   */
  readonly batchSize?: number;
}

/** The share of the engine thread's time one result cost, ms (a batch's backbone time is split by views). */
export function computeShareMs(r: SegmentResult): number {
  return (r.preprocessMs ?? 0) + (r.inferenceMs * (r.views ?? 1)) / Math.max(1, r.batchSize ?? 1) + (r.detectMs ?? 0) + r.temporalMs + (r.roiMs ?? 0);
}

/**
 * A decoded frame in planar 4:2:0 whose three planes live in one ArrayBuffer, so it can be
 * moved to a worker thread by transferring that buffer (≈ 460 KB at 640×480) instead of
 * being copied or converted on the main thread. Offsets and strides in bytes.
 */
export interface PackedI420 {
  readonly width: number;
  readonly height: number;
  /** Spans its whole ArrayBuffer (required for transfer). */
  readonly data: Uint8Array;
  readonly yOffset: number;
  readonly uOffset: number;
  readonly vOffset: number;
  readonly yStride: number;
  readonly uvStride: number;
}

/** How to build a SegmentationEngine (in-process or inside the inference worker). */
export interface EngineOptions {
  readonly model: ModelName;
  readonly backend: 'auto' | BackendName;
  readonly temporal: TemporalConfig;
  /** Folder holding the weights named in models/manifest.json; default <project>/models. */
  readonly modelsDir?: string;
  /**
   * Largest cross-session batch the backbone will be asked to run: ≥ 1 (default 1 = no
   * batching), or 0 = by backend (engine.ts AUTO_MAX_BATCH). Graph variants for batch sizes
   * 2..maxBatch are built and checked at load.
   */
  readonly maxBatch?: number;
  /** ONNX Runtime intra-op threads on the CPU provider (default 1: the worker pool is the parallelism; 0 = one per core). */
  readonly ortThreads?: number;
  /**
   * Segment each session's frames on a crop around where its last mask found people
   * (src/roi/roiTracker.ts, defaults DEFAULT_ROI), or the whole picture every frame when
   * absent/false. Only frames turned into model input by engine.prepare() are cropped.
   */
  readonly roi?: RoiOptions | false;
  /**
   * Analysis hook: replaces the temporal stage built from `temporal` by a stage wrapping it
   * (bench:quality's bounds feed the stage the truth as its memory). The engine owns and
   * disposes what this returns. Not used by the server.
   */
  readonly wrapStage?: (stage: TemporalStage) => TemporalStage;
}

/** One backend the selector tried, for logs: ok, or why not. */
export interface BackendAttempt {
  readonly backend: BackendName;
  readonly ok: boolean;
  /** Why it was not usable (absent when ok). */
  readonly reason?: string;
  /** Not tried at all ('auto' skips GPU providers where no GPU device exists). */
  readonly skipped?: boolean;
}

/** A frame handed to inference: a decoded I420 picture (converted on the engine's thread) or model-input RGB. */
export interface InferenceInput {
  readonly i420?: PackedI420;
  readonly rgb?: Uint8Array;
}

/** What became of a submitted frame (errors reject instead: WorkerCrashedError, RemoteInferenceError, …). */
export type InferenceOutcome =
  | {
    readonly kind: 'mask';
    readonly result: SegmentResult;
    /** Offered → handed to the engine's thread (waiting for the worker, or for batch partners), ms. */
    readonly queueMs: number;
    /** Handed to the engine's thread → result back, ms (includes the batch's other frames). */
    readonly roundTripMs: number;
  }
  /** Not run: a newer frame of the session replaced it (latest frame wins), or the session closed. */
  | { readonly kind: 'dropped'; readonly reason: 'superseded' | 'closed' };

/**
 * What a session needs from the inference side (InferencePool; NaiveInference for the
 * benchmark baseline). The port decides what waits and what is dropped: the pool keeps at most
 * one waiting frame per session (latest frame wins) and answers a replaced one `dropped`.
 */
export interface InferencePort {
  /** The frame's buffers are transferred (the caller must not touch them afterwards). */
  submit(sessionId: string, input: InferenceInput): Promise<InferenceOutcome>;
  /** The session ended: its waiting frame is answered `dropped: closed`, its temporal state freed. */
  closeSession(sessionId: string): void;
}

/** Counters of an engine's thread (or summed over a pool's workers). */
export interface InferenceMemory {
  readonly numTensors: number;
  readonly numDataBuffers: number;
  readonly numBytes: number;
  /** Temporal memory (ring buffers) of the open sessions, bytes. */
  readonly temporalBytes: number;
  /** ONNX Runtime sessions open (the backbone's; 0 on TF.js backends and after close). */
  readonly nativeSessions: number;
  readonly sessions: number;
}

/** The inference side as the server wires it: the pool, or the naive baseline. */
export interface InferenceService extends InferencePort {
  readonly info: EngineInfo;
  readonly backendAttempts: readonly BackendAttempt[];
  /** Threads running engines (the naive baseline: 1, the main thread). */
  readonly workers: number;
  /** Largest cross-session batch (1 = off). */
  readonly maxBatch: number;
  /** Frames waiting for inference over all sessions (pool: ≤ one per session; naive: unbounded). */
  readonly waitingFrames: number;
  /** Workers replaced after crashes. */
  readonly restarts: number;
  memory(): Promise<InferenceMemory>;
  onRestart(cb: () => void): void;
  /** Sessions lost their temporal state in a worker crash (called with how many). */
  onSessionsReset(cb: (sessions: number) => void): void;
  /** The person detector failed between frames (pool; the naive path runs it inside the frame, whose error it becomes). */
  onDetectorError(cb: (e: Error) => void): void;
  close(): Promise<void>;
}
