/**
 * The two baselines the attention stages are measured against:
 *  - `none`: per-frame; the mask is the current frame's prediction, no memory at all.
 *  - `ema`:  plain temporal smoothing, p_t = α·σ(L_t) + (1 − α)·m_{t−1}, where m_{t−1} is the
 *            session's previous mask. Stable, but it lags a moving person by design.
 */
import * as tf from '@tensorflow/tfjs';
import type { TemporalInput, TemporalStage, TemporalState } from '../temporalStage.js';
import { TemporalConfigError, TemporalStateError } from '../temporalStage.js';

const NO_STATE: TemporalState = Object.freeze({ bytes: 0, dispose: () => {} });

export class PassThroughTemporal implements TemporalStage {
  readonly name = 'none';

  openSession(): TemporalState {
    return NO_STATE;
  }

  process(_state: TemporalState, input: TemporalInput): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(input.logits).squeeze([2]) as tf.Tensor2D);
  }

  commit(): void {}

  dispose(): void {}
}

class EmaState implements TemporalState {
  readonly prev: Uint8Array;
  hasPrev = false;
  constructor(pixels: number) {
    this.prev = new Uint8Array(pixels);
  }
  get bytes(): number {
    return this.prev.byteLength;
  }
  dispose(): void {
    this.hasPrev = false;
  }
}

export class EmaTemporal implements TemporalStage {
  readonly name = 'ema';

  /** @param alpha weight of the current frame, (0, 1]. */
  constructor(private readonly height: number, private readonly width: number, readonly alpha = 0.5) {
    if (!(alpha > 0 && alpha <= 1)) throw new TemporalConfigError(`ema alpha must be in (0, 1], got ${alpha}`);
  }

  openSession(): TemporalState {
    return new EmaState(this.height * this.width);
  }

  process(state: TemporalState, input: TemporalInput): tf.Tensor2D {
    const s = asState(state, EmaState);
    return tf.tidy(() => {
      const p = tf.sigmoid(input.logits).squeeze([2]) as tf.Tensor2D;
      if (!s.hasPrev) return p;
      const prev = tf.tensor2d(s.prev, [this.height, this.width], 'float32').div(255);
      return tf.add(tf.mul(p, this.alpha), tf.mul(prev, 1 - this.alpha)) as tf.Tensor2D;
    });
  }

  commit(state: TemporalState, mask: Uint8Array): void {
    const s = asState(state, EmaState);
    s.prev.set(mask);
    s.hasPrev = true;
  }

  dispose(): void {}
}

export function asState<T>(state: TemporalState, type: new (...args: never[]) => T): T {
  if (!(state instanceof type)) throw new TemporalStateError(`temporal state of the wrong kind (${state.constructor.name}) for this stage`);
  return state;
}
