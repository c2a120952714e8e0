/**
 * Finds the local frame a mask was computed from: RTP timestamp → capture timestamp (via the
 * learned mapping) → the queued frame with that timestamp.
 */

import type { LocalFrame, LocalFrameQueue } from './localFrames.js';
import type { RtpCaptureMapper } from './timestampMapper.js';

/** |queued − expected| up to this counts as the same frame, µs (frames are ≥ 10 ms apart). */
export const SAME_FRAME_TOLERANCE_US = 2500;

export interface MatchResult {
  /** Capture timestamp of the source frame, µs; undefined while the mapping is unknown. */
  readonly sourceUs?: number;
  /** The source frame itself, if still queued. */
  readonly frame?: LocalFrame;
}

export class FrameMatcher {
  constructor(private readonly queue: LocalFrameQueue, private readonly mapper: RtpCaptureMapper) {}

  match(rtpTimestamp: number): MatchResult {
    const newest = this.queue.newest();
    if (!newest) return {};
    const sourceUs = this.mapper.captureUs(rtpTimestamp, newest.tsUs);
    if (sourceUs === undefined) return {};
    const near = this.queue.nearest(sourceUs);
    if (near && Math.abs(near.tsUs - sourceUs) <= SAME_FRAME_TOLERANCE_US) return { sourceUs: near.tsUs, frame: near };
    return { sourceUs };
  }
}
