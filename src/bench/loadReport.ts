/**
 * The load benchmark's arithmetic and tables. Pure: raw per-mask records and samples in,
 * statistics and Markdown out (src/bench/load.ts does the running).
 */
import { MASK_FIELDS, type MaskRecord } from './loadProtocol.js';
import { fmt, summarize } from './stats.js';

export type Stats = ReturnType<typeof summarize>;

const F = Object.fromEntries(MASK_FIELDS.map((k, i) => [k, i])) as Record<(typeof MASK_FIELDS)[number], number>;

/** One sample of the server process, taken every second of the measured window. */
export interface Sample {
  /** Seconds since the measured window began. */
  readonly t: number;
  readonly rssMB: number;
  /** Frames waiting for inference (pool: ≤ sessions; naive: its FIFO). */
  readonly waitingFrames: number;
  /** Server process CPU over the last second, % of one core. */
  readonly cpuPct: number;
  /** Event-loop lag over the last second, ms. */
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
  /** 1-minute load average of the machine. */
  readonly load1: number;
  /** Tensors over all inference engines (sampled every sampleEvery seconds). */
  readonly tensors?: number;
}

export interface StreamStats {
  readonly stream: number;
  /** Frames sent in the measured window. */
  readonly framesSent: number;
  /** Masks received for those frames. */
  readonly masks: number;
  readonly fps: number;
  /** Share of the window's frames without a mask, %. */
  readonly dropPct: number;
  readonly serverMs: Stats;
  readonly e2eMs: Stats;
  /** Publisher process CPU, % of one core. */
  readonly publisherCpuPct: number;
  /** Mean per-stage times the server reported, ms. */
  readonly stageMeansMs: { decode: number; preprocess: number; inference: number; temporal: number; encode: number };
}

/** Statistics of one publisher's masks whose frames fall in [from, to) (frame indices). */
export function streamStats(stream: number, masks: readonly MaskRecord[], from: number, to: number, seconds: number, publisherCpuPct: number): StreamStats {
  const inWindow = masks.filter((m) => m[F.frameIndex] >= from && m[F.frameIndex] < to);
  const framesSent = to - from;
  const col = (k: number) => inWindow.map((m) => m[k]!);
  const mean = (k: number) => (inWindow.length ? col(k).reduce((a, b) => a + b, 0) / inWindow.length : NaN);
  return {
    stream,
    framesSent,
    masks: inWindow.length,
    fps: inWindow.length / seconds,
    dropPct: framesSent > 0 ? (100 * (framesSent - inWindow.length)) / framesSent : 0,
    serverMs: summarize(col(F.serverMs)),
    e2eMs: summarize(col(F.e2eMs).filter((v) => v >= 0)),
    publisherCpuPct,
    stageMeansMs: { decode: mean(F.decodeMs), preprocess: mean(F.preprocessMs), inference: mean(F.inferenceMs), temporal: mean(F.temporalMs), encode: mean(F.encodeMs) },
  };
}

/** All streams' masks pooled (the "all" row): fps is the total, drops over every stream's frames. */
export function pooledStats(perStream: readonly { masks: readonly MaskRecord[] }[], from: number, to: number, seconds: number, publisherCpuPct: number): StreamStats {
  const one = streamStats(0, perStream.flatMap((p) => p.masks), from, to, seconds, publisherCpuPct);
  const framesSent = (to - from) * perStream.length;
  return { ...one, framesSent, dropPct: framesSent > 0 ? (100 * (framesSent - one.masks)) / framesSent : 0 };
}

/**
 * Server latency over time: for each second of the window (by the frame's send time, from its
 * index), the median server latency of the masks of that second's frames and how many came back.
 */
export function latencyBySecond(perStream: readonly { masks: readonly MaskRecord[] }[], from: number, fps: number, seconds: number): { t: number; masks: number; serverP50Ms: number }[] {
  const out: { t: number; masks: number; serverP50Ms: number }[] = [];
  for (let s = 0; s < seconds; s++) {
    const lo = from + s * fps;
    const hi = lo + fps;
    const v = perStream.flatMap((p) => p.masks.filter((m) => m[F.frameIndex] >= lo && m[F.frameIndex] < hi).map((m) => m[F.serverMs]!));
    out.push({ t: s, masks: v.length, serverP50Ms: summarize(v).p50 });
  }
  return out;
}

const trio = (s: Stats) => `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.p99)}`;

/** The per-stream Markdown table (one row per stream and an `all` row). */
export function streamTable(streams: readonly StreamStats[], all: StreamStats): string {
  const rows = [
    '| stream | processed fps | drops | server ms p50 / p95 / p99 | end to end ms p50 / p95 / p99 | publisher CPU % |',
    '|---|---:|---:|---:|---:|---:|',
    ...streams.map((s) => `| ${s.stream} | ${fmt(s.fps)} | ${fmt(s.dropPct)} % | ${trio(s.serverMs)} | ${trio(s.e2eMs)} | ${fmt(s.publisherCpuPct, 0)} |`),
    `| all | ${fmt(all.fps)} | ${fmt(all.dropPct)} % | ${trio(all.serverMs)} | ${trio(all.e2eMs)} | ${fmt(all.publisherCpuPct, 0)} |`,
  ];
  return rows.join('\n');
}
