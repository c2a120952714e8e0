/**
 * Region-of-interest stage, part 1: where the backbone should look in the next frame.
 *
 * The backbone takes a fixed, small input (meet: 256×144), so a person who fills a third of a
 * 640×480 frame is segmented from ≈ 85×48 model pixels. The session's own last mask says where
 * the person is; cutting the next frame around it (with a margin, the box moved on by the
 * person's last displacement) gives the model 2–3× more pixels of the person for the same
 * backbone cost. Measured on the quality clips (docs/temporal.md, "Region of interest").
 *
 * Pure: the session's last mask in, the next crop box out. The box is in picture pixels,
 * even-aligned (4:2:0 chroma), inside the picture. Null = segment the whole picture: the first
 * frame, nobody found, a box that would cover most of the picture anyway, a picture size
 * change, and every `refreshFrames`-th frame so people entering outside the box are found.
 */

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

export interface RoiOptions {
  /** Margin added on each side, as a share of the person's box width/height. */
  readonly margin: number;
  /** Crop width / height in picture pixels (the model's input is stretched to it, as the whole frame is). */
  readonly aspect: number;
  /** Smallest crop, as a share of the picture's width and height (limits the zoom). */
  readonly minSize: number;
  /** Crops larger than this share of the picture's area are not worth it: whole picture instead. */
  readonly maxArea: number;
  /** Share of the last frame-to-frame displacement of the person's box centre added ahead of it. */
  readonly lead: number;
  /** Whole picture every this many frames (0 = only when lost), so newcomers are found. */
  readonly refreshFrames: number;
  /** Mask value (0..255) counted as person when finding the box. */
  readonly threshold: number;
  /**
   * Keep the current crop while the new one would lie inside it and cover at least this share
   * of its area (fewer changes of zoom from frame to frame); 0 = always move to the new one.
   */
  readonly hold: number;
  /**
   * What the box is found on: `mask` = the session's final mask (after the temporal stage), or
   * `prediction` = the backbone's own prediction for the frame (so what the temporal stage keeps
   * from memory cannot widen the crop). Unset = mask; DEFAULT_ROI: prediction (measured: with
   * `mask`, attention-fine's memory of a false positive next to the person widened the crop onto
   * it and kept it there, fast-translation-blur J 0.885 vs 0.915).
   */
  readonly source?: 'mask' | 'prediction';
}

/**
 * Measured defaults (docs/temporal.md): margin 0.1 and a 3:4 crop gave the highest J of the
 * settings tried; maxArea 0.9 (0.7 left the large-person clips on the whole frame).
 */
export const DEFAULT_ROI: Readonly<RoiOptions> = Object.freeze({
  margin: 0.1,
  aspect: 0.75,
  minSize: 0.3,
  maxArea: 0.9,
  lead: 1,
  refreshFrames: 30,
  threshold: 128,
  hold: 0,
  source: 'prediction',
});

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
  if (!(o.maxArea > 0 && o.maxArea <= 1)) bad(`maxArea ${o.maxArea} must be in (0, 1]`);
  if (!(o.lead >= 0 && o.lead <= 2)) bad(`lead ${o.lead} must be in [0, 2]`);
  if (!(Number.isInteger(o.refreshFrames) && o.refreshFrames >= 0)) bad(`refreshFrames ${o.refreshFrames} must be an integer ≥ 0`);
  if (!(Number.isInteger(o.threshold) && o.threshold >= 1 && o.threshold <= 255)) bad(`threshold ${o.threshold} must be an integer in [1, 255]`);
  if (!(o.hold >= 0 && o.hold <= 1)) bad(`hold ${o.hold} must be in [0, 1]`);
  if (o.source !== undefined && o.source !== 'mask' && o.source !== 'prediction') bad(`source ${String(o.source)} must be mask or prediction`);
}

/** Bounding box (inclusive-exclusive) of mask ≥ threshold, in mask pixels, or null. */
export function maskBounds(mask: Uint8Array, W: number, H: number, threshold: number): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    let first = -1;
    let last = -1;
    for (let x = 0; x < W; x++) {
      if (mask[row + x]! >= threshold) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
    if (y < y0) y0 = y;
    y1 = y;
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** Bounding box (inclusive-exclusive) of logits ≥ threshold, in mask pixels, or null. */
export function logitBounds(logits: Float32Array, W: number, H: number, threshold: number): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    let first = -1;
    for (let x = 0; x < W; x++) {
      if (logits[row + x]! >= threshold) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    let last = W - 1;
    while (logits[row + last]! < threshold) last--;
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
    if (y < y0) y0 = y;
    y1 = y;
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** One session's tracker. Not shared; no resources. */
export class RoiTracker {
  private box: RoiBox | null = null;
  private lastCentre: [number, number] | null = null;
  /** Size of the picture lastCentre was measured on (a new size starts the lead afresh). */
  private lastPicture: [number, number] = [0, 0];
  private frames = 0;
  /** Frames segmented on a crop / on the whole picture (for reports). */
  cropped = 0;
  whole = 0;

  constructor(private readonly o: RoiOptions = DEFAULT_ROI) {
    validateRoiOptions(o);
  }

  /** The crop for the next frame of a picture of this size, or null = whole picture. */
  next(pictureWidth: number, pictureHeight: number): RoiBox | null {
    const b = this.box;
    const refresh = this.o.refreshFrames > 0 && this.frames > 0 && this.frames % this.o.refreshFrames === 0;
    if (!b || refresh || b.pictureWidth !== pictureWidth || b.pictureHeight !== pictureHeight) return null;
    return b;
  }

  /**
   * The final mask of the frame just segmented (mask grid over the whole picture, W × H bytes)
   * and the picture's size: sets the box for the next frame.
   */
  update(mask: Uint8Array, W: number, H: number, pictureWidth: number, pictureHeight: number, usedCrop: boolean): void {
    this.place(maskBounds(mask, W, H, this.o.threshold), W, H, pictureWidth, pictureHeight, usedCrop);
  }

  /**
   * The same from the backbone's logits for the frame (over the whole picture's mask grid): the
   * `prediction` source. A pixel counts where σ(logit) × 255 would round to ≥ threshold.
   */
  updateFromLogits(logits: Float32Array, W: number, H: number, pictureWidth: number, pictureHeight: number, usedCrop: boolean): void {
    const t = this.o.threshold;
    this.place(logitBounds(logits, W, H, Math.log((t - 0.5) / (255.5 - t))), W, H, pictureWidth, pictureHeight, usedCrop);
  }

  /** Which source the options ask for. */
  get source(): 'mask' | 'prediction' {
    return this.o.source ?? 'mask';
  }

  private place(m: { x0: number; y0: number; x1: number; y1: number } | null, W: number, H: number, pictureWidth: number, pictureHeight: number, usedCrop: boolean): void {
    const o = this.o;
    this.frames++;
    if (usedCrop) this.cropped++;
    else this.whole++;
    if (this.lastPicture[0] !== pictureWidth || this.lastPicture[1] !== pictureHeight) {
      this.lastCentre = null;
      this.lastPicture = [pictureWidth, pictureHeight];
    }
    if (!m) {
      this.box = null;
      this.lastCentre = null;
      return;
    }
    const sx = pictureWidth / W;
    const sy = pictureHeight / H;
    const bx = m.x0 * sx;
    const by = m.y0 * sy;
    const bw = (m.x1 - m.x0) * sx;
    const bh = (m.y1 - m.y0) * sy;
    const centre: [number, number] = [bx + bw / 2, by + bh / 2];
    let [cx, cy] = centre;
    if (this.lastCentre) {
      cx += o.lead * (centre[0] - this.lastCentre[0]);
      cy += o.lead * (centre[1] - this.lastCentre[1]);
    }
    this.lastCentre = centre;
    let w = bw * (1 + 2 * o.margin);
    let h = bh * (1 + 2 * o.margin);
    if (w / h < o.aspect) w = h * o.aspect;
    else h = w / o.aspect;
    if (w < o.minSize * pictureWidth) {
      w = o.minSize * pictureWidth;
      h = w / o.aspect;
    }
    if (h < o.minSize * pictureHeight) {
      h = o.minSize * pictureHeight;
      w = h * o.aspect;
    }
    w = Math.min(pictureWidth, w);
    h = Math.min(pictureHeight, h);
    if (w * h > o.maxArea * pictureWidth * pictureHeight) {
      this.box = null;
      return;
    }
    const x = Math.max(0, Math.min(pictureWidth - w, cx - w / 2));
    const y = Math.max(0, Math.min(pictureHeight - h, cy - h / 2));
    const ex = Math.floor(x / 2) * 2;
    const ey = Math.floor(y / 2) * 2;
    const ew = Math.max(2, Math.min(pictureWidth - ex, Math.round((w + (x - ex)) / 2) * 2));
    const eh = Math.max(2, Math.min(pictureHeight - ey, Math.round((h + (y - ey)) / 2) * 2));
    const old = this.box;
    if (o.hold > 0 && old && old.pictureWidth === pictureWidth && old.pictureHeight === pictureHeight) {
      const inside = ex >= old.x && ey >= old.y && ex + ew <= old.x + old.width && ey + eh <= old.y + old.height;
      if (inside && ew * eh >= o.hold * old.width * old.height) return;
    }
    this.box = { x: ex, y: ey, width: ew, height: eh, pictureWidth, pictureHeight };
  }
}
