/**
 * Contracts of the ingest stages: RTP packets in, whole encoded frames out.
 * All stages are pure (no I/O, no timers); time is passed in as `nowMs`.
 */

export type VideoCodecName = 'vp8' | 'h264';

/** One RTP packet as the ingest stages see it (already un-RTX'd by werift). */
export interface RtpIn {
  /** RTP sequence number, uint16. */
  readonly seq: number;
  /** RTP timestamp, uint32, 90 kHz for video. */
  readonly timestamp: number;
  readonly marker: boolean;
  readonly ssrc: number;
  readonly payloadType: number;
  /** RTP payload (after header and extensions, padding removed). */
  readonly payload: Buffer;
  /** Arrival time on the server clock, ms (performance.now() based). */
  readonly arrivalMs: number;
}

/** A whole encoded frame ready for the decoder. */
export interface EncodedFrame {
  readonly codec: VideoCodecName;
  /** VP8: the raw VP8 frame. H.264: Annex-B byte stream (start codes + NAL units). */
  readonly data: Buffer;
  readonly keyframe: boolean;
  /** RTP timestamp, uint32 (90 kHz). */
  readonly rtpTimestamp: number;
  /** Extended (unwrapped) RTP timestamp, monotonic within an SSRC, for ordering. */
  readonly extTimestamp: number;
  readonly ssrc: number;
  /** Arrival of the frame's first packet, ms (server clock). */
  readonly firstPacketMs: number;
  /** Time the frame became complete (last missing packet arrived), ms. */
  readonly completeMs: number;
  /** Width/height parsed from a keyframe's bitstream header when known (VP8 keyframes, H.264 SPS). */
  readonly width?: number;
  readonly height?: number;
}

/** Why the assembler asks the sender for a keyframe (used as a metric label: keep the set closed). */
export type KeyframeReason = 'start' | 'loss' | 'decoder_error' | 'ssrc_change' | 'timeout';

/**
 * Stream changes the assembler notices and recovers from (metric label: keep the set closed):
 * a new SSRC, a keyframe of another size, an RTP timestamp step of more than 5 s either way,
 * a sequence number jump the reorder buffer resynchronised on.
 */
export type StreamEvent = 'ssrc_change' | 'resolution_change' | 'timestamp_jump' | 'sequence_jump';

export type AssemblerOutput =
  | { readonly kind: 'frame'; readonly frame: EncodedFrame }
  /** Informational: counted, nothing to do (any keyframe request comes as its own output). */
  | { readonly kind: 'stream_event'; readonly event: StreamEvent }
  | { readonly kind: 'keyframe_needed'; readonly reason: KeyframeReason }
  /** A frame that could not be assembled (missing packets, corrupt payload); counted as a drop. */
  | { readonly kind: 'frame_dropped'; readonly reason: AssemblerDropReason; readonly rtpTimestamp: number };

/**
 * incomplete: packets lost and not recovered in time; corrupt: the payload could not be
 * depacketized; too_large: bigger than the configured pixel or byte limit; waiting_keyframe:
 * a delta frame after the reference chain broke, before the next keyframe.
 */
export type AssemblerDropReason = 'incomplete' | 'corrupt' | 'too_large' | 'waiting_keyframe';
