/**
 * How late the main thread's event loop runs (the thread that carries RTP, DTLS/SCTP, signaling
 * and mask sending): perf_hooks.monitorEventLoopDelay, read and reset every window.
 *
 * - EventLoopLag: the monitor itself, snapshot() → p50/p99/max/mean in ms since the last reset
 *   (the load benchmark uses one over its measured window).
 * - PipelineGauges (adapter): every second sets maskstream_frames_waiting; every 10 s sets
 *   maskstream_event_loop_lag_seconds{stat} from the window that just ended.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Metrics } from './metrics.js';

/** Event-loop delay statistics, ms. */
export interface LagSnapshot {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Delay samples behind the figures. */
  readonly samples: number;
}

export class EventLoopLag {
  private readonly h: IntervalHistogram;
  private started = false;

  /** @param resolutionMs sampling timer period, ms (the finest delay it can see) */
  constructor(private readonly resolutionMs = 10) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
  }

  start(): this {
    if (!this.started) this.h.enable();
    this.started = true;
    return this;
  }

  /**
   * Statistics since the last reset (or start), ms; `reset` starts a new window. The monitor
   * records the whole interval between its timer's runs; the lag is what exceeds the period.
   */
  snapshot(reset = false): LagSnapshot {
    const n = this.h.count;
    const lag = (ns: number) => Math.max(0, ns / 1e6 - this.resolutionMs);
    const out: LagSnapshot = n > 0
      ? { p50Ms: lag(this.h.percentile(50)), p99Ms: lag(this.h.percentile(99)), maxMs: lag(this.h.max), meanMs: lag(this.h.mean), samples: n }
      : { p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0 };
    if (reset) this.h.reset();
    return out;
  }

  stop(): void {
    if (this.started) this.h.disable();
    this.started = false;
  }
}

/** Window of the event-loop lag gauge, ms. */
export const EVENT_LOOP_WINDOW_MS = 10_000;
/** Period of the waiting-frames gauge, ms. */
export const WAITING_SAMPLE_MS = 1000;

export class PipelineGauges {
  private readonly lag = new EventLoopLag(10);
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly metrics: Metrics, private readonly waitingFrames: () => number) {}

  start(): void {
    if (this.timers.length) return;
    this.lag.start();
    this.timers.push(setInterval(() => this.metrics.framesWaiting.set(this.waitingFrames()), WAITING_SAMPLE_MS).unref());
    this.timers.push(setInterval(() => this.sampleLag(), EVENT_LOOP_WINDOW_MS).unref());
  }

  /** Sets the lag gauges from the window so far and starts a new one. */
  sampleLag(): void {
    const s = this.lag.snapshot(true);
    this.metrics.eventLoopLag.set({ stat: 'p50' }, s.p50Ms / 1000);
    this.metrics.eventLoopLag.set({ stat: 'p99' }, s.p99Ms / 1000);
    this.metrics.eventLoopLag.set({ stat: 'max' }, s.maxMs / 1000);
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.lag.stop();
  }
}
