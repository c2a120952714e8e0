/**
 * How busy this instance is, for alerts and autoscaling.
 *
 * - BusyWindow (pure): busy time of the inference workers over a sliding window → utilization.
 * - MeteredInference (adapter): wraps the InferencePort the sessions use; per processed frame it
 *   adds the frame's share of worker compute time (preprocess + its share of the batch's
 *   backbone run + temporal) to maskstream_inference_busy_seconds_total and, divided by the
 *   number of workers, to the BusyWindow (so utilization is a share of the pool's capacity),
 *   and observes the wait inside the worker (round trip − compute) in
 *   maskstream_inference_queue_wait_seconds.
 * - LoadSampler (adapter): once a second sets utilization and maskstream_load_ratio; every
 *   5 s asks the worker for its temporal ring-buffer bytes (a message, never per frame).
 */
import { performance } from 'node:perf_hooks';
import { computeShareMs, type InferenceInput, type InferenceOutcome } from '../inference/types.js';
import type { InferencePort } from '../inference/types.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** Busy milliseconds per fixed slot, over the last `slots` slots. Time passed in (ms). */
export class BusyWindow {
  private readonly busy: Float64Array;
  private readonly slotIds: Float64Array;

  /**
   * @param windowMs length of the window, ms
   * @param slotMs resolution, ms
   * @param startMs when measuring began (earlier time is not counted as idle), ms
   */
  constructor(private readonly windowMs = 10_000, private readonly slotMs = 1000, private readonly startMs = 0) {
    const n = Math.max(1, Math.round(windowMs / slotMs));
    this.busy = new Float64Array(n);
    this.slotIds = new Float64Array(n).fill(-1);
  }

  /** `busyMs` of work that finished at `nowMs`. */
  add(nowMs: number, busyMs: number): void {
    const id = Math.floor(nowMs / this.slotMs);
    const i = id % this.busy.length;
    if (this.slotIds[i] !== id) {
      this.slotIds[i] = id;
      this.busy[i] = 0;
    }
    this.busy[i]! += Math.max(0, busyMs);
  }

  /** Share of the window (ending at nowMs) spent busy, 0..1. */
  ratio(nowMs: number): number {
    const id = Math.floor(nowMs / this.slotMs);
    const n = this.busy.length;
    let sum = 0;
    for (let i = 0; i < n; i++) if (this.slotIds[i]! > id - n && this.slotIds[i]! <= id) sum += this.busy[i]!;
    // The window ends now: (n - 1) whole slots plus the current partial one, but never
    // before measuring began.
    const span = Math.min((n - 1) * this.slotMs + (nowMs - id * this.slotMs), nowMs - this.startMs, this.windowMs);
    if (span <= 0) return 0;
    return Math.min(1, sum / span);
  }
}

/** The autoscaling signal: the tighter of session capacity and inference capacity, 0..1. */
export function loadRatio(activeSessions: number, maxSessions: number, utilization: number): number {
  const sessions = maxSessions > 0 ? activeSessions / maxSessions : 1;
  return Math.min(1, Math.max(sessions, utilization, 0));
}

export class MeteredInference implements InferencePort {
  readonly busy: BusyWindow;

  /** @param workers inference worker threads sharing the load (utilization = busy / (workers × window)) */
  constructor(private readonly inner: InferencePort, private readonly metrics: Metrics, private readonly now: () => number = () => performance.now(), private readonly workers = 1) {
    this.busy = new BusyWindow(10_000, 1000, now());
  }

  submit(sessionId: string, input: InferenceInput): Promise<InferenceOutcome> {
    return this.inner.submit(sessionId, input).then((o) => {
      if (o.kind !== 'mask') return o;
      const res = o.result;
      const shareMs = computeShareMs(res);
      const ownMs = (res.preprocessMs ?? 0) + res.inferenceMs + res.temporalMs + (res.roiMs ?? 0);
      this.metrics.inferenceBusy.inc(shareMs / 1000);
      this.metrics.inferenceQueueWait.observe(Math.max(0, o.roundTripMs - ownMs) / 1000);
      this.busy.add(this.now(), shareMs / Math.max(1, this.workers));
      return o;
    });
  }

  closeSession(sessionId: string): void {
    this.inner.closeSession(sessionId);
  }
}

export interface LoadSamplerDeps {
  readonly metrics: Metrics;
  readonly busy: BusyWindow;
  readonly sessions: () => { active: number; max: number };
  /** The worker's temporal memory, bytes (InferenceWorker.memory().temporalBytes). */
  readonly temporalBytes: () => Promise<number>;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Period of the load gauges, ms. */
export const LOAD_SAMPLE_MS = 1000;
/** Period of the worker memory query, ms. */
export const MEMORY_SAMPLE_MS = 5000;

export class LoadSampler {
  private readonly timers: NodeJS.Timeout[] = [];
  private memoryInFlight = false;

  constructor(private readonly deps: LoadSamplerDeps) {}

  start(): void {
    if (this.timers.length) return;
    this.sampleLoad();
    this.sampleMemory();
    this.timers.push(setInterval(() => this.sampleLoad(), LOAD_SAMPLE_MS).unref());
    this.timers.push(setInterval(() => this.sampleMemory(), MEMORY_SAMPLE_MS).unref());
  }

  /** Sets utilization and load ratio now (also used by /readyz-adjacent tests). */
  sampleLoad(): void {
    const now = (this.deps.now ?? (() => performance.now()))();
    const util = this.deps.busy.ratio(now);
    const { active, max } = this.deps.sessions();
    this.deps.metrics.inferenceUtilization.set(util);
    this.deps.metrics.loadRatio.set(loadRatio(active, max, util));
  }

  private sampleMemory(): void {
    if (this.memoryInFlight) return; // a slow worker must not pile up queries
    this.memoryInFlight = true;
    this.deps.temporalBytes().then(
      (bytes) => this.deps.metrics.temporalBytes.set(bytes),
      (e: Error) => this.deps.logger.debug('temporal memory sample failed', { error: e.message }),
    ).finally(() => (this.memoryInFlight = false));
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }
}
