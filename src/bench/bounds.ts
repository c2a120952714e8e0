/**
 * Bounds for bench:quality: what the default read and fusion could reach with a perfect memory.
 *
 * TruthMemoryStage wraps the session's attention-fine stage and commits the ground truth (at
 * mask resolution) instead of the session's own mask, so the next frame's read borrows from
 * the truth, moved by the stage's own matcher:
 *
 * - 'truth-memory': the stage as it runs (current logits fused with the read), with a perfect
 *   memory;
 * - 'truth-moved': the read alone, the truth at t − 1 carried to t by the matcher (the first
 *   frame, with no memory yet, is the stage's output: the current prediction). Its TE is what
 *   the motion estimate alone costs at the person's edges; the backbone plays no part.
 *
 * Analysis only (EngineOptions.wrapStage); the server never builds one.
 */
import type * as tf from '@tensorflow/tfjs';
import { FineAttentionTemporal } from '../temporal/stages/fineAttention.js';
import { TemporalConfigError, type TemporalInput, type TemporalStage, type TemporalState } from '../temporal/temporalStage.js';

export type BoundKind = 'truth-memory' | 'truth-moved';

export class TruthMemoryStage implements TemporalStage {
  /** The current frame's truth at mask resolution (H × W bytes), set by the caller before each frame. */
  truth: Uint8Array | null = null;
  private out = new Float32Array(0);

  constructor(private readonly inner: TemporalStage, readonly kind: BoundKind) {
    if (!(inner instanceof FineAttentionTemporal)) throw new TemporalConfigError(`bounds need the attention-fine stage, got ${inner.name}`);
  }

  get name(): TemporalStage['name'] {
    return this.inner.name;
  }

  get usesLuma(): boolean {
    return this.inner.usesLuma === true;
  }

  openSession(): TemporalState {
    return this.inner.openSession();
  }

  process(): tf.Tensor2D {
    throw new TemporalConfigError('TruthMemoryStage computes on arrays (processToArray) only');
  }

  processToArray(state: TemporalState, input: TemporalInput): Float32Array {
    const inner = this.inner as FineAttentionTemporal;
    const fused = inner.processToArray(state, input);
    const m = inner.lastMatch;
    if (this.kind === 'truth-memory' || !m) return fused;
    if (this.out.length !== m.read.length) this.out = new Float32Array(m.read.length);
    for (let i = 0; i < m.read.length; i++) this.out[i] = m.read[i]! / 255;
    return this.out;
  }

  commit(state: TemporalState, mask: Uint8Array): void {
    if (this.truth && this.truth.length !== mask.length) throw new TemporalConfigError(`TruthMemoryStage: the truth has ${this.truth.length} pixels, the mask ${mask.length}`);
    this.inner.commit(state, this.truth ?? mask);
  }

  dispose(): void {
    this.inner.dispose();
  }
}
