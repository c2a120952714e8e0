/** What the quality clips are: definitions (data) and finished clips (pixels + exact GT). */
import type { I420Picture } from '../../decode/types.js';
import type { SceneSpec } from './composite.js';
import type { BackgroundId, PersonId } from './sources.js';

export type ClipKind = 'moving' | 'static';

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
}
