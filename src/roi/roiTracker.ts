/**
 * Region-of-interest stage, part 1: where the backbone should look in the next frame, for
 * everyone in the picture.
 *
 * The backbone takes a fixed, small input (meet: 256×144), so a person who fills a third of a
 * 640×480 frame is segmented from ≈ 85×48 model pixels, and a small person far away from a
 * handful. Cutting the next frame around each person (with a margin, moved on by the person's
 * last displacement) gives the model 2–3× more pixels of them for the same cost per crop.
 *
 * The tracker keeps one track per person (or group of touching people) found in the frame's
 * prediction, and plans the next frame's views: one crop per group of tracks that fit one crop
 * hardly larger than each's own (`mergeArea`; at most `maxCrops`, the closest merged beyond
 * that; crops may overlap, the largest logit wins there), all run by the backbone as
 * one batch; plus the whole picture on the first frame, when nobody is tracked, every
 * `refreshFrames` frames (people entering elsewhere are found there), and instead of a crop
 * that would cover most of the picture anyway. A track survives `keepFrames` frames without
 * being seen in its crop (a missed frame does not drop a person), then goes.
 *
 * Pure: the frame's prediction on the whole picture's mask grid in, the next views out. Boxes
 * are in picture pixels, even-aligned (4:2:0 chroma), inside the picture.
 */
import { ComponentFinder, type GridRegion } from './components.js';

/** A crop of the picture, picture pixels, even x/y/width/height (except at the picture's edge). */
export interface RoiBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Size of the picture the box was cut from. */
  readonly pictureWidth: number;
  readonly pictureHeight: number;
}

/**
 * What the backbone runs on for one frame: crops around people, the whole picture, or a
 * discovery tile (a part of the picture looked at closer, in turn, to find people the whole
 * picture shows too small).
 */
export interface RoiView {
  readonly kind: 'crop' | 'whole' | 'tile';
  readonly box: RoiBox;
  /**
   * Looks for people only: its prediction finds new people but does not go into the mask (the
   * whole picture beside crops on refresh frames, tiles). Absent: the view makes the mask where
   * no crop does (a whole picture that is some group's only view).
   */
  readonly discovery?: true;
}

/**
 * What the second model (RoiOptions.secondModel) runs on for one doubt (a person the detector
 * sees whom the mask leaves out): a crop of its own around them, narrow and tight (SECOND_ASPECT),
 * whose person logits count inside `doubt` where they are higher than the first model's.
 */
export interface SecondCrop {
  /** The doubt's box, picture px (the detector's box grown by DOUBT_MARGIN): where the other models' additions are counted. */
  readonly doubt: Box;
  /**
   * The crop, picture px, float: the detector's box grown by SECOND_MARGIN, at SECOND_ASPECT,
   * centred on the person; it may reach past the picture's edges (black there), so a person
   * walking in at the edge is in the middle of it, not squeezed against its side.
   */
  readonly box: Box;
  /** Where their opinion counts: the crop inside the picture. */
  readonly region: Box;
}

export interface RoiOptions {
  /** Margin added on each side, as a share of the person's box width/height. */
  readonly margin: number;
  /** Crop width / height in picture pixels (the model's input is stretched to it, as the whole frame is). */
  readonly aspect: number;
  /** Smallest crop, as a share of the picture's width and height (limits the zoom). */
  readonly minSize: number;
  /**
   * A group shorter than this share of the picture's height is small (far away): its crop keeps
   * the model input's aspect (undistorted; the `aspect` stretch that suits close-ups leaves
   * small people unrecognisable to the segmenter) and may zoom further, to smallMinSize.
   */
  readonly smallHeight: number;
  readonly smallMinSize: number;
  /** A crop larger than this share of the picture's area is not worth it: the whole picture instead. */
  readonly maxArea: number;
  /** Share of the last frame-to-frame displacement of a person's box centre added ahead of it. */
  readonly lead: number;
  /** Whole picture (besides the crops) every this many frames, so newcomers are found; 0 = only when nobody is tracked. */
  readonly refreshFrames: number;
  /** Mask value (0..255) counted as person when finding people (on σ(logit) × 255). */
  readonly threshold: number;
  /**
   * Lower value (0..255) at which a region nobody is tracked in starts a track (a proposal its
   * crop then confirms or drops): the backbone is often unsure of small people on the whole
   * picture; the crop gives them the pixels to be sure. = threshold: no proposals.
   */
  readonly seedThreshold: number;
  /** Most crops per frame (each is one backbone run); closest groups are merged beyond it. */
  readonly maxCrops: number;
  /**
   * Two groups share one crop when that crop is at most this many times the area of each of
   * their own crops (one backbone run instead of two, and neither's pixels shrink by more than
   * √ of it); otherwise each keeps its crop, even where the crops overlap.
   */
  readonly mergeArea: number;
  /** Frames a person is kept without being seen in their crop before the track goes. */
  readonly keepFrames: number;
  /** Frames a proposal (detector, weak region) gets its crop to show a person before it goes. */
  readonly probeFrames: number;
  /** Smallest region counted as a person, mask-grid cells (smaller ones are noise). */
  readonly minArea: number;
  /**
   * Discovery tiles: the picture split into tiles × tiles overlapping parts, one of them segmented
   * besides the crops on each frame that has no whole-picture view, in turn (0 = off).
   */
  readonly tiles: number;
  /** Person detector proposing people (src/inference/personDetector.ts), or 'none'. */
  readonly detector: 'none' | 'movenet-multipose';
  /** Run the detector on the whole picture every this many frames (from the first). */
  readonly detectEvery: number;
  /** Detector centre score (0..1) at which a peak is a person. */
  readonly detectScore: number;
  /**
   * A second opinion: the model that also segments the views holding a *doubt* (a person the
   * detector sees whose centre the mask leaves out), or 'none'. MediaPipe's two models miss
   * different people (docs/temporal.md, "Several people"): selfie finds some that meet holds as
   * background, meet some that selfie does.
   */
  readonly secondModel: 'none' | 'selfie';
  /**
   * A detected person is a doubt when the mask (after the temporal stage: what the user sees)
   * covers less than this share of the middle of their box (the middle 20 % across, 30–70 %
   * down: the torso) and fills less than DOUBT_FILL of the box, or fills less than FILL_MIN of
   * it whatever the torso; a doubt lasts while the detector keeps seeing them (it goes after two
   * passes without), and rests once the second model has added nothing there for SETTLE_RUNS
   * runs in a row while the mask holds them (a person both models agree on, such as a
   * head-and-shoulders framing whose torso zone holds background beside the neck: ≈ 0.8 covered).
   */
  readonly doubtCover: number;
  /**
   * A detected person whose box the mask fills at least this share of is no doubt, whatever
   * their torso: a well-segmented person in a pose that leaves part of the torso zone empty (on
   * the single-person clips the mask fills 0.41–0.61 of their boxes while covering 0.53–0.79 of
   * the torso zone), or a false, wide detector box over them. 1: the torso alone decides.
   */
  readonly doubtFill: number;
}

/**
 * Measured defaults (docs/temporal.md, "Region of interest" and "Several people"): margin 0.1
 * and a 3:4 crop gave the highest J for one person; maxArea 0.9 (0.7 left the large-person clips
 * on the whole frame); the small-people aspect and zoom, the detector, mergeArea 1 (every group
 * its own crop unless one crop holds both at the same zoom) from the multi-person clips,
 * checked against the single-person ones; selfie's second opinion on doubts (people the
 * detector sees and the mask leaves out) likewise; refresh 10 from the street video (vtest: area
 * 0.899 → 0.991 of the whole picture's with 30 → 10; single-person J within 0.001, one more
 * backbone run every 10 frames).
 */
export const DEFAULT_ROI: Readonly<RoiOptions> = Object.freeze({
  margin: 0.1,
  aspect: 0.75,
  minSize: 0.3,
  smallHeight: 0.5,
  smallMinSize: 0.2,
  maxArea: 0.9,
  lead: 1,
  refreshFrames: 10,
  threshold: 128,
  // Proposals from weak regions: off (= threshold). Measured: on the single-person clips they
  // start crops on background that flicker (held-out clip TE 1.24 → 3.68 %); the detector finds
  // the people the segmenter is unsure of instead.
  seedThreshold: 128,
  // 5 (4 until 2026-12-05): with the detector every 5th frame a street of walkers has more
  // proposals than 4 crops hold, and merged groups lose their zoom (vtest area 0.870 with 4,
  // 0.926 with 5, 0.936 with 6; backbone 21.4 ms per frame there with 5, 22.6 with 6).
  maxCrops: 5,
  mergeArea: 1,
  keepFrames: 15,
  probeFrames: 3,
  minArea: 12,
  tiles: 0,
  detector: 'movenet-multipose',
  // Every 5th frame (10th until 2026-12-05): a person stepping in at the edge is found after
  // 8 frames instead of 12 (docs/temporal.md, "A crop of its own"); ≈ 17 ms of a worker a run.
  detectEvery: 5,
  detectScore: 0.2,
  // Measured on the multi-person clips (docs/temporal.md, "A second opinion"): per-person recall
  // 0.832 → 0.910 (J 0.8279 → 0.8407) with doubtCover 0.8; 0.9 finds no more and costs the held-out
  // single-person clip 0.07 of J (selfie's background inside the box).
  secondModel: 'selfie',
  doubtCover: 0.8,
  // Measured over the detector's boxes on every quality clip: the people the mask misses fill at
  // most 0.41 of them. With 1, selfie ran on most frames of two single-person clips and painted
  // background into the mask (held-out clip J 0.834 → 0.766; docs/temporal.md, "A crop of its own").
  doubtFill: 0.4,
})

export class RoiOptionsError extends Error {
  override readonly name = 'RoiOptionsError';
}

export function validateRoiOptions(o: RoiOptions): void {
  const bad = (m: string) => {
    throw new RoiOptionsError(`region of interest: ${m}`);
  };
  if (!(o.margin >= 0 && o.margin <= 2)) bad(`margin ${o.margin} must be in [0, 2]`);
  if (!(o.aspect >= 0.1 && o.aspect <= 10)) bad(`aspect ${o.aspect} must be in [0.1, 10]`);
  if (!(o.minSize > 0 && o.minSize <= 1)) bad(`minSize ${o.minSize} must be in (0, 1]`);
  if (!(o.smallHeight >= 0 && o.smallHeight <= 1)) bad(`smallHeight ${o.smallHeight} must be in [0, 1]`);
  if (!(o.smallMinSize > 0 && o.smallMinSize <= 1)) bad(`smallMinSize ${o.smallMinSize} must be in (0, 1]`);
  if (!(o.maxArea > 0 && o.maxArea <= 1)) bad(`maxArea ${o.maxArea} must be in (0, 1]`);
  if (!(o.lead >= 0 && o.lead <= 2)) bad(`lead ${o.lead} must be in [0, 2]`);
  if (!(Number.isInteger(o.refreshFrames) && o.refreshFrames >= 0)) bad(`refreshFrames ${o.refreshFrames} must be an integer ≥ 0`);
  if (!(Number.isInteger(o.threshold) && o.threshold >= 1 && o.threshold <= 255)) bad(`threshold ${o.threshold} must be an integer in [1, 255]`);
  if (!(Number.isInteger(o.seedThreshold) && o.seedThreshold >= 1 && o.seedThreshold <= o.threshold)) bad(`seedThreshold ${o.seedThreshold} must be an integer in [1, threshold]`);
  if (!(Number.isInteger(o.maxCrops) && o.maxCrops >= 1 && o.maxCrops <= 16)) bad(`maxCrops ${o.maxCrops} must be an integer in [1, 16]`);
  if (!(o.mergeArea >= 1 && o.mergeArea <= 100)) bad(`mergeArea ${o.mergeArea} must be in [1, 100]`);
  if (!(Number.isInteger(o.keepFrames) && o.keepFrames >= 0 && o.keepFrames <= 600)) bad(`keepFrames ${o.keepFrames} must be an integer in [0, 600]`);
  if (!(Number.isInteger(o.probeFrames) && o.probeFrames >= 1 && o.probeFrames <= 600)) bad(`probeFrames ${o.probeFrames} must be an integer in [1, 600]`);
  if (!(Number.isInteger(o.minArea) && o.minArea >= 1)) bad(`minArea ${o.minArea} must be an integer ≥ 1`);
  if (!(Number.isInteger(o.tiles) && o.tiles >= 0 && o.tiles <= 4)) bad(`tiles ${o.tiles} must be an integer in [0, 4]`);
  if (o.detector !== 'none' && o.detector !== 'movenet-multipose') bad(`detector ${String(o.detector)} must be none or movenet-multipose`);
  if (!(Number.isInteger(o.detectEvery) && o.detectEvery >= 1 && o.detectEvery <= 600)) bad(`detectEvery ${o.detectEvery} must be an integer in [1, 600]`);
  if (!(o.detectScore > 0 && o.detectScore < 1)) bad(`detectScore ${o.detectScore} must be in (0, 1)`);
  if (o.secondModel !== 'none' && o.secondModel !== 'selfie') bad(`secondModel ${String(o.secondModel)} must be none or selfie`);
  if (o.secondModel !== 'none' && o.detector === 'none') bad('secondModel needs a detector (its doubts are people the detector sees)');
  if (!(o.doubtCover > 0 && o.doubtCover <= 1)) bad(`doubtCover ${o.doubtCover} must be in (0, 1]`);
  if (!(o.doubtFill > 0 && o.doubtFill <= 1)) bad(`doubtFill ${o.doubtFill} must be in (0, 1]`);
}

/** A box in picture pixels, float, inclusive-exclusive. */
export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/**
 * Margin added on each side of a doubt's box, as a share of its width/height (measured on the
 * multi-person clips: 0 → 0.1 per-person recall 0.911 → 0.925; 0.25: 0.922).
 */
const DOUBT_MARGIN = 0.1;
/**
 * Margin added on each side of the detector's box for the second model's crop, as a share of
 * its width / height: the detector's boxes (from keypoints) leave out the top of the head and the
 * feet. Measured on the multi-person clips: 0.1 → 0.25 per-person recall 0.928 → 0.939 (the
 * small seated woman 0.81 → 0.98).
 */
const SECOND_MARGIN = 0.25;

/** A person the detector sees and the mask leaves out; `passes`: detector passes since it last saw them. */
interface Doubt {
  box: Box;
  /** The detector's own box (the torso is read on it). */
  seen: Box;
  passes: number;
  /** Second-model runs in a row that added (almost) nothing to the frame's logits inside the box. */
  idle: number;
  /**
   * Resting: the second model agreed with the first SETTLE_RUNS times in a row and the mask
   * covers their torso; no more runs until a detector pass finds the torso lost.
   */
  settled: boolean;
}

/**
 * Width / height of the second model's crop around a doubt. Measured on the people of the
 * multi-person clips that both models miss on their group's crop (docs/temporal.md, "A crop of
 * its own"): a tight crop at 3:4 (stretched to selfie's square input) found them in 0.85–0.97 of
 * their truth pixels where the group's 16:9 crop found 0–0.3.
 */
const SECOND_ASPECT = 0.75;
/** Smallest side of a second-model crop, picture px (a far-away person is not zoomed beyond ×8 of selfie's 256). */
const SECOND_MIN_PX = 32;

/**
 * A detected person whose box the mask fills less than this share of is a doubt (or a resting
 * doubt wakes) whatever their torso: a seated person of whom the mask keeps the torso alone
 * fills 0.07–0.10 of their box. Measured over the detector's boxes on every quality clip
 * (docs/temporal.md, "A crop of its own"): people the mask finds fill ≥ 0.18.
 */
const FILL_MIN = 0.15;

/** A second-model run that adds less than this share of a doubt box's cells to the person is idle. */
const SETTLE_SHARE = 0.02;
/**
 * Idle runs in a row after which a doubt rests (when the mask holds them). Measured on the
 * multi-person clips: 3 → 10 per-person recall 0.939 → 0.969 (small people the mask holds for a
 * few frames and loses again stay with the second model), backbone time per frame 8.8 ms.
 */
const SETTLE_RUNS = 10;

interface Track {
  /** Where the person was last seen, picture px. */
  box: Box;
  /** Last frame-to-frame displacement of the box centre, px. */
  vx: number;
  vy: number;
  /** Frames since last seen. */
  missed: number;
  /** Seen by the segmenter at least once (a proposal becomes a person when its crop shows one). */
  confirmed: boolean;
}

const area = (b: Box) => Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
const union = (a: Box, b: Box): Box => ({ x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) });
const intersects = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
function iou(a: Box, b: Box): number {
  const i = area({ x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1) });
  return i / Math.max(1e-9, area(a) + area(b) - i);
}

/** The logit whose σ(·) × 255 rounds to `threshold`. */
export function thresholdLogit(threshold: number): number {
  return Math.log((threshold - 0.5) / (255.5 - threshold));
}

export function wholePicture(width: number, height: number): RoiBox {
  return { x: 0, y: 0, width, height, pictureWidth: width, pictureHeight: height };
}

export function coversPicture(b: RoiBox): boolean {
  return b.x === 0 && b.y === 0 && b.width === b.pictureWidth && b.height === b.pictureHeight;
}

/** One session's tracker. Not shared; no resources. */
export class RoiTracker {
  private tracks: Track[] = [];
  private doubtList: Doubt[] = [];
  private picture: [number, number] = [0, 0];
  private frames = 0;
  private tileTurn = 0;
  private finder: ComponentFinder | undefined;
  private finderSize: [number, number] = [0, 0];
  /** Frames segmented with at least one crop / on the whole picture alone (for reports). */
  cropped = 0;
  whole = 0;

  /** @param modelAspect the backbone input's width / height (small groups' crop aspect). */
  constructor(
    private readonly o: RoiOptions = DEFAULT_ROI,
    private readonly modelAspect = 16 / 9,
  ) {
    validateRoiOptions(o);
    if (!(modelAspect > 0)) throw new RoiOptionsError(`region of interest: model aspect ${modelAspect} must be > 0`);
  }

  /** People tracked now. */
  get people(): number {
    return this.tracks.length;
  }

  /** People the detector sees and the mask leaves out (picture px), for the second model. */
  get doubts(): readonly Box[] {
    return this.doubtList.filter((d) => !d.settled).map((d) => d.box);
  }

  /**
   * What the second model did in a doubt (SecondCrop.doubt): of `cells` mask
   * cells in its box, `added` it turned to person. A doubt whose runs add nothing rests.
   */
  secondOpinion(box: Box, cells: number, added: number): void {
    const d = this.doubtList.find((x) => x.box === box);
    if (!d || cells <= 0) return;
    if (added >= SETTLE_SHARE * cells) d.idle = 0;
    else d.idle++;
  }

  /** Whether the person detector should look at the next frame (every detectEvery frames, from the first). */
  get detectionDue(): boolean {
    return this.o.detector !== 'none' && this.frames % this.o.detectEvery === 0;
  }

  /** The views of the next frame of a picture of this size: crops, and the whole picture when it is due. */
  plan(pictureWidth: number, pictureHeight: number): RoiView[] {
    if (this.picture[0] !== pictureWidth || this.picture[1] !== pictureHeight) {
      // A new picture size: positions mean nothing any more.
      this.tracks = [];
      this.doubtList = [];
      this.picture = [pictureWidth, pictureHeight];
    }
    return this.views(pictureWidth, pictureHeight);
  }

  /**
   * The second model's crops for the frame plan() planned: one per doubt that is not resting, at
   * most maxCrops (the largest first). Each is the doubt's box widened or heightened to
   * SECOND_ASPECT, inside the picture: a tight crop gives a small or odd-looking person most of
   * the model's input, where the view holding them (a group's crop, the whole picture) gives a
   * fraction of it.
   */
  secondCrops(): SecondCrop[] {
    const [pw, ph] = this.picture;
    if (pw === 0 || ph === 0) return [];
    return this.doubtList
      .filter((d) => !d.settled)
      .sort((a, b) => area(b.box) - area(a.box))
      .slice(0, this.o.maxCrops)
      .map((d) => {
        const box = fitAspect(grow(d.seen, SECOND_MARGIN), SECOND_ASPECT, SECOND_MIN_PX);
        return { doubt: d.box, box, region: clipTo(box, pw, ph) };
      });
  }

  private views(pictureWidth: number, pictureHeight: number): RoiView[] {
    const whole: RoiView = { kind: 'whole', box: wholePicture(pictureWidth, pictureHeight) };
    if (this.tracks.length === 0) return [whole];
    const { crops, large } = this.crops(pictureWidth, pictureHeight);
    const refresh = this.o.refreshFrames > 0 && this.frames > 0 && this.frames % this.o.refreshFrames === 0;
    const views = crops.map((box): RoiView => ({ kind: 'crop', box }));
    // A group whose crop would be most of the picture is seen in the whole picture (the others keep
    // theirs); otherwise, on refresh frames, the whole picture only looks for newcomers.
    if (large) return [whole, ...views];
    if (refresh) return views.length ? [{ ...whole, discovery: true }, ...views] : [whole];
    const tile = this.tile(pictureWidth, pictureHeight);
    return tile ? [...views, { kind: 'tile', box: tile, discovery: true }] : views;
  }

  /**
   * The frame's prediction over the whole picture's mask grid (W × H logits, the views' outputs
   * put back on it), its picture size and the views it came from: updates the tracks. `mask`:
   * the frame's final mask on the same grid (probability × 255, after the temporal stage), what
   * the doubts are judged on (a person the user does not see); absent: the logits.
   */
  observe(logits: Float32Array, W: number, H: number, pictureWidth: number, pictureHeight: number, views: readonly RoiView[], detections?: readonly Box[], mask?: Uint8Array): void {
    this.frames++;
    if (views.some((v) => v.kind === 'crop')) this.cropped++;
    else this.whole++;
    if (this.picture[0] !== pictureWidth || this.picture[1] !== pictureHeight) {
      this.tracks = [];
      this.doubtList = [];
      this.picture = [pictureWidth, pictureHeight];
    }
    if (!this.finder || this.finderSize[0] !== W || this.finderSize[1] !== H) {
      this.finder = new ComponentFinder(W, H);
      this.finderSize = [W, H];
    }
    const sx = pictureWidth / W;
    const sy = pictureHeight / H;
    const found = this.finder.find(logits, thresholdLogit(this.o.threshold), this.o.minArea).map((r: GridRegion): Box => ({ x0: r.x0 * sx, y0: r.y0 * sy, x1: r.x1 * sx, y1: r.y1 * sy }));
    const used = new Array<boolean>(found.length).fill(false);
    for (const t of this.tracks) {
      // Where the person should be now, with room for the margin the crop gave them.
      const p = this.predicted(t);
      const mx = this.o.margin * (p.x1 - p.x0);
      const my = this.o.margin * (p.y1 - p.y0);
      const near: Box = { x0: p.x0 - mx, y0: p.y0 - my, x1: p.x1 + mx, y1: p.y1 + my };
      let seen: Box | undefined;
      found.forEach((b, i) => {
        if (!intersects(near, b)) return;
        seen = seen ? union(seen, b) : b;
        used[i] = true;
      });
      if (seen) {
        t.vx = (seen.x0 + seen.x1 - t.box.x0 - t.box.x1) / 2;
        t.vy = (seen.y0 + seen.y1 - t.box.y0 - t.box.y1) / 2;
        t.box = seen;
        t.missed = 0;
        t.confirmed = true;
      } else {
        t.missed++;
        t.vx = 0;
        t.vy = 0;
      }
    }
    // A person goes after keepFrames unseen; a proposal its crop never confirmed, after probeFrames.
    this.tracks = this.tracks.filter((t) => t.missed <= (t.confirmed ? this.o.keepFrames : this.o.probeFrames));
    found.forEach((b, i) => {
      if (!used[i]) this.tracks.push({ box: b, vx: 0, vy: 0, missed: 0, confirmed: true });
    });
    if (this.o.secondModel !== 'none') {
      const [grid, t] = mask ? [mask, this.o.threshold] : [logits, thresholdLogit(this.o.threshold)];
      this.settleDoubts(grid, t, W, H, sx, sy);
      if (detections) this.updateDoubts(detections, grid, t, W, H, sx, sy);
    }
    for (const d of detections ?? []) {
      // The detector saw someone: a person tracked there is still there; anywhere else, a proposal.
      const at = this.tracks.filter((t) => intersects(t.box, d));
      if (at.length) for (const t of at) t.missed = t.confirmed ? 0 : t.missed;
      else this.tracks.push({ box: { x0: Math.max(0, d.x0), y0: Math.max(0, d.y0), x1: Math.min(pictureWidth, d.x1), y1: Math.min(pictureHeight, d.y1) }, vx: 0, vy: 0, missed: 0, confirmed: false });
    }
    if (this.o.seedThreshold < this.o.threshold) {
      // Proposals: weaker regions away from everyone tracked.
      const weak = this.finder.find(logits, thresholdLogit(this.o.seedThreshold), this.o.minArea).map((r: GridRegion): Box => ({ x0: r.x0 * sx, y0: r.y0 * sy, x1: r.x1 * sx, y1: r.y1 * sy }));
      for (const b of weak) if (!this.tracks.some((t) => intersects(t.box, b))) this.tracks.push({ box: b, vx: 0, vy: 0, missed: 0, confirmed: false });
    }
    // Two tracks that became one person (or one group): keep one.
    const kept: Track[] = [];
    for (const t of this.tracks.sort((a, b) => Number(b.confirmed) - Number(a.confirmed) || a.missed - b.missed || area(b.box) - area(a.box))) {
      if (!kept.some((k) => iou(k.box, t.box) > 0.5)) kept.push(t);
    }
    this.tracks = kept;
  }

  /**
   * A detector pass: a doubt it sees again stays (at its new box; a resting one wakes when the
   * mask has lost them), one it misses twice goes; a newly seen person becomes a doubt when the
   * mask leaves them out (RoiOptions.doubtCover).
   */
  private updateDoubts(detections: readonly Box[], mask: Float32Array | Uint8Array, t: number, W: number, H: number, sx: number, sy: number): void {
    const [pw, ph] = this.picture;
    // A doubt's box: the detector's with a margin of DOUBT_MARGIN on each side (it is the box of up
    // to detectEvery frames ago); the torso is read on the detector's own box.
    const seen = detections.filter((d) => area(clipTo(d, pw, ph)) > 0);
    const boxes = seen.map((d) => clipTo(grow(d, DOUBT_MARGIN), pw, ph));
    const taken = new Array<boolean>(boxes.length).fill(false);
    const next: Doubt[] = [];
    for (const d of this.doubtList) {
      let best = -1;
      let bestIou = 0.3;
      boxes.forEach((b, i) => {
        const v = iou(d.box, b);
        if (!taken[i] && v > bestIou) [best, bestIou] = [i, v];
      });
      if (best >= 0) {
        taken[best] = true;
        // A resting doubt wakes when the mask has lost most of the torso.
        const wake = d.settled && (torsoCover(seen[best]!, mask, W, H, sx, sy, t) < this.o.doubtCover / 2 || boxFill(seen[best]!, mask, W, H, sx, sy, t) < FILL_MIN);
        next.push({ box: boxes[best]!, seen: seen[best]!, passes: 0, idle: wake ? 0 : d.idle, settled: d.settled && !wake });
      } else if (d.passes < 1) next.push({ ...d, passes: d.passes + 1 });
    }
    boxes.forEach((b, i) => {
      const fill = taken[i] ? 1 : boxFill(seen[i]!, mask, W, H, sx, sy, t);
      if (!taken[i] && (fill < FILL_MIN || (fill < this.o.doubtFill && torsoCover(seen[i]!, mask, W, H, sx, sy, t) < this.o.doubtCover))) next.push({ box: b, seen: seen[i]!, passes: 0, idle: 0, settled: false });
    });
    this.doubtList = next;
  }

  /**
   * A doubt rests once the second model has added nothing for SETTLE_RUNS runs in a row and the
   * mask (what the user sees) covers at least half of what doubtCover asks of their torso: both
   * models agree, and the mask holds them (a head-and-shoulders framing) — not when the first
   * model's frame logits already hold the person but the mask does not follow.
   */
  private settleDoubts(mask: Float32Array | Uint8Array, t: number, W: number, H: number, sx: number, sy: number): void {
    for (const d of this.doubtList) {
      if (!d.settled && d.idle >= SETTLE_RUNS && torsoCover(d.seen, mask, W, H, sx, sy, t) >= this.o.doubtCover / 2 && boxFill(d.seen, mask, W, H, sx, sy, t) >= FILL_MIN) d.settled = true;
    }
  }

  /** This frame's discovery tile, in turn over a tiles × tiles grid of parts overlapping by a third, or null. */
  private tile(pw: number, ph: number): RoiBox | null {
    const n = this.o.tiles;
    if (n < 1) return null;
    // Each tile spans 1/n of the picture plus a third of that on each side inside it.
    const k = this.tileTurn++ % (n * n);
    const tw = Math.min(pw, (pw / n) * (1 + 2 / 3));
    const th = Math.min(ph, (ph / n) * (1 + 2 / 3));
    const cx = ((k % n) + 0.5) * (pw / n);
    const cy = (Math.floor(k / n) + 0.5) * (ph / n);
    const x = Math.max(0, Math.min(pw - tw, cx - tw / 2));
    const y = Math.max(0, Math.min(ph - th, cy - th / 2));
    return evenBox({ x0: x, y0: y, x1: x + tw, y1: y + th }, pw, ph);
  }

  private predicted(t: Track): Box {
    const dx = this.o.lead * t.vx;
    const dy = this.o.lead * t.vy;
    return { x0: t.box.x0 + dx, y0: t.box.y0 + dy, x1: t.box.x1 + dx, y1: t.box.y1 + dy };
  }

  /**
   * One crop per group (at most maxCrops), except groups whose crop would be most of the picture
   * anyway (`large`: the whole picture is their view).
   */
  private crops(pw: number, ph: number): { crops: RoiBox[]; large: boolean } {
    let groups = this.tracks.map((t) => this.predicted(t));
    // Merge groups that fit one crop hardly larger than either's own, until none do.
    for (let merged = true; merged; ) {
      merged = false;
      outer: for (let i = 0; i < groups.length; i++) {
        for (let j = i + 1; j < groups.length; j++) {
          // The smaller crop decides: a small person merged into a large one's crop would lose their zoom.
          const own = Math.min(area(this.shape(groups[i]!, pw, ph)), area(this.shape(groups[j]!, pw, ph)));
          if (area(this.shape(union(groups[i]!, groups[j]!), pw, ph)) <= this.o.mergeArea * own) {
            groups = [...groups.filter((_, k) => k !== i && k !== j), union(groups[i]!, groups[j]!)];
            merged = true;
            break outer;
          }
        }
      }
    }
    // Too many: merge the pair whose common crop is smallest, until few enough.
    while (groups.length > this.o.maxCrops) {
      let best: [number, number, number] = [0, 1, Infinity];
      for (let i = 0; i < groups.length; i++) {
        for (let j = i + 1; j < groups.length; j++) {
          const a = area(this.shape(union(groups[i]!, groups[j]!), pw, ph));
          if (a < best[2]) best = [i, j, a];
        }
      }
      const [i, j] = best;
      groups = [...groups.filter((_, k) => k !== i && k !== j), union(groups[i]!, groups[j]!)];
    }
    const boxes: RoiBox[] = [];
    let large = false;
    for (const g of groups) {
      const s = this.shape(g, pw, ph);
      if (area(s) > this.o.maxArea * pw * ph) large = true;
      else boxes.push(evenBox(s, pw, ph));
    }
    // Left to right, top to bottom: a stable order (the detail layers are drawn in it).
    return { crops: boxes.sort((a, b) => a.x - b.x || a.y - b.y), large };
  }

  /** A person (or group) box → its crop: margin, aspect, minimum size, inside the picture. */
  private shape(b: Box, pw: number, ph: number): Box {
    const o = this.o;
    const cx = (b.x0 + b.x1) / 2;
    const cy = (b.y0 + b.y1) / 2;
    const small = b.y1 - b.y0 < o.smallHeight * ph;
    const aspect = small ? this.modelAspect : o.aspect;
    const minSize = small ? o.smallMinSize : o.minSize;
    let w = (b.x1 - b.x0) * (1 + 2 * o.margin);
    let h = (b.y1 - b.y0) * (1 + 2 * o.margin);
    if (w / h < aspect) w = h * aspect;
    else h = w / aspect;
    if (w < minSize * pw) {
      w = minSize * pw;
      h = w / aspect;
    }
    if (h < minSize * ph) {
      h = minSize * ph;
      w = h * aspect;
    }
    w = Math.min(pw, w);
    h = Math.min(ph, h);
    const x = Math.max(0, Math.min(pw - w, cx - w / 2));
    const y = Math.max(0, Math.min(ph - h, cy - h / 2));
    return { x0: x, y0: y, x1: x + w, y1: y + h };
  }
}

/**
 * Share of a person box's torso (the middle 20 % across, 30–70 % down) whose mask-grid cells
 * (W × H logits, cell = sx × sy picture px) are ≥ `t`; the cell at the box's centre when no
 * cell centre falls inside (a small box).
 */
export function torsoCover(b: Box, logits: Float32Array | Uint8Array, W: number, H: number, sx: number, sy: number, t: number): number {
  const w = b.x1 - b.x0;
  const h = b.y1 - b.y0;
  const cell = (v: number, s: number, n: number) => Math.min(n - 1, Math.max(0, Math.floor(v / s)));
  // Cells whose centre ((X + ½)·sx) lies in [x0, x1): X from ceil(x0/sx − ½) to ceil(x1/sx − ½) − 1.
  const X0 = Math.max(0, Math.ceil((b.x0 + 0.4 * w) / sx - 0.5));
  const X1 = Math.min(W, Math.ceil((b.x1 - 0.4 * w) / sx - 0.5));
  const Y0 = Math.max(0, Math.ceil((b.y0 + 0.3 * h) / sy - 0.5));
  const Y1 = Math.min(H, Math.ceil((b.y0 + 0.7 * h) / sy - 0.5));
  if (X1 <= X0 || Y1 <= Y0) return logits[cell((b.y0 + b.y1) / 2, sy, H) * W + cell((b.x0 + b.x1) / 2, sx, W)]! >= t ? 1 : 0;
  let n = 0;
  for (let Y = Y0; Y < Y1; Y++) for (let X = X0; X < X1; X++) if (logits[Y * W + X]! >= t) n++;
  return n / ((X1 - X0) * (Y1 - Y0));
}

/** `b` grown on one axis to width / height = `aspect`, each side ≥ minPx, same centre (it may reach past the picture). */
export function fitAspect(b: Box, aspect: number, minPx: number): Box {
  let w = Math.max(minPx, b.x1 - b.x0);
  let h = Math.max(minPx, b.y1 - b.y0);
  if (w / h < aspect) w = h * aspect;
  else h = w / aspect;
  const cx = (b.x0 + b.x1) / 2;
  const cy = (b.y0 + b.y1) / 2;
  return { x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2 };
}

/** `b` cut to a pw × ph picture. */
function clipTo(b: Box, pw: number, ph: number): Box {
  return { x0: Math.max(0, b.x0), y0: Math.max(0, b.y0), x1: Math.min(pw, b.x1), y1: Math.min(ph, b.y1) };
}

/** `b` with a margin of `m` × its width / height on each side. */
function grow(b: Box, m: number): Box {
  const w = b.x1 - b.x0;
  const h = b.y1 - b.y0;
  return { x0: b.x0 - m * w, y0: b.y0 - m * h, x1: b.x1 + m * w, y1: b.y1 + m * h };
}

/** Share of the grid cells whose centre lies in `b` (picture px; cell = sx × sy px) that are ≥ t; 0 for an empty box. */
export function boxFill(b: Box, grid: Float32Array | Uint8Array, W: number, H: number, sx: number, sy: number, t: number): number {
  const X0 = Math.max(0, Math.ceil(b.x0 / sx - 0.5));
  const X1 = Math.min(W, Math.ceil(b.x1 / sx - 0.5));
  const Y0 = Math.max(0, Math.ceil(b.y0 / sy - 0.5));
  const Y1 = Math.min(H, Math.ceil(b.y1 / sy - 0.5));
  if (X1 <= X0 || Y1 <= Y0) return 0;
  let n = 0;
  for (let Y = Y0; Y < Y1; Y++) for (let X = X0; X < X1; X++) if (grid[Y * W + X]! >= t) n++;
  return n / ((X1 - X0) * (Y1 - Y0));
}

/** A float box → an even-aligned RoiBox inside the picture. */
function evenBox(b: Box, pw: number, ph: number): RoiBox {
  const ex = Math.floor(b.x0 / 2) * 2;
  const ey = Math.floor(b.y0 / 2) * 2;
  const ew = Math.max(2, Math.min(pw - ex, Math.round((b.x1 - ex) / 2) * 2));
  const eh = Math.max(2, Math.min(ph - ey, Math.round((b.y1 - ey) / 2) * 2));
  return { x: ex, y: ey, width: ew, height: eh, pictureWidth: pw, pictureHeight: ph };
}
