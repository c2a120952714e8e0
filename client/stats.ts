/** Small rolling statistics over the page's performance.now() clock (ms). */

/** Events per second over a sliding window. */
export class RateMeter {
  private readonly times: number[] = [];
  constructor(private readonly windowMs = 1000) {}

  tick(nowMs: number): void {
    this.times.push(nowMs);
    this.trim(nowMs);
  }

  rate(nowMs: number): number {
    this.trim(nowMs);
    return (this.times.length * 1000) / this.windowMs;
  }

  private trim(nowMs: number): void {
    const from = nowMs - this.windowMs;
    let i = 0;
    while (i < this.times.length && this.times[i]! < from) i++;
    if (i > 0) this.times.splice(0, i);
  }
}

/** Timestamped samples kept for a window; max and mean over it. */
export class WindowedSamples {
  private readonly samples: { t: number; v: number }[] = [];
  constructor(private readonly windowMs: number) {}

  add(nowMs: number, v: number): void {
    this.samples.push({ t: nowMs, v });
    this.trim(nowMs);
  }

  max(nowMs: number): number | undefined {
    this.trim(nowMs);
    let m: number | undefined;
    for (const s of this.samples) m = m === undefined ? s.v : Math.max(m, s.v);
    return m;
  }

  mean(nowMs: number): number | undefined {
    this.trim(nowMs);
    if (this.samples.length === 0) return undefined;
    let sum = 0;
    for (const s of this.samples) sum += s.v;
    return sum / this.samples.length;
  }

  get size(): number {
    return this.samples.length;
  }

  private trim(nowMs: number): void {
    const from = nowMs - this.windowMs;
    let i = 0;
    while (i < this.samples.length && this.samples[i]!.t < from) i++;
    if (i > 0) this.samples.splice(0, i);
  }
}

/** Push onto an array, dropping the oldest entries beyond `limit`. */
export function pushBounded<T>(arr: T[], v: T, limit: number): void {
  arr.push(v);
  if (arr.length > limit) arr.splice(0, arr.length - limit);
}
