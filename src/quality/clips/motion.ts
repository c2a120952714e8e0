/**
 * Motion curves and seeded randomness for the quality clips, as plain data so a clip
 * definition can be hashed (cache key) and rendered at any sub-frame time (motion blur).
 *
 * A Signal is a value over time t in frames (fractional between frames): a constant,
 * base + rate·t + a sum of periodic waves, or a piecewise linear path through keys + waves. Pure.
 */
import { rng } from '../../shared/random.js';

export interface Wave {
  /** Half of the peak-to-peak swing, in the signal's unit. */
  readonly amp: number;
  /** Frames per cycle. */
  readonly period: number;
  /** Start of the cycle, as a fraction of it (0..1; default 0). */
  readonly phase?: number;
  /**
   * 'sine' (default): smooth, slows down at the turns. 'triangle': constant speed 4·amp/period
   * per frame with instant reversals (the hardest case for a model that expects smooth motion).
   */
  readonly shape?: 'sine' | 'triangle';
}

/**
 * Piecewise linear through `keys` ([time in frames, value], times increasing), constant before
 * the first and after the last (someone walks in, stops; or stands, then walks out), plus waves.
 */
export interface KeyedSignal {
  readonly keys: readonly (readonly [number, number])[];
  readonly waves?: readonly Wave[];
}

export type Signal = number | { readonly base: number; readonly rate?: number; readonly waves?: readonly Wave[] } | KeyedSignal;

export class SignalError extends Error {
  override readonly name = 'SignalError';
}

function keyed(s: KeyedSignal, t: number): number {
  const k = s.keys;
  if (k.length === 0) throw new SignalError('a keyed signal needs at least one [time, value] key');
  if (t <= k[0]![0]) return k[0]![1];
  for (let i = 1; i < k.length; i++) {
    const [t0, v0] = k[i - 1]!;
    const [t1, v1] = k[i]!;
    if (!(t1 > t0)) throw new SignalError(`keyed signal times must increase, got ${t0} then ${t1}`);
    if (t <= t1) return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
  }
  return k[k.length - 1]![1];
}

/** Value of `s` at time t (frames). */
export function evalSignal(s: Signal, t: number): number {
  if (typeof s === 'number') return s;
  let v = 'keys' in s ? keyed(s, t) : s.base + (s.rate ?? 0) * t;
  for (const w of s.waves ?? []) {
    const u = t / w.period + (w.phase ?? 0);
    if (w.shape === 'triangle') {
      const f = u - Math.floor(u);
      // 1 at f = 0, −1 at f = 0.5, back to 1: |slope| = 4 per cycle.
      v += w.amp * (4 * Math.abs(f - 0.5) - 1);
    } else {
      v += w.amp * Math.sin(2 * Math.PI * u);
    }
  }
  return v;
}

/** Largest |change| of `s` between consecutive frames over frames 0..n−1 (units per frame). */
export function maxStep(s: Signal, frames: number): number {
  let m = 0;
  for (let i = 1; i < frames; i++) m = Math.max(m, Math.abs(evalSignal(s, i) - evalSignal(s, i - 1)));
  return m;
}

/**
 * A PRNG for one purpose of one frame of one clip: the same (seed, parts) always gives the
 * same stream, and frames can be rendered independently and in any order.
 */
export function seeded(seed: number, ...parts: number[]): () => number {
  // FNV-1a over the 32-bit words, then mulberry32 (testing/synthClip's rng).
  let h = 0x811c9dc5;
  for (const p of [seed, ...parts]) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (p >>> 16), 0x01000193) >>> 0;
  }
  return rng(h);
}

/** Standard normal deviates from a uniform PRNG (Box–Muller, both outputs used). */
export function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(rand(), 1e-12);
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rand();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}
