/**
 * What a mask message shows, at the picture's size: the whole-picture mask stretched over the
 * picture (bilinear, pixel centres aligned), then each detail layer (a crop's mask at the
 * model's resolution over the crop) stretched over its box, in order, replacing what was there.
 * Pure, shared by the browser client (bundled), `maskstream segment` and `bench:quality`, so the
 * three draw the same pixels.
 */
import { resizeMaskBilinear } from './maskResize.js';

export interface DetailLayer {
  /** Picture px; inside the picture. */
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  readonly width: number;
  readonly height: number;
  readonly alpha: Uint8Array;
}

export interface MaskLayers {
  readonly width: number;
  readonly height: number;
  readonly alpha: Uint8Array;
  readonly details: readonly DetailLayer[];
}

export class MaskComposeError extends Error {
  override readonly name = 'MaskComposeError';
}

/** pictureWidth × pictureHeight bytes (into `out` when given). */
export function composeMask(m: MaskLayers, pictureWidth: number, pictureHeight: number, out?: Uint8Array): Uint8Array {
  const dst = resizeMaskBilinear(m.alpha, m.width, m.height, pictureWidth, pictureHeight, out);
  for (const d of m.details) {
    const b = d.box;
    if (!(b.x >= 0 && b.y >= 0 && b.width >= 1 && b.height >= 1 && b.x + b.width <= pictureWidth && b.y + b.height <= pictureHeight)) {
      throw new MaskComposeError(`detail box ${b.width}×${b.height}+${b.x}+${b.y} is not inside the ${pictureWidth}×${pictureHeight} picture`);
    }
    const patch = resizeMaskBilinear(d.alpha, d.width, d.height, b.width, b.height);
    for (let y = 0; y < b.height; y++) dst.set(patch.subarray(y * b.width, (y + 1) * b.width), (b.y + y) * pictureWidth + b.x);
  }
  return dst;
}
