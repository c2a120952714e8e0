/**
 * Every temporal mode, in one list: config validation and the CLIs check against it, so a mode
 * added here is accepted everywhere without further edits.
 */
export const TEMPORAL_MODES = ['none', 'ema', 'attention', 'attention-learned', 'attention-fine'] as const;
export type TemporalMode = (typeof TEMPORAL_MODES)[number];

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
  /** Read implementation: auto = fused kernel where outputs are in CPU memory (wasm, cpu, ort-*), tensor ops elsewhere. */
  readonly implementation?: 'auto' | 'fused' | 'tensor';
  /** Fusion head weights for attention-learned; default <project>/models/temporal-fusion.json. */
  readonly headPath?: string;
  /** attention-fine: weight w of the memory read's logit at a perfect match, [0, 2] (< 1 so every label can be overturned). */
  readonly fineWeight?: number;
  /** attention-fine: mean luma difference at which the read's weight falls to 1/e, grey levels (0, 255]. */
  readonly fineCostScale?: number;
  /** attention-fine: block search radius around the pyramid's guess, mask px [0, 16]. */
  readonly fineSearchRadius?: number;
  /** attention-fine: patch radius of the per-pixel choice and of the cost, mask px [0, 4]. */
  readonly finePatchRadius?: number;
  /** attention-fine: memory of the 8-bit mask (8) or of the fused logit clamped to ± this, [8, 32]. */
  readonly fineMemoryClamp?: number;
  /** attention-fine: hysteresis of the memory's label, logits [0, 4] (0 = off; default 0.5). */
  readonly fineHysteresis?: number;
}
