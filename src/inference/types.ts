export type ModelName = 'meet' | 'selfie';
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
/**
 * Every temporal mode, in one list: config validation and the CLIs check against it, so a mode
 * added here is accepted everywhere without further edits.
 */
export const TEMPORAL_MODES = ['none', 'ema', 'attention', 'attention-learned'] as const;
export type TemporalMode = (typeof TEMPORAL_MODES)[number];

/** Static facts about the loaded engine, reported in logs, /healthz and metrics. */
export interface EngineInfo {
  readonly backend: BackendName;
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

/** Result of one frame through backbone + temporal stage + mask encoding. */
export interface SegmentResult {
  /** 8-bit alpha (foreground probability × 255), maskWidth × maskHeight, row-major. */
  readonly mask: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Stage times, ms. */
  readonly inferenceMs: number;
  readonly temporalMs: number;
}

/** Temporal stage configuration; unset tuning fields take the measured defaults (src/temporal/factory.ts). */
export interface TemporalConfig {
  readonly mode: TemporalMode;
  /** Frames kept in each session's feature ring buffer (≥ 1). */
  readonly ringSize: number;
  /** Attention window radius, feature cells. */
  readonly radius?: number;
  /** Candidates kept per query over all memory frames. */
  readonly topK?: number;
  /** Softmax temperature on cosine affinities. */
  readonly temperature?: number;
  /** Weight γ of the memory read's logit in the non-parametric fusion (fused = L + γ·logit(read)), [0, 2]. */
  readonly memoryWeight?: number;
  /** Weight of the current frame in `ema`, (0, 1]. */
  readonly emaAlpha?: number;
  /** Read implementation: auto = fused kernel on wasm/cpu, tensor ops elsewhere. */
  readonly implementation?: 'auto' | 'fused' | 'tensor';
  /** Fusion head weights for attention-learned; default <project>/models/temporal-fusion.json. */
  readonly headPath?: string;
}

/** How to build a SegmentationEngine (in-process or inside the inference worker). */
export interface EngineOptions {
  readonly model: ModelName;
  readonly backend: 'auto' | BackendName;
  readonly temporal: TemporalConfig;
  /** Folder holding the weights named in models/manifest.json; default <project>/models. */
  readonly modelsDir?: string;
}

/** One backend the selector tried, for logs: ok, or why not. */
export interface BackendAttempt {
  readonly backend: BackendName;
  readonly ok: boolean;
  /** Why it was not usable (absent when ok). */
  readonly reason?: string;
}
