/**
 * The temporal stage between the backbone and the mask. A stage is shared by all sessions and
 * stateless itself; each session's memory lives in the TemporalState it opened (owned by the
 * engine's session entry, disposed when the session closes).
 *
 * Per frame the engine calls process() (current logits + features → fused foreground
 * probability), turns that into the 8-bit mask it sends, then commit()s those bytes: the
 * memory holds exactly what the client saw, so the next frame borrows from the session's own
 * (already stabilised) masks.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TemporalMode } from './temporalConfig.js';

export interface TemporalInput {
  /** Current frame's person logit [H, W, 1] (borrowed: the engine disposes it). */
  readonly logits: tf.Tensor3D;
  /** Current frame's backbone features [h, w, c] (borrowed). */
  readonly features: tf.Tensor3D;
  /** The model input the frame was segmented from, RGB bytes at the model's input size. */
  readonly rgb: Uint8Array;
  /**
   * The same logits / features as plain arrays, when the caller already holds them (the engine
   * after putting a region-of-interest crop back on the whole picture); a stage computing on
   * arrays reads these instead of the tensors, which the caller then never has to create.
   */
  readonly logitsData?: Float32Array;
  readonly featuresData?: Float32Array;
  /**
   * Luma of the whole picture at the mask's size (maskW × maskH bytes, Y as coded: BT.601
   * limited range), when the caller has the picture; the engine computes it only for a stage
   * whose usesLuma is true.
   */
  readonly luma?: Uint8Array;
}

/** A session's temporal memory. */
export interface TemporalState {
  /** Memory held for the session, bytes (fixed after open). */
  readonly bytes: number;
  dispose(): void;
}

export interface TemporalStage {
  readonly name: TemporalMode;
  /** Reads TemporalInput.luma (the engine computes it only then). */
  readonly usesLuma?: boolean;
  openSession(): TemporalState;
  /** Fused foreground probability [H, W] in [0, 1]: a new tensor the caller owns. */
  process(state: TemporalState, input: TemporalInput): tf.Tensor2D;
  /**
   * The same as process(), as a plain array [H·W] owned by the stage (valid until its next
   * call), where the stage computes on arrays anyway (CPU backends): the engine then skips a
   * tensor round trip. Null (or absent) = use process().
   */
  processToArray?(state: TemporalState, input: TemporalInput): Float32Array | null;
  /** Records the frame's final mask (H × W bytes, probability × 255) in the session's memory. */
  commit(state: TemporalState, mask: Uint8Array): void;
  /** Frees what the stage itself owns (weights, tables). Idempotent. */
  dispose(): void;
}

export class TemporalConfigError extends Error {
  override readonly name = 'TemporalConfigError';
}

/** A state handed to a stage that did not open it. */
export class TemporalStateError extends Error {
  override readonly name = 'TemporalStateError';
}
