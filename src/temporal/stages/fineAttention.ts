/**
 * `attention-fine`: attention at pixel level over the session's memory — the measured default.
 *
 * The read (../attention/pixelMatch.ts): each pixel of the current frame attends to a local
 * window of the memory frame with −SAD of luma patches as the affinity and top-1 selection,
 * found coarse to fine (a 1/4-resolution pyramid level, 8 × 8-px blocks within ±searchRadius,
 * then per pixel the best of its own and its 8 neighbouring blocks' matches), and takes the
 * memory's mask value there. Its cost — the mean luma difference around the pixel at the
 * match — says how well the content was found: low where it was, high at an occlusion, a
 * disocclusion, a newcomer or a cut.
 *
 * The fusion, in logit space as the non-parametric attention's:
 *
 *     z = clamp8(L) + exp(−cost / c) · (w · logit(read) + h · sign(logit(read))),     mask = σ(z)
 *
 * with w < 1 by design: the memory is the session's previous mask, so at a perfect match a
 * fixed disagreement of the current frame (L of the other sign) always wins within a few
 * frames — the fixed point of z ← L + w·clamp8(z) has the sign of L. With w ≥ 1 a label the
 * memory holds over a region that matches itself perfectly (a static background, a person
 * standing still) can never be changed by the current frame again (measured: a flower pot
 * stuck as "person" for 12 frames on fast-translation-blur at w = 1.25).
 *
 * h (hysteresis, default 0.5) is the one deliberate exception, and a bounded one: at a perfect
 * match the fixed point is z = (L ± h) / (1 − w), so a label the memory holds survives only a
 * current frame that is unsure of the opposite (|L| < h: p within 0.38–0.62 at h = 0.5); any
 * frame surer than that overturns it as before. This is what keeps an uncertain edge pixel
 * from flipping back and forth (measured: TE −3 % on the moving clips, −26 % on the static).
 *
 * Memory per session: the previous frame's luma and mask at mask resolution (2 × H × W bytes)
 * plus this frame's luma until commit(). The read carries history recursively (the previous
 * mask is itself fused), so one frame of memory is enough for this read; the ring buffer of
 * backbone features belongs to the `attention` and `attention-learned` modes.
 *
 * Runs on plain arrays on every backend (the matcher's block search in WebAssembly SIMD); on
 * GPU backends the logits are read back once per frame.
 */
import * as tf from '@tensorflow/tfjs';
import { PixelMatcher, type PixelMatchOutputs } from '../attention/pixelMatch.js';
import { TemporalConfigError, type TemporalInput, type TemporalStage, type TemporalState } from '../temporalStage.js';
import { asState } from './simple.js';
import { LOGIT_CLAMP, fastClampedLogit, fastSigmoid } from '../../shared/fastMath.js';

export interface FineAttentionOptions {
  /** Weight w of the memory read's logit at a perfect match, [0, 2] (< 1: every label can be overturned; see above). */
  readonly weight: number;
  /** Mean luma difference (grey levels) at which the read's weight falls to 1/e, > 0. */
  readonly costScale: number;
  /** Block search radius around the pyramid's guess, mask px, [0, 16]. */
  readonly searchRadius: number;
  /** Patch radius of the per-pixel choice and the cost, mask px, [0, 4]. */
  readonly patchRadius: number;
  /**
   * What the memory holds: 8 = the session's 8-bit mask (logit ±5.5 at 1/255, ±8 at 0 and 255);
   * > 8 = the fused logit itself, clamped to ±memoryClamp (float32), so a long-held label
   * outweighs one confident contrary frame. [8, 32].
   */
  readonly memoryClamp?: number;
  /**
   * Hysteresis, logit units [0, 4]: the memory's label (sign) adds ±hysteresis · trust on top of
   * its weighted logit, so a pixel the memory holds changes label only when the current frame is
   * at least that sure. 0 = off (when omitted here; createTemporalStage passes
   * TEMPORAL_DEFAULTS.fineHysteresis, 0.5).
   */
  readonly hysteresis?: number;
}

const BLOCK = 8;
const COARSE_RADIUS = 7;
/** Steps per grey level of the trust table exp(−cost / c) (error < 0.5 % of one step's change). */
const TRUST_STEPS = 16;

function clampTo(v: number, c: number): number {
  return v > c ? c : v < -c ? -c : v;
}

export class FineAttentionState implements TemporalState {
  /** Memory: the previous frame's luma and final mask. */
  readonly prevLuma: Uint8Array;
  readonly prevMask: Uint8Array;
  hasPrev = false;
  /** This frame's luma between process() and commit(). */
  readonly pendingLuma: Uint8Array;
  hasPending = false;
  /** With a logit memory: the previous frame's fused logits, and this frame's until commit(). */
  readonly prevZ: Float32Array;
  readonly pendingZ: Float32Array;
  private released = false;

  constructor(pixels: number, logitMemory: boolean, private readonly release?: (s: FineAttentionState) => boolean) {
    this.prevLuma = new Uint8Array(pixels);
    this.prevMask = new Uint8Array(pixels);
    this.pendingLuma = new Uint8Array(pixels);
    this.prevZ = new Float32Array(logitMemory ? pixels : 0);
    this.pendingZ = new Float32Array(logitMemory ? pixels : 0);
  }

  get bytes(): number {
    return this.prevLuma.byteLength + this.prevMask.byteLength + this.pendingLuma.byteLength + this.prevZ.byteLength + this.pendingZ.byteLength;
  }

  reuse(): this {
    this.released = false;
    this.hasPrev = false;
    this.hasPending = false;
    return this;
  }

  /** Idempotent: back to the stage's pool once (or left to the garbage collector). */
  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.hasPrev = false;
    this.hasPending = false;
    this.release?.(this);
  }
}

/** Closed sessions' states kept for the next ones (bounded), as the attention stage does. */
const MAX_SPARE_STATES = 8;

export class FineAttentionTemporal implements TemporalStage {
  readonly name = 'attention-fine';
  readonly usesLuma = true;
  private readonly matcher: PixelMatcher;
  private readonly out: Float32Array;
  /** exp(−i / TRUST_STEPS / c), and the memory's term w·logit(v) + h·sign for each 8-bit mask value v. */
  private readonly trust: Float64Array;
  private readonly memTerm8: Float64Array;
  private readonly spare: FineAttentionState[] = [];
  private disposed = false;
  private readonly memoryClamp: number;
  private readonly hysteresis: number;
  private last: PixelMatchOutputs | null = null;

  constructor(private readonly H: number, private readonly W: number, readonly opts: FineAttentionOptions) {
    const { weight, costScale, searchRadius, patchRadius } = opts;
    if (!(weight >= 0 && weight <= 2)) throw new TemporalConfigError(`attention-fine weight must be in [0, 2], got ${weight}`);
    if (!(costScale > 0 && costScale <= 255)) throw new TemporalConfigError(`attention-fine costScale must be in (0, 255] grey levels, got ${costScale}`);
    if (!(Number.isInteger(searchRadius) && searchRadius >= 0 && searchRadius <= 16)) throw new TemporalConfigError(`attention-fine searchRadius must be an integer in [0, 16] px, got ${searchRadius}`);
    if (!(Number.isInteger(patchRadius) && patchRadius >= 0 && patchRadius <= 4)) throw new TemporalConfigError(`attention-fine patchRadius must be an integer in [0, 4] px, got ${patchRadius}`);
    const mc = opts.memoryClamp ?? LOGIT_CLAMP;
    if (!(mc >= LOGIT_CLAMP && mc <= 32)) throw new TemporalConfigError(`attention-fine memoryClamp must be in [8, 32], got ${mc}`);
    this.memoryClamp = mc;
    const h = opts.hysteresis ?? 0;
    if (!(h >= 0 && h <= 4)) throw new TemporalConfigError(`attention-fine hysteresis must be in [0, 4] logits, got ${h}`);
    this.hysteresis = h;
    if (W % 16 || H % 16) throw new TemporalConfigError(`attention-fine needs a mask of multiples of 16 px, got ${W}×${H}`);
    this.matcher = new PixelMatcher({ width: W, height: H, block: BLOCK, searchRadius, patchRadius, coarseRadius: COARSE_RADIUS });
    this.out = new Float32Array(W * H);
    this.trust = new Float64Array(256 * TRUST_STEPS + 1);
    for (let i = 0; i < this.trust.length; i++) this.trust[i] = Math.exp(-i / TRUST_STEPS / costScale);
    // The memory's whole term per 8-bit mask value: w·logit(v) + h·sign(logit(v)).
    this.memTerm8 = new Float64Array(256);
    for (let v = 0; v < 256; v++) {
      const l = fastClampedLogit(v / 255);
      this.memTerm8[v] = weight * l + (l > 0 ? this.hysteresis : l < 0 ? -this.hysteresis : 0);
    }
  }

  /** The last process()'s match (read, cost, source; valid until the next call), or null on a frame without memory. For analysis (bench:quality's bounds). */
  get lastMatch(): PixelMatchOutputs | null {
    return this.last;
  }

  /** Whether the block search runs in WebAssembly SIMD. */
  get accelerated(): boolean {
    return this.matcher.accelerated;
  }

  openSession(): TemporalState {
    const spare = this.spare.pop();
    if (spare) return spare.reuse();
    return new FineAttentionState(this.H * this.W, this.memoryClamp > LOGIT_CLAMP, (st) => {
      if (this.disposed || this.spare.length >= MAX_SPARE_STATES) return false;
      this.spare.push(st);
      return true;
    });
  }

  process(state: TemporalState, input: TemporalInput): tf.Tensor2D {
    // A copy: the cpu backend keeps the array it is given, and the stage reuses its buffer.
    return tf.tensor2d(this.processToArray(state, input).slice(), [this.H, this.W]);
  }

  processToArray(state: TemporalState, input: TemporalInput): Float32Array {
    const s = asState(state, FineAttentionState);
    const n = this.H * this.W;
    const logits = input.logitsData ?? (input.logits.dataSync() as Float32Array);
    if (logits.length !== n) throw new TemporalConfigError(`attention-fine was built for ${this.W}×${this.H} masks, got ${logits.length} logits`);
    const out = this.out;
    const luma = input.luma && input.luma.length === n ? input.luma : undefined;
    s.hasPending = !!luma;
    if (luma) s.pendingLuma.set(luma);
    const zMem = this.memoryClamp > LOGIT_CLAMP;
    const C = this.memoryClamp;
    const pz = s.pendingZ;
    this.last = null;
    if (!luma || !s.hasPrev) {
      // First frame (or no picture to match on): the current prediction.
      for (let i = 0; i < n; i++) out[i] = fastSigmoid(logits[i]!);
      if (zMem) for (let i = 0; i < n; i++) pz[i] = clampTo(logits[i]!, LOGIT_CLAMP);
      return out;
    }
    const m = this.matcher.run({ lumaNow: luma, lumaPrev: s.prevLuma, memory: s.prevMask });
    this.last = m;
    const { trust, memTerm8 } = this;
    const w = this.opts.weight;
    const h = this.hysteresis;
    const top = trust.length - 1;
    const { cost, read, source } = m;
    if (!zMem) {
      for (let i = 0; i < n; i++) {
        const c = cost[i]! * TRUST_STEPS;
        const t = c >= top ? trust[top]! : trust[Math.round(c)]!;
        out[i] = fastSigmoid(clampTo(logits[i]!, LOGIT_CLAMP) + t * memTerm8[read[i]!]!);
      }
      return out;
    }
    const prevZ = s.prevZ;
    for (let i = 0; i < n; i++) {
      const c = cost[i]! * TRUST_STEPS;
      const t = c >= top ? trust[top]! : trust[Math.round(c)]!;
      const mem = prevZ[source[i]!]!;
      const z = clampTo(logits[i]!, LOGIT_CLAMP) + t * (w * mem + (mem > 0 ? h : mem < 0 ? -h : 0));
      out[i] = fastSigmoid(z);
      pz[i] = clampTo(z, C);
    }
    return out;
  }

  commit(state: TemporalState, mask: Uint8Array): void {
    const s = asState(state, FineAttentionState);
    if (!s.hasPending) {
      // No luma this frame: nothing to match the next one against.
      s.hasPrev = false;
      return;
    }
    s.prevMask.set(mask);
    s.prevLuma.set(s.pendingLuma);
    if (s.prevZ.length) s.prevZ.set(s.pendingZ);
    s.hasPrev = true;
    s.hasPending = false;
  }

  dispose(): void {
    this.disposed = true;
    this.spare.length = 0;
  }
}
