/**
 * Region-of-interest stage, part 2: cutting the crop out of the picture, and putting what the
 * backbone said about the crop back on the whole picture's grids, so everything after the
 * backbone (temporal memory, fusion, the mask sent) stays in whole-picture coordinates. Pure.
 *
 * A grid of G × K cells over the crop maps to a grid of the same size over the picture: picture
 * cell (X, Y) has its centre at picture pixel ((X + ½)·PW/G, …); inside the crop that is crop
 * cell ((X + ½)·PW/G − x)/w · G − ½, sampled bilinearly (clamped at the crop's edges); cells
 * whose centre lies outside the crop get `outside`.
 */
import { clampLogit, fastSigmoid } from '../shared/fastMath.js';
import type { I420Picture } from '../decode/types.js';
import { i420ToRgb } from '../decode/yuvToRgb.js';
import type { Box, RoiBox, RoiView } from './roiTracker.js';

export class RoiBoxError extends Error {
  override readonly name = 'RoiBoxError';
}

/** The part of an I420 picture inside an even-aligned box: plane views, no copy. */
export function cropI420(p: I420Picture, b: RoiBox): I420Picture {
  if (b.pictureWidth !== p.width || b.pictureHeight !== p.height) throw new RoiBoxError(`box is for a ${b.pictureWidth}×${b.pictureHeight} picture, this one is ${p.width}×${p.height}`);
  if ((b.x & 1) || (b.y & 1) || b.x < 0 || b.y < 0 || b.width < 2 || b.height < 2 || b.x + b.width > p.width || b.y + b.height > p.height) {
    throw new RoiBoxError(`box ${b.width}×${b.height}+${b.x}+${b.y} is not an even-aligned box inside ${p.width}×${p.height}`);
  }
  return {
    width: b.width,
    height: b.height,
    y: p.y.subarray(b.y * p.yStride + b.x),
    u: p.u.subarray((b.y >> 1) * p.uvStride + (b.x >> 1)),
    v: p.v.subarray((b.y >> 1) * p.uvStride + (b.x >> 1)),
    yStride: p.yStride,
    uvStride: p.uvStride,
  };
}

/** Per picture-grid index along one axis: the two crop-grid indices, the weight of the second, and whether it is inside. */
export interface AxisMap {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly f: Float32Array;
  readonly inside: Uint8Array;
  /** The inside indices are one run [first, end) (the mapping is monotonic); first = end when none. */
  readonly first: number;
  readonly end: number;
}

/** Axis map of a grid of `n` cells: picture span [0, size), crop [start, start + length). */
export function axisMap(n: number, size: number, start: number, length: number): AxisMap {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const f = new Float32Array(n);
  const inside = new Uint8Array(n);
  let first = n;
  let end = 0;
  for (let X = 0; X < n; X++) {
    const px = ((X + 0.5) * size) / n;
    const u = (px - start) / length;
    if (u < 0 || u >= 1) continue;
    const c = Math.min(n - 1, Math.max(0, u * n - 0.5));
    const a = Math.floor(c);
    i0[X] = a;
    i1[X] = Math.min(n - 1, a + 1);
    f[X] = c - a;
    inside[X] = 1;
    if (X < first) first = X;
    end = X + 1;
  }
  if (first > end) first = end;
  return { i0, i1, f, inside, first, end };
}

/**
 * A [rows, cols, channels] map over the crop → the same shape over the picture (bilinear inside
 * the crop, `outside` elsewhere), into `out` if given.
 */
export function pasteGrid(src: Float32Array, rows: number, cols: number, channels: number, box: RoiBox, outside: number, out?: Float32Array): Float32Array {
  if (src.length !== rows * cols * channels) throw new RoiBoxError(`grid has ${src.length} values, expected ${rows}×${cols}×${channels}`);
  const dst = out ?? new Float32Array(src.length);
  const xs = axisMap(cols, box.pictureWidth, box.x, box.width);
  const ys = axisMap(rows, box.pictureHeight, box.y, box.height);
  const C = channels;
  const rowLen = cols * C;
  // Rows (and the columns left and right of the crop) outside: one fill each.
  dst.fill(outside, 0, ys.first * rowLen);
  dst.fill(outside, ys.end * rowLen, rows * rowLen);
  const { i0: xi0, i1: xi1, f: xf, first: xFirst, end: xEnd } = xs;
  for (let Y = ys.first; Y < ys.end; Y++) {
    const o = Y * rowLen;
    dst.fill(outside, o, o + xFirst * C);
    dst.fill(outside, o + xEnd * C, o + rowLen);
    const r0 = ys.i0[Y]! * rowLen;
    const r1 = ys.i1[Y]! * rowLen;
    const fy = ys.f[Y]!;
    if (C === 1) {
      // The logits: one channel, no inner loop.
      for (let X = xFirst; X < xEnd; X++) {
        const c0 = xi0[X]!;
        const c1 = xi1[X]!;
        const fx = xf[X]!;
        const top = src[r0 + c0]! + fx * (src[r0 + c1]! - src[r0 + c0]!);
        const bot = src[r1 + c0]! + fx * (src[r1 + c1]! - src[r1 + c0]!);
        dst[o + X] = top + fy * (bot - top);
      }
      continue;
    }
    for (let X = xFirst; X < xEnd; X++) {
      const d = o + X * C;
      const c0 = xi0[X]! * C;
      const c1 = xi1[X]! * C;
      const fx = xf[X]!;
      for (let k = 0; k < C; k++) {
        const top = src[r0 + c0 + k]! + fx * (src[r0 + c1 + k]! - src[r0 + c0 + k]!);
        const bot = src[r1 + c0 + k]! + fx * (src[r1 + c1 + k]! - src[r1 + c0 + k]!);
        dst[d + k] = top + fy * (bot - top);
      }
    }
  }
  return dst;
}

/** An RGB image over the crop → over the picture, nearest sample inside, black outside (a motion cue only). */
export function pasteRgb(src: Uint8Array, width: number, height: number, box: RoiBox, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(src.length);
  dst.fill(0);
  return pasteRgbInside(src, width, height, box, dst);
}

/** pasteRgb's inside part: writes the crop's pixels where they go, leaves the rest of `dst` as it is. */
export function pasteRgbInside(src: Uint8Array, width: number, height: number, box: RoiBox, dst: Uint8Array): Uint8Array {
  if (src.length !== width * height * 3 || dst.length !== src.length) throw new RoiBoxError(`image has ${src.length} bytes, expected ${width}×${height}×3`);
  const xs = axisMap(width, box.pictureWidth, box.x, box.width);
  const ys = axisMap(height, box.pictureHeight, box.y, box.height);
  const near = new Int32Array(width);
  for (let X = xs.first; X < xs.end; X++) near[X] = (xs.f[X]! < 0.5 ? xs.i0[X]! : xs.i1[X]!) * 3;
  for (let Y = ys.first; Y < ys.end; Y++) {
    const r = (ys.f[Y]! < 0.5 ? ys.i0[Y]! : ys.i1[Y]!) * width * 3;
    const o = Y * width * 3;
    for (let X = xs.first; X < xs.end; X++) {
      const s = r + near[X]!;
      const d = o + X * 3;
      dst[d] = src[s]!;
      dst[d + 1] = src[s + 1]!;
      dst[d + 2] = src[s + 2]!;
    }
  }
  return dst;
}

/** Backbone logit put outside the crop when its output goes back onto the whole picture: background. */
export const OUTSIDE_LOGIT = -8;

/** Grid sizes of the backbone (BackboneInfo / EngineInfo fields). */
export interface RoiGeometry {
  readonly maskWidth: number;
  readonly maskHeight: number;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly featureShape: readonly [number, number, number];
}

/**
 * Everything the temporal stage takes from a frame segmented on a crop, back on the whole
 * picture: logits (background outside the crop), features (zero outside: nothing matches
 * them), model-input RGB (the frame-difference cue). Into `into`'s arrays (reused by the
 * engine from frame to frame), or new ones.
 */
export function uncropOutputs(
  o: { logits: Float32Array; features: Float32Array; rgb: Uint8Array },
  g: RoiGeometry,
  box: RoiBox,
  into?: { logits: Float32Array; features: Float32Array; rgb: Uint8Array },
): { logits: Float32Array; features: Float32Array; rgb: Uint8Array } {
  const [h, w, c] = g.featureShape;
  return {
    logits: pasteGrid(o.logits, g.maskHeight, g.maskWidth, 1, box, OUTSIDE_LOGIT, into?.logits),
    features: pasteGrid(o.features, h, w, c, box, 0, into?.features),
    rgb: pasteRgb(o.rgb, g.inputWidth, g.inputHeight, box, into?.rgb),
  };
}

/** The backbone's output for one view of a frame (a crop or the whole picture), on the view's own grids. */
export interface ViewOutput {
  readonly box: RoiBox;
  readonly logits: Float32Array;
  readonly features: Float32Array;
  readonly rgb: Uint8Array;
  /**
   * Looks for people only (the whole picture beside crops, a discovery tile): its logits go to
   * `found` where no mask view looked, not into the mask (a one-frame guess outside the crops
   * would flicker in and out of it).
   */
  readonly discovery?: boolean;
}

/** Scratch of mergeViews (reused frame after frame by the engine). */
export interface MergeScratch {
  readonly logits: Float32Array;
  readonly features: Float32Array;
  readonly rgb: Uint8Array;
  readonly paste: Float32Array;
  readonly pasteFeatures: Float32Array;
  readonly covered: Uint8Array;
  readonly found: Float32Array;
}

export function mergeScratch(g: RoiGeometry): MergeScratch {
  const [h, w, c] = g.featureShape;
  return {
    logits: new Float32Array(g.maskWidth * g.maskHeight),
    features: new Float32Array(h * w * c),
    rgb: new Uint8Array(g.inputWidth * g.inputHeight * 3),
    paste: new Float32Array(g.maskWidth * g.maskHeight),
    pasteFeatures: new Float32Array(h * w * c),
    covered: new Uint8Array(g.maskWidth * g.maskHeight),
    found: new Float32Array(g.maskWidth * g.maskHeight),
  };
}

/**
 * A frame's views back on the whole picture's grids. A mask cell covered by a crop takes the
 * largest logit of the crops covering it (a person seen in any crop is a person); a cell no crop
 * covers takes the whole picture's logit when it was a mask view this frame, else background
 * (OUTSIDE_LOGIT). Features and the motion-cue RGB come from the whole picture, then each crop
 * over it, in view order (zero / black where no view looked). `found`: the same logits, and
 * where no mask view looked, the largest of the discovery views' (where the tracker looks for
 * people). Writes into `s` and returns its arrays.
 */
export function mergeViews(views: readonly ViewOutput[], g: RoiGeometry, s: MergeScratch): { logits: Float32Array; features: Float32Array; rgb: Uint8Array; found: Float32Array } {
  const [h, w, c] = g.featureShape;
  const W = g.maskWidth;
  const H = g.maskHeight;
  s.logits.fill(OUTSIDE_LOGIT);
  s.features.fill(0);
  s.rgb.fill(0);
  s.covered.fill(0);
  for (const v of views) {
    if (!coversBox(v.box) || v.discovery) continue;
    s.logits.set(v.logits);
    s.features.set(v.features);
    s.rgb.set(v.rgb);
  }
  for (const v of views) {
    if (coversBox(v.box) || v.discovery) continue;
    const l = pasteGrid(v.logits, H, W, 1, v.box, NaN, s.paste);
    for (let i = 0; i < l.length; i++) {
      const x = l[i]!;
      if (x !== x) continue; // NaN: outside this crop
      s.logits[i] = s.covered[i] ? Math.max(s.logits[i]!, x) : x;
      s.covered[i] = 1;
    }
    const f = pasteGrid(v.features, h, w, c, v.box, NaN, s.pasteFeatures);
    for (let i = 0; i < f.length; i += c) {
      if (f[i] !== f[i]) continue;
      for (let k = 0; k < c; k++) s.features[i + k] = f[i + k]!;
    }
    pasteRgbInside(v.rgb, g.inputWidth, g.inputHeight, v.box, s.rgb);
  }
  s.found.set(s.logits);
  for (const v of views) {
    if (!v.discovery) continue;
    const l = pasteGrid(v.logits, H, W, 1, v.box, NaN, s.paste);
    for (let i = 0; i < l.length; i++) {
      const x = l[i]!;
      if (x === x && !s.covered[i] && x > s.found[i]!) s.found[i] = x;
    }
  }
  return { logits: s.logits, features: s.features, rgb: s.rgb, found: s.found };
}

/**
 * A frame's planned views (RoiTracker.plan) back on the whole picture: discovery views (the
 * whole picture beside crops on refresh frames, tiles) only look for people; the others make
 * the mask (mergeViews). One whole view alone is returned as it is.
 */
export function mergePlanned(views: readonly (Omit<ViewOutput, 'box' | 'discovery'> & { readonly view: RoiView })[], g: RoiGeometry, s: MergeScratch): { logits: Float32Array; features: Float32Array; rgb: Uint8Array; found: Float32Array } {
  const first = views[0]!;
  if (views.length === 1 && first.view.kind === 'whole') return { logits: first.logits, features: first.features, rgb: first.rgb, found: first.logits };
  return mergeViews(views.map((v) => ({ box: v.view.box, logits: v.logits, features: v.features, rgb: v.rgb, discovery: v.view.discovery === true })), g, s);
}

function coversBox(b: RoiBox): boolean {
  return b.x === 0 && b.y === 0 && b.width === b.pictureWidth && b.height === b.pictureHeight;
}

/** Logits are clamped to ± this where the 8-bit mask is compared with them: logit(254.5 / 255). */
export const DETAIL_LOGIT_CLAMP = Math.log(254.5 / 0.5);

/**
 * What the temporal stage changed, per cell of the picture's mask grid, in logits:
 * Δ = logit(final mask) − clamp(frame logit), both limited to what 8 bits hold. Into `out`.
 */
export function temporalCorrection(finalMask: Uint8Array, frameLogits: Float32Array, out: Float32Array): Float32Array {
  if (finalMask.length !== frameLogits.length || out.length !== frameLogits.length) throw new RoiBoxError('temporalCorrection: grid sizes do not match');
  const C = DETAIL_LOGIT_CLAMP;
  for (let i = 0; i < out.length; i++) {
    const l = frameLogits[i]!;
    out[i] = MASK_LOGIT[finalMask[i]!]! - (l < -C ? -C : l > C ? C : l);
  }
  return out;
}

/** logit(v / 255) of each 8-bit mask value v, v limited to [0.5, 254.5] (what 8 bits hold). */
const MASK_LOGIT = Float64Array.from({ length: 256 }, (_, v) => {
  const lo = 0.5 / 255;
  const p = Math.min(1 - lo, Math.max(lo, v / 255));
  return Math.log(p / (1 - p));
});

/**
 * A crop's mask at the crop's own grid (the model's resolution over the crop, finer than the
 * whole picture's grid), carrying what the temporal stage decided on the whole picture's grid:
 * z = clamp(L_crop) + Δ, Δ (temporalCorrection) sampled bilinearly at each crop cell's centre.
 * Where the temporal stage kept the frame's own prediction (Δ ≈ 0) the crop's finer edge
 * shows; where it overturned it, its decision does. Pure; gridW × gridH bytes (probability × 255).
 */
export function detailLayer(cropLogits: Float32Array, box: RoiBox, gridW: number, gridH: number, correction: Float32Array, W: number, H: number, out?: Uint8Array): Uint8Array {
  if (cropLogits.length !== gridW * gridH || correction.length !== W * H) throw new RoiBoxError('detailLayer: grid sizes do not match');
  const C = DETAIL_LOGIT_CLAMP;
  const dst = out ?? new Uint8Array(gridW * gridH);
  // Picture-grid coordinates of each crop column's centre (cell centres at +½), and its bilinear taps.
  const x0s = new Int32Array(gridW);
  const x1s = new Int32Array(gridW);
  const fxs = new Float32Array(gridW);
  for (let X = 0; X < gridW; X++) {
    const u = Math.min(W - 1, Math.max(0, ((box.x + ((X + 0.5) * box.width) / gridW) * W) / box.pictureWidth - 0.5));
    x0s[X] = Math.floor(u);
    x1s[X] = Math.min(W - 1, x0s[X]! + 1);
    fxs[X] = u - x0s[X]!;
  }
  for (let Y = 0; Y < gridH; Y++) {
    const v = Math.min(H - 1, Math.max(0, ((box.y + ((Y + 0.5) * box.height) / gridH) * H) / box.pictureHeight - 0.5));
    const r0 = Math.floor(v) * W;
    const r1 = Math.min(H - 1, Math.floor(v) + 1) * W;
    const fy = v - Math.floor(v);
    for (let X = 0; X < gridW; X++) {
      const x0 = x0s[X]!;
      const x1 = x1s[X]!;
      const fx = fxs[X]!;
      const top = correction[r0 + x0]! + fx * (correction[r0 + x1]! - correction[r0 + x0]!);
      const bot = correction[r1 + x0]! + fx * (correction[r1 + x1]! - correction[r1 + x0]!);
      const l = cropLogits[Y * gridW + X]!;
      const z = (l < -C ? -C : l > C ? C : l) + top + fy * (bot - top);
      dst[Y * gridW + X] = 255 * fastSigmoid(z) + 0.5;
    }
  }
  return dst;
}

/**
 * Another model's opinion on a doubt (a person the mask leaves out), put on a grid: `logits`
 * (gridW × gridH cells over `box`, a view or the whole picture) takes, in each cell whose centre
 * lies in `region`, the larger of its own value and the other model's (secondW × secondH cells
 * over `secondBox`, its crop around the doubt, which may reach past the picture's edges; sampled
 * bilinearly at the cell's centre, clamped to ± LOGIT_CLAMP). In place. Returns, of the cells
 * whose centre lies in `doubt`, how many there are and how many the other model turned to
 * person (from below `t` to ≥ t). Pure otherwise.
 */
export function overlaySecond(logits: Float32Array, gridW: number, gridH: number, box: RoiBox, second: Float32Array, secondW: number, secondH: number, secondBox: Box, region: Box, doubt: Box, t = 0): { cells: number; added: number } {
  if (logits.length !== gridW * gridH || second.length !== secondW * secondH) throw new RoiBoxError('overlaySecond: grid sizes do not match');
  const cellsOf = (d: Box) => ({
    X0: Math.max(0, Math.ceil(((d.x0 - box.x) / box.width) * gridW - 0.5)),
    X1: Math.min(gridW, Math.ceil(((d.x1 - box.x) / box.width) * gridW - 0.5)),
    Y0: Math.max(0, Math.ceil(((d.y0 - box.y) / box.height) * gridH - 0.5)),
    Y1: Math.min(gridH, Math.ceil(((d.y1 - box.y) / box.height) * gridH - 0.5)),
  });
  const r = cellsOf(region);
  const c = cellsOf(doubt);
  let added = 0;
  // Where a cell centre falls on the second grid: picture px → the second crop's cells.
  const sbw = secondBox.x1 - secondBox.x0;
  const sbh = secondBox.y1 - secondBox.y0;
  const sx = ((box.width / gridW) * secondW) / sbw;
  const ox = ((box.x - secondBox.x0) / sbw) * secondW - 0.5;
  const sy = ((box.height / gridH) * secondH) / sbh;
  const oy = ((box.y - secondBox.y0) / sbh) * secondH - 0.5;
  for (let Y = r.Y0; Y < r.Y1; Y++) {
    const v = Math.min(secondH - 1, Math.max(0, oy + (Y + 0.5) * sy));
    const v0 = Math.floor(v);
    const v1 = Math.min(secondH - 1, v0 + 1);
    const fv = v - v0;
    const inY = Y >= c.Y0 && Y < c.Y1;
    for (let X = r.X0; X < r.X1; X++) {
      const u = Math.min(secondW - 1, Math.max(0, ox + (X + 0.5) * sx));
      const u0 = Math.floor(u);
      const u1 = Math.min(secondW - 1, u0 + 1);
      const fu = u - u0;
      const top = second[v0 * secondW + u0]! + fu * (second[v0 * secondW + u1]! - second[v0 * secondW + u0]!);
      const bot = second[v1 * secondW + u0]! + fu * (second[v1 * secondW + u1]! - second[v1 * secondW + u0]!);
      const s = clampLogit(top + fv * (bot - top));
      const i = Y * gridW + X;
      if (s > logits[i]!) {
        if (inY && X >= c.X0 && X < c.X1 && logits[i]! < t && s >= t) added++;
        logits[i] = s;
      }
    }
  }
  return { cells: Math.max(0, c.X1 - c.X0) * Math.max(0, c.Y1 - c.Y0), added };
}

/**
 * A box of the picture that may reach past its edges (a person walking in at the edge, centred
 * in their crop) → outW × outH RGB: the part inside the picture converted (area-filtered, as
 * every view), the part outside black. Into `out` if given.
 */
export function paddedCropRgb(pic: I420Picture, box: Box, outW: number, outH: number, out?: Uint8Array): Uint8Array {
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  if (!(bw > 0 && bh > 0)) throw new RoiBoxError(`crop ${bw}×${bh} is empty`);
  const dst = out ?? new Uint8Array(outW * outH * 3);
  if (dst.length !== outW * outH * 3) throw new RoiBoxError(`destination has ${dst.length} bytes, needs ${outW * outH * 3}`);
  // The inside part, even-aligned (4:2:0), and where it lands in the output.
  const x0 = Math.max(0, Math.floor(box.x0 / 2) * 2);
  const y0 = Math.max(0, Math.floor(box.y0 / 2) * 2);
  const x1 = Math.min(pic.width, Math.ceil(box.x1 / 2) * 2);
  const y1 = Math.min(pic.height, Math.ceil(box.y1 / 2) * 2);
  const ox0 = Math.max(0, Math.round(((x0 - box.x0) / bw) * outW));
  const oy0 = Math.max(0, Math.round(((y0 - box.y0) / bh) * outH));
  const ox1 = Math.min(outW, Math.round(((x1 - box.x0) / bw) * outW));
  const oy1 = Math.min(outH, Math.round(((y1 - box.y0) / bh) * outH));
  if (x1 - x0 < 2 || y1 - y0 < 2 || ox1 <= ox0 || oy1 <= oy0) return dst.fill(0);
  if (ox0 === 0 && oy0 === 0 && ox1 === outW && oy1 === outH) {
    return i420ToRgb(cropI420(pic, { x: x0, y: y0, width: x1 - x0, height: y1 - y0, pictureWidth: pic.width, pictureHeight: pic.height }), outW, outH, dst).data;
  }
  dst.fill(0);
  const sw = ox1 - ox0;
  const part = i420ToRgb(cropI420(pic, { x: x0, y: y0, width: x1 - x0, height: y1 - y0, pictureWidth: pic.width, pictureHeight: pic.height }), sw, oy1 - oy0).data;
  for (let y = oy0; y < oy1; y++) dst.set(part.subarray((y - oy0) * sw * 3, (y - oy0 + 1) * sw * 3), (y * outW + ox0) * 3);
  return dst;
}
