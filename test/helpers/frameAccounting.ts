/**
 * Every frame a publisher sends ends as a mask or as a drop the server counts with its reason
 * (`maskstream_frames_dropped_total{reason}`). Under load the live pipeline may legitimately
 * drop more (latest frame wins: a waiting frame is `superseded` by a newer one), so tests
 * assert that the accounting balances and which reasons occurred, not how fast the machine is.
 */
import { DROP_REASONS, type DropReason } from '../../src/observability/metrics.js';
import { LOADED_MS, waitFor } from './waitFor.js';

export type DropCounts = Record<DropReason, number>;

/** Frames dropped so far, by reason (every reason present, 0 when none). */
export async function dropCounts(url: string): Promise<DropCounts> {
  const text = await (await fetch(url + '/metrics')).text();
  const out = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounts;
  for (const m of text.matchAll(/^maskstream_frames_dropped_total\{reason="([a-z_]+)"\} (\S+)$/gm)) out[m[1] as DropReason] = Number(m[2]);
  return out;
}

/** Drops since `before`, only the reasons that occurred. */
export function dropsSince(before: DropCounts, now: DropCounts): Partial<DropCounts> {
  const out: Partial<DropCounts> = {};
  for (const r of DROP_REASONS) if (now[r] - before[r] > 0) out[r] = now[r] - before[r];
  return out;
}

export function total(d: Partial<DropCounts>): number {
  return Object.values(d).reduce((a, b) => a + (b ?? 0), 0);
}

/**
 * Waits (polling /metrics) until masks + counted drops since `before` reach `frames`, or `ms`
 * (default LOADED_MS) passes; resolves with the drops since `before`.
 */
export async function awaitAccounted(url: string, before: DropCounts, frames: number, masks: () => number, ms = LOADED_MS): Promise<Partial<DropCounts>> {
  let drops: Partial<DropCounts> = {};
  await waitFor(async () => {
    drops = dropsSince(before, await dropCounts(url));
    return masks() + total(drops) >= frames;
  }, ms, 100);
  return drops;
}

/**
 * Drop reasons a correct server may show for a clean stream on a loaded machine: `superseded`
 * (latest frame wins), `closed` (frames inside the decoder or the worker when the session ends).
 */
export const LOAD_DROP_REASONS: readonly DropReason[] = ['superseded', 'closed'];
