/** Percentiles for benchmark tables (nearest-rank on a sorted copy). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export function summarize(values: readonly number[]): { n: number; p50: number; p95: number; p99: number; mean: number } {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  return { n, p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), mean };
}

export function fmt(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '–';
}
