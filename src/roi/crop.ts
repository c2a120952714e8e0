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
import type { I420Picture } from '../decode/types.js';
import type { RoiBox } from './roiTracker.js';

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
  if (src.length !== width * height * 3) throw new RoiBoxError(`image has ${src.length} bytes, expected ${width}×${height}×3`);
  const dst = out ?? new Uint8Array(src.length);
  dst.fill(0);
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
