/**
 * Per-person metrics of a mask sequence against per-person truth (multi-person clips). Pure.
 * Masks and truth use metrics.ts's encoding: 8-bit, value ≥ 128 = person.
 *
 * Per frame and person:
 * - truth pixels: the person's visible coverage ≥ 128 (what is left of them after whatever is
 *   in front; see quality/clips/types.ts PersonTruth).
 * - visible: truth pixels ≥ VISIBLE_MIN_SHARE of the frame (0.1 %, 307 px at 640×480). The
 *   smallest people of the clips (≈ 90 px tall) cover ≈ 1,200 px, so they count once about a
 *   quarter of them shows; a hand or a shoulder at the frame edge, or the sliver left of someone
 *   behind another, does not.
 * - found: at least FOUND_SHARE (½) of their truth pixels are masked.
 *
 * Per person over a clip:
 * - recall: found / visible frames.
 * - longest miss: the most visible frames in a row in which they are not found. Frames where
 *   they are not visible neither count nor break the run (hidden behind someone and still missed
 *   afterwards is one loss).
 * - entering: a person not visible in frame 0 who becomes visible. They are *fully in* from the
 *   first frame their in-frame share (the part of their body inside the picture, whatever is in
 *   front of them: a geometric quantity the renderer knows exactly) reaches FULLY_IN_FRAME (95 %)
 *   of its largest value over the clip, and they are visible then. Relative to the largest value
 *   so a bust on the bottom edge or a person whose feet stay below the frame is "fully in" when
 *   as much of them is in the picture as will ever be; in-frame share rather than visible area,
 *   so someone walking in behind another person is not "entering" until they are clear of the
 *   edge, whatever hides them. Latency: frames from fully in to the first frame (at or after
 *   it) in which they are found; null = never found after it.
 */
import type { AlphaBox, CastRole } from './clips/types.js';

export class PersonMetricsError extends Error {
  override readonly name = 'PersonMetricsError';
}

/** Smallest visible truth area that makes a person "visible" in a frame, as a share of the frame. */
export const VISIBLE_MIN_SHARE = 0.001;
/** Share of a person's truth pixels the mask must cover for them to be "found". */
export const FOUND_SHARE = 0.5;
/** An entering person is fully in from the first frame their in-frame share reaches this × its clip maximum. */
export const FULLY_IN_FRAME = 0.95;
/** longestMissInside counts only frames with at least this share of the person's body inside the picture. */
export const HALF_IN_FRAME = 0.5;

/** One person in one frame: truth pixels (visible coverage ≥ 128) and how many of them the mask has (≥ 128). */
export interface PersonFrameCounts {
  readonly truthPx: number;
  readonly maskedPx: number;
}

/** Counts of one person in one frame; `mask` is the whole frame (width wide), `truth` their box. */
export function personFrameCounts(mask: Uint8Array, width: number, truth: AlphaBox): PersonFrameCounts {
  if (truth.alpha.length !== truth.width * truth.height) throw new PersonMetricsError(`truth box ${truth.width}×${truth.height} has ${truth.alpha.length} bytes`);
  if (truth.width > 0 && (truth.x < 0 || truth.y < 0 || truth.x + truth.width > width || (truth.y + truth.height) * width > mask.length)) {
    throw new PersonMetricsError(`truth box ${truth.width}×${truth.height} at (${truth.x}, ${truth.y}) leaves the ${width}-wide mask of ${mask.length} px`);
  }
  let truthPx = 0;
  let maskedPx = 0;
  for (let y = 0; y < truth.height; y++) {
    const row = (truth.y + y) * width + truth.x;
    const trow = y * truth.width;
    for (let x = 0; x < truth.width; x++) {
      const t = truth.alpha[trow + x]! >> 7;
      truthPx += t;
      maskedPx += t & (mask[row + x]! >> 7);
    }
  }
  return { truthPx, maskedPx };
}

/** Truth pixels of a person in one frame (visible coverage ≥ 128). */
export function truthPixels(truth: AlphaBox): number {
  let n = 0;
  for (let i = 0; i < truth.alpha.length; i++) n += truth.alpha[i]! >> 7;
  return n;
}

export interface PersonMetrics {
  readonly name: string;
  readonly role?: CastRole;
  readonly frames: number;
  /** Frames in which the person is visible / visible and found. */
  readonly visibleFrames: number;
  readonly foundFrames: number;
  /** foundFrames / visibleFrames; null when never visible. */
  readonly recall: number | null;
  /** Most visible frames in a row not found (invisible frames skipped). */
  readonly longestMiss: number;
  /**
   * The same, over the frames with at least HALF_IN_FRAME of their body inside the picture only
   * (the others skipped): a person stepping in at the edge is not counted while a sliver of them
   * shows.
   */
  readonly longestMissInside: number;
  readonly firstVisible: number | null;
  /** Not visible in frame 0, visible later. */
  readonly enters: boolean;
  /** Entering: first frame fully in and visible (null: never). */
  readonly fullyInAt: number | null;
  /** Entering: frames from fullyInAt to the first found frame at or after it; null when never found then (or not entering). */
  readonly enterLatency: number | null;
  /** Per frame: 0 not visible, 1 visible and missed, 2 found. */
  readonly states: readonly (0 | 1 | 2)[];
}

/**
 * A person's metrics from their per-frame counts and in-frame shares (same length) in a frame of
 * `framePx` pixels.
 */
export function personSequenceMetrics(name: string, counts: readonly PersonFrameCounts[], inFrame: readonly number[], framePx: number, role?: CastRole): PersonMetrics {
  if (counts.length !== inFrame.length) throw new PersonMetricsError(`${name}: ${counts.length} frames of counts, ${inFrame.length} of in-frame shares`);
  if (!(framePx > 0)) throw new PersonMetricsError(`frame size must be > 0 px, got ${framePx}`);
  const minPx = VISIBLE_MIN_SHARE * framePx;
  const states = counts.map((c): 0 | 1 | 2 => (c.truthPx < minPx ? 0 : c.maskedPx >= FOUND_SHARE * c.truthPx ? 2 : 1));
  let visible = 0, found = 0, run = 0, longest = 0, runIn = 0, longestIn = 0;
  states.forEach((s, i) => {
    if (s === 0) return;
    visible++;
    const inside = inFrame[i]! >= HALF_IN_FRAME;
    if (s === 2) {
      found++;
      run = 0;
      if (inside) runIn = 0;
    } else {
      longest = Math.max(longest, ++run);
      if (inside) longestIn = Math.max(longestIn, ++runIn);
    }
  });
  const firstVisible = states.findIndex((s) => s !== 0);
  const enters = states.length > 0 && states[0] === 0 && firstVisible > 0;
  let fullyInAt: number | null = null;
  let enterLatency: number | null = null;
  if (enters) {
    const most = Math.max(...inFrame);
    const t = states.findIndex((s, i) => s !== 0 && inFrame[i]! >= FULLY_IN_FRAME * most);
    if (t >= 0) {
      fullyInAt = t;
      const f = states.indexOf(2, t);
      enterLatency = f >= 0 ? f - t : null;
    }
  }
  return {
    name,
    ...(role ? { role } : {}),
    frames: states.length,
    visibleFrames: visible,
    foundFrames: found,
    recall: visible ? found / visible : null,
    longestMiss: longest,
    longestMissInside: longestIn,
    firstVisible: firstVisible >= 0 ? firstVisible : null,
    enters,
    fullyInAt,
    enterLatency,
    states,
  };
}

/** Per-person metrics of one clip and their pooled figures. */
export interface PeopleMetrics {
  readonly people: readonly PersonMetrics[];
  /** Visible / found person-frames over everyone. */
  readonly visible: number;
  readonly found: number;
  /** found / visible (1 when no one is ever visible). */
  readonly recall: number;
  /** Largest longestMiss over the people. */
  readonly longestMiss: number;
  /** Largest longestMissInside over the people. */
  readonly longestMissInside: number;
  /** enterLatency of each entering person, in cast order (null = never found after fully in). */
  readonly enterLatencies: readonly (number | null)[];
}

export function poolPeople(people: readonly PersonMetrics[]): PeopleMetrics {
  const visible = people.reduce((s, p) => s + p.visibleFrames, 0);
  const found = people.reduce((s, p) => s + p.foundFrames, 0);
  return {
    people,
    visible,
    found,
    recall: visible ? found / visible : 1,
    longestMiss: people.reduce((m, p) => Math.max(m, p.longestMiss), 0),
    longestMissInside: people.reduce((m, p) => Math.max(m, p.longestMissInside), 0),
    enterLatencies: people.filter((p) => p.enters && p.fullyInAt !== null).map((p) => p.enterLatency),
  };
}

/** Pooled over several clips (person-frames summed; worst miss run; every entering person). */
export function poolClips(clips: readonly PeopleMetrics[]): PeopleMetrics {
  return poolPeople(clips.flatMap((c) => c.people));
}

/** Worst entering latency: the largest, or null if someone was never found ("never"); undefined when no one enters. */
export function worstLatency(latencies: readonly (number | null)[]): number | null | undefined {
  if (!latencies.length) return undefined;
  return latencies.some((l) => l === null) ? null : Math.max(...(latencies as number[]));
}

/** The people's truth of a clip, as PeopleEvaluator needs it (QualityClip.people fits). */
export interface PeopleTruth {
  readonly name: string;
  readonly role?: CastRole;
  readonly alpha: readonly AlphaBox[];
  readonly inFrame: readonly number[];
}

/** Per-person metrics of a sequence fed one mask at a time (frame index order); keeps only counts. */
export class PeopleEvaluator {
  private readonly counts: PersonFrameCounts[][];

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly truth: readonly PeopleTruth[],
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new PersonMetricsError(`size must be positive integers, got ${width}×${height}`);
    this.counts = truth.map(() => []);
  }

  get frames(): number {
    return this.counts[0]?.length ?? 0;
  }

  /** The next frame's mask (width × height, not kept). */
  add(mask: Uint8Array): void {
    const t = this.frames;
    if (mask.length !== this.width * this.height) throw new PersonMetricsError(`mask of frame ${t} has ${mask.length} px, ${this.width}×${this.height} needs ${this.width * this.height}`);
    this.truth.forEach((p, k) => {
      const box = p.alpha[t];
      if (!box) throw new PersonMetricsError(`${p.name} has truth for ${p.alpha.length} frames; frame ${t} was added`);
      this.counts[k]!.push(personFrameCounts(mask, this.width, box));
    });
  }

  result(): PeopleMetrics {
    const n = this.frames;
    return poolPeople(this.truth.map((p, k) => personSequenceMetrics(p.name, this.counts[k]!, p.inFrame.slice(0, n), this.width * this.height, p.role)));
  }
}
