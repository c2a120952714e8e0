/**
 * The multi-scale test-time option of the quality benchmark: the backbone at two scales,
 * fused. The models take a fixed input size, so the second scale is a zoom: after the
 * full-frame pass, the person's bounding box (expanded by 25 %, at the model's aspect ratio)
 * is cut from the full-resolution frame and segmented again, at ≈ 1/zoom of the first pass's
 * pixel size; inside the box the two probability maps are averaged. Costs a second backbone
 * run whenever a person is found. Benchmark-only: the live server runs one scale.
 */
import type { I420Picture } from '../decode/types.js';
import { i420ToRgb } from '../decode/yuvToRgb.js';
import { resizeMaskBilinear } from '../shared/maskResize.js';
import { cropI420 } from '../roi/crop.js';
import type { SegmentationEngine } from '../inference/engine.js';

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Bounding box of mask ≥ 128 in a W × H mask, or null. */
export function foregroundBox(mask: Uint8Array, W: number, H: number): Box | null {
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (mask[y * W + x]! < 128) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** The box grown by `grow` on each side, widened to `aspect` (w/h), clamped to the frame. */
export function zoomBox(b: Box, W: number, H: number, aspect: number, grow = 0.25): Box {
  let w = b.w * (1 + 2 * grow);
  let h = b.h * (1 + 2 * grow);
  if (w / h < aspect) w = h * aspect;
  else h = w / aspect;
  w = Math.min(W, w);
  h = Math.min(H, h);
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  const x = Math.max(0, Math.min(W - w, cx - w / 2));
  const y = Math.max(0, Math.min(H - h, cy - h / 2));
  return { x: Math.round(x), y: Math.round(y), w: Math.round(w), h: Math.round(h) };
}

/** The part of an I420 picture inside a box, widened to even x/y (the region-of-interest stage's crop: plane views). */
function cropPicture(p: I420Picture, b: Box): I420Picture {
  const x = b.x & ~1;
  const y = b.y & ~1;
  const width = Math.min(p.width - x, b.w + (b.x - x));
  const height = Math.min(p.height - y, b.h + (b.y - y));
  return cropI420(p, { x, y, width, height, pictureWidth: p.width, pictureHeight: p.height });
}

/**
 * Two-scale segmentation of one frame on two per-frame sessions of `engine` (its temporal
 * mode should be `none`). Returns the fused mask at mask resolution and how many backbone
 * runs it took (1 when no person was found).
 */
export function segmentTwoScales(engine: SegmentationEngine, full: string, zoom: string, pic: I420Picture): { mask: Uint8Array; runs: number } {
  const { inputWidth: iw, inputHeight: ih, maskWidth: mw, maskHeight: mh } = engine.info;
  const first = engine.process(full, i420ToRgb(pic, iw, ih).data).mask;
  const fg = foregroundBox(first, mw, mh);
  if (!fg) return { mask: first, runs: 1 };
  // Box in picture pixels.
  const sx = pic.width / mw;
  const sy = pic.height / mh;
  const box = zoomBox({ x: fg.x * sx, y: fg.y * sy, w: fg.w * sx, h: fg.h * sy }, pic.width, pic.height, iw / ih);
  if (box.w > 0.8 * pic.width && box.h > 0.8 * pic.height) return { mask: first, runs: 1 }; // no zoom to gain
  const crop = cropPicture(pic, box);
  const second = engine.process(zoom, i420ToRgb(crop, iw, ih).data).mask;
  // The crop's mask back onto the full mask grid, averaged with the first pass inside the box.
  const bx0 = Math.round(((box.x & ~1) / pic.width) * mw);
  const by0 = Math.round(((box.y & ~1) / pic.height) * mh);
  const bw = Math.max(1, Math.min(mw - bx0, Math.round((crop.width / pic.width) * mw)));
  const bh = Math.max(1, Math.min(mh - by0, Math.round((crop.height / pic.height) * mh)));
  const placed = resizeMaskBilinear(second, mw, mh, bw, bh);
  const out = first.slice();
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const i = (by0 + y) * mw + bx0 + x;
      out[i] = (first[i]! + placed[y * bw + x]! + 1) >> 1;
    }
  }
  return { mask: out, runs: 2 };
}
