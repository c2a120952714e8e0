/**
 * The temporal stage between the backbone and the mask: fuses the current frame's logits with
 * what the session's ring buffer remembers. Stages are stateless and shared by all sessions;
 * per-session state lives only in the FeatureRingBuffer the engine passes in.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TemporalConfig, TemporalMode } from '../inference/types.js';
import type { FeatureRingBuffer } from './ringBuffer.js';

export interface TemporalContext {
  /** The session's memory; holds frames before the current one when process() is called. */
  readonly ring: FeatureRingBuffer;
  /** Current frame's person logit [H, W, 1] (borrowed: the engine disposes it). */
  readonly logits: tf.Tensor3D;
  /** Current frame's key features [h, w, c] (borrowed: the engine disposes it). */
  readonly features: tf.Tensor3D;
}

export interface TemporalStage {
  /** Mode name, as in config (for logs and metrics). */
  readonly name: string;
  /**
   * Returns the fused person logit [H, W, 1] (a new tensor the caller owns) and records the
   * current frame in ctx.ring for the next call. Must not dispose ctx tensors.
   */
  process(ctx: TemporalContext): tf.Tensor3D;
}

/** No fusion: output = current logits. Still records every frame so the ring is exercised. */
export class PassThroughTemporal implements TemporalStage {
  readonly name = 'none';

  process(ctx: TemporalContext): tf.Tensor3D {
    ctx.ring.push(ctx.features, ctx.logits);
    return ctx.logits.clone();
  }
}

export class TemporalConfigError extends Error {
  override readonly name = 'TemporalConfigError';
}

/** The stage for a config mode. */
export function createTemporalStage(config: TemporalConfig): TemporalStage {
  if (!Number.isInteger(config.ringSize) || config.ringSize < 1) throw new TemporalConfigError(`temporal ringSize must be an integer ≥ 1, got ${config.ringSize}`);
  const mode: TemporalMode = config.mode;
  switch (mode) {
    case 'none':
      return new PassThroughTemporal();
    default:
      throw new TemporalConfigError(`unknown temporal mode "${String(mode)}"`);
  }
}
