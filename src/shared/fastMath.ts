/**
 * Table-driven σ and clamped logit for the CPU path of the temporal stage: V8's Math.exp and
 * Math.log cost ~25 ns each, and the fusion needs three of them per mask pixel (measured: 1.9
 * of the head's 2.3 ms per frame on a 256×144 mask). Linear interpolation in fixed tables;
 * errors (tested): σ < 1e-6, logit < 1e-3 (both far below one 8-bit mask step, 1/255).
 */

/** σ(z) = 1 / (1 + e^−z) on [−SIG_RANGE, SIG_RANGE], 0/1 beyond (σ(±16) is within 1.2e-7 of them). */
const SIG_RANGE = 16;
const SIG_STEPS_PER_UNIT = 128;
const SIG = (() => {
  const n = 2 * SIG_RANGE * SIG_STEPS_PER_UNIT;
  const t = new Float64Array(n + 2);
  for (let i = 0; i <= n + 1; i++) t[i] = 1 / (1 + Math.exp(-(i / SIG_STEPS_PER_UNIT - SIG_RANGE)));
  return t;
})();

export function fastSigmoid(z: number): number {
  if (z <= -SIG_RANGE) return 0;
  if (z >= SIG_RANGE) return 1;
  const f = (z + SIG_RANGE) * SIG_STEPS_PER_UNIT;
  const i = f | 0;
  const a = SIG[i]!;
  return a + (SIG[i + 1]! - a) * (f - i);
}

/**
 * Logits are clamped to ±8 (probability 0.0003…0.9997) wherever the temporal stages combine
 * them: the one definition every stage imports.
 */
export const LOGIT_CLAMP = 8;

export function clampLogit(v: number): number {
  return v > LOGIT_CLAMP ? LOGIT_CLAMP : v < -LOGIT_CLAMP ? -LOGIT_CLAMP : v;
}

/** log(p / (1 − p)) of p clamped to [1e-4, 1 − 1e-4], then clamped to ±LOGIT_CLAMP: the fusion's read logit. */
const LOGIT_STEPS = 1 << 16;
const LOGIT = (() => {
  const t = new Float64Array(LOGIT_STEPS + 2);
  for (let i = 0; i <= LOGIT_STEPS + 1; i++) {
    const p = Math.min(1 - 1e-4, Math.max(1e-4, i / LOGIT_STEPS));
    t[i] = Math.min(LOGIT_CLAMP, Math.max(-LOGIT_CLAMP, Math.log(p / (1 - p))));
  }
  return t;
})();

export function fastClampedLogit(p: number): number {
  if (!(p > 0)) return -LOGIT_CLAMP;
  if (p >= 1) return LOGIT_CLAMP;
  const f = p * LOGIT_STEPS;
  const i = f | 0;
  const a = LOGIT[i]!;
  return a + (LOGIT[i + 1]! - a) * (f - i);
}
