import type { MaskMessage } from '../../src/shared/maskCodec.js';
import type { Box } from '../../src/testing/synthClip.js';

/**
 * How a mask lies over a person box given in source pixels (srcW × srcH): `precision` = share of
 * the mask's foreground (alpha ≥ 128) inside the box, `coverage` = share of the box that is
 * foreground.
 */
export function maskOverlap(msg: MaskMessage, box: Box, srcW: number, srcH: number): { precision: number; coverage: number } {
  const { width, height, alpha } = msg;
  const sx = width / srcW;
  const sy = height / srcH;
  const x0 = Math.floor(box.x * sx), x1 = Math.ceil((box.x + box.w) * sx);
  const y0 = Math.floor(box.y * sy), y1 = Math.ceil((box.y + box.h) * sy);
  let fg = 0, fgIn = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (alpha[y * width + x]! < 128) continue;
      fg++;
      if (x >= x0 && x < x1 && y >= y0 && y < y1) fgIn++;
    }
  }
  const boxArea = Math.max(1, (x1 - x0) * (y1 - y0));
  return { precision: fg ? fgIn / fg : 0, coverage: fgIn / boxArea };
}
