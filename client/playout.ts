/**
 * Decides what to show on each camera tick: which local frame, with which mask.
 *
 * The display runs behind the camera by the current mask latency D (capture → mask
 * received, max over the last second), so by the time a frame is shown its own mask has
 * normally arrived and the two are composited exactly (misalignment 0). When a frame's mask
 * is missing (dropped by the server, lost, or late), the mask whose source frame is nearest
 * in time is used and the gap is reported as misalignment. Before any mask — or when masks
 * stop for a second — the newest frame is shown plain, without delay.
 */

import { SAME_FRAME_TOLERANCE_US } from './frameMatcher.js';
import type { LocalFrame, LocalFrameQueue } from './localFrames.js';
import type { ReceivedMask } from './maskReceiver.js';
import { WindowedSamples } from './stats.js';

export type PlayoutMode = 'live' | 'matched' | 'unmapped';

export interface PlayoutPick {
  readonly frame: LocalFrame;
  readonly mask?: ReceivedMask;
  readonly mode: PlayoutMode;
  /** Capture-time gap between the shown frame and the mask's source frame, ms. */
  readonly misalignmentMs?: number;
}

export interface PlayoutOptions {
  /** Masks older than this (arrival) stop being shown, ms. */
  readonly staleAfterMs?: number;
  /** Masks kept for lookup. */
  readonly historySize?: number;
}

export class Playout {
  private readonly masks: ReceivedMask[] = [];
  private readonly latency = new WindowedSamples(1000);
  private delayMs = 0;
  private lastShownUs = -Infinity;
  private readonly staleAfterMs: number;
  private readonly historySize: number;

  constructor(private readonly queue: LocalFrameQueue, opts: PlayoutOptions = {}) {
    this.staleAfterMs = opts.staleAfterMs ?? 1000;
    this.historySize = opts.historySize ?? 48;
  }

  addMask(m: ReceivedMask): void {
    this.masks.push(m);
    if (this.masks.length > this.historySize) this.masks.shift();
    if (m.e2eMs !== undefined) this.latency.add(m.receivedAtMs, m.e2eMs);
  }

  /** Current display delay behind the camera, ms. */
  get displayDelayMs(): number {
    return this.delayMs;
  }

  pick(nowMs: number): PlayoutPick | undefined {
    const newest = this.queue.newest();
    if (!newest) return undefined;
    const last = this.masks[this.masks.length - 1];
    if (!last || nowMs - last.receivedAtMs > this.staleAfterMs) {
      this.delayMs = 0;
      this.lastShownUs = newest.tsUs;
      return { frame: newest, mode: 'live' };
    }
    if (last.sourceUs === undefined) {
      // Mapping not learned (yet): best effort, newest mask on the newest frame.
      this.lastShownUs = newest.tsUs;
      return { frame: newest, mask: last, mode: 'unmapped' };
    }
    this.updateDelay(nowMs);
    const targetUs = Math.max(newest.tsUs - this.delayMs * 1000, this.lastShownUs);
    const frame = this.queue.atOrBefore(targetUs + SAME_FRAME_TOLERANCE_US) ?? this.queue.oldest() ?? newest;
    this.lastShownUs = frame.tsUs;
    const mask = this.nearestMask(frame.tsUs) ?? last;
    const gapUs = mask.sourceUs === undefined ? undefined : Math.abs(frame.tsUs - mask.sourceUs);
    return {
      frame,
      mask,
      mode: 'matched',
      ...(gapUs !== undefined ? { misalignmentMs: gapUs <= SAME_FRAME_TOLERANCE_US ? 0 : gapUs / 1000 } : {}),
    };
  }

  /** Rises at once to the worst recent latency; falls by at most 2 ms per tick (no jumps). */
  private updateDelay(nowMs: number): void {
    const worst = this.latency.max(nowMs);
    if (worst === undefined) return;
    const want = Math.min(worst + 2, this.queue.maxAgeMs - 60);
    this.delayMs = want >= this.delayMs ? want : Math.max(want, this.delayMs - 2);
  }

  private nearestMask(tsUs: number): ReceivedMask | undefined {
    let best: ReceivedMask | undefined;
    let bestGap = Infinity;
    for (const m of this.masks) {
      if (m.sourceUs === undefined) continue;
      const gap = Math.abs(m.sourceUs - tsUs);
      if (gap < bestGap) {
        best = m;
        bestGap = gap;
      }
    }
    return best;
  }
}
