/** What the quality clips are: definitions (data) and finished clips (pixels + exact GT). */
import type { I420Picture } from '../../decode/types.js';
import type { SceneSpec } from './composite.js';
import type { BackgroundId, PersonId } from './sources.js';

/** 'moving' / 'static': one person (or one pair) scored by J, F, TE; 'multi': several people, scored per person too. */
export type ClipKind = 'moving' | 'static' | 'multi';

/** What a person of a multi-person clip does over the clip (for its description and its validity checks). */
export type CastRole = 'stays' | 'enters' | 'leaves';

export interface CastMember {
  /** Unique in the clip: the cut-out's id, with " (2)" for a second copy. */
  readonly name: string;
  readonly role: CastRole;
}

/** A clip as data: hashable (cache key), renderable anywhere, no pixels. */
export interface ClipDefinition {
  /** Unique, file-name safe. */
  readonly name: string;
  /** One line: motion, person, background, bitrate. */
  readonly description: string;
  /** 'static': a near-still person (tests flicker/stability); 'moving': motion that breaks per-frame models. */
  readonly kind: ClipKind;
  readonly scene: SceneSpec;
  /** VP8 target bitrate of the round trip, bit/s. */
  readonly bitrate: number;
  /** Sources, for reports and for keeping held-out photos out of training. */
  readonly people: readonly PersonId[];
  readonly backgrounds: readonly BackgroundId[];
  /** Built only when its sources are installed (the skimage clip); otherwise skipped with a notice. */
  readonly optional?: boolean;
  /**
   * One entry per layer of scene.people (same order). When present, the clip is rendered with
   * per-person truth (QualityClip.people).
   */
  readonly cast?: readonly CastMember[];
}

/**
 * A person's alpha in one frame, cropped to where it is non-zero: `alpha` is width × height
 * bytes for frame px [x, x + width) × [y, y + height). 0 × 0 (empty alpha) when the person
 * covers no pixel. Use personAlphaFrame() for the whole frame.
 */
export interface AlphaBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly alpha: Uint8Array;
}

/** Exact truth of one person of a multi-person clip. */
export interface PersonTruth {
  readonly name: string;
  readonly role: CastRole;
  /**
   * Per frame, the person's VISIBLE coverage 0..255 (their alpha after the people and objects in
   * front of them, same motion blur / defocus as the clip's gt; the people's boxes sum to gt up to
   * rounding, and equal it where one person alone covers a pixel).
   */
  readonly alpha: readonly AlphaBox[];
  /**
   * Per frame, the share of their body inside the picture whatever is in front of them (0..1;
   * ≈ 1 wholly inside, a little below 1 for a bust standing on the bottom edge).
   */
  readonly inFrame: readonly number[];
}

export interface QualityClip {
  readonly name: string;
  readonly description: string;
  readonly kind: ClipKind;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** What the segmenter sees: the render after a VP8 encode/decode round trip at `bitrate`. */
  readonly frames: I420Picture[];
  /** Exact person alpha 0..255 of each frame (before compression), width × height. */
  readonly gt: Uint8Array[];
  /** VP8 target, bit/s, and what the encoder actually produced over the clip. */
  readonly bitrate: number;
  readonly actualBitrate: number;
  /** Multi-person clips (ClipDefinition.cast): per-person truth, one entry per person. */
  readonly people?: readonly PersonTruth[];
}
