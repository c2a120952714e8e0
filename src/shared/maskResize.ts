/**
 * Bilinear resize of an 8-bit mask (model resolution → video resolution), the offline
 * counterpart of the client stretching the mask over the frame. Pixel centres are aligned
 * (source x = (x + 0.5) × srcW / dstW − 0.5, clamped at the edges), as OpenCV's INTER_LINEAR
 * and tf.image.resizeBilinear(halfPixelCenters) do, so the mask does not shift by half a
 * source pixel. Values are rounded to the nearest integer. Pure.
 */

export class MaskSizeError extends Error {
  override readonly name = 'MaskSizeError';
}

/** For each output index: the two source indices and the weight of the second. */
interface Taps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w1: Float32Array;
}

function taps(src: number, dst: number): Taps {
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w1 = new Float32Array(dst);
  const scale = src / dst;
  for (let i = 0; i < dst; i++) {
    const s = Math.min(src - 1, Math.max(0, (i + 0.5) * scale - 0.5));
    const a = Math.floor(s);
    i0[i] = a;
    i1[i] = Math.min(src - 1, a + 1);
    w1[i] = s - a;
  }
  return { i0, i1, w1 };
}

/**
 * @param out optional destination of dstW × dstH bytes (reused across frames); new otherwise.
 */
export function resizeMaskBilinear(src: Uint8Array, srcW: number, srcH: number, dstW: number, dstH: number, out?: Uint8Array): Uint8Array {
  for (const [name, v] of [['source width', srcW], ['source height', srcH], ['target width', dstW], ['target height', dstH]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new MaskSizeError(`mask ${name} must be a positive integer, got ${v}`);
  }
  if (src.length !== srcW * srcH) throw new MaskSizeError(`mask has ${src.length} bytes, ${srcW}×${srcH} needs ${srcW * srcH}`);
  const dst = out ?? new Uint8Array(dstW * dstH);
  if (dst.length !== dstW * dstH) throw new MaskSizeError(`destination has ${dst.length} bytes, ${dstW}×${dstH} needs ${dstW * dstH}`);
  if (srcW === dstW && srcH === dstH) {
    dst.set(src);
    return dst;
  }
  const xs = taps(srcW, dstW);
  const ys = taps(srcH, dstH);
  // One horizontally interpolated row per source row in use, computed once per output row pair.
  const rowA = new Float32Array(dstW);
  const rowB = new Float32Array(dstW);
  const lerpRow = (sy: number, into: Float32Array) => {
    const base = sy * srcW;
    for (let x = 0; x < dstW; x++) {
      const a = src[base + xs.i0[x]!]!;
      const b = src[base + xs.i1[x]!]!;
      into[x] = a + (b - a) * xs.w1[x]!;
    }
  };
  let cachedA = -1;
  let cachedB = -1;
  for (let y = 0; y < dstH; y++) {
    const y0 = ys.i0[y]!;
    const y1 = ys.i1[y]!;
    const wy = ys.w1[y]!;
    if (cachedA !== y0) {
      if (cachedB === y0) {
        rowA.set(rowB);
      } else {
        lerpRow(y0, rowA);
      }
      cachedA = y0;
    }
    if (cachedB !== y1) {
      lerpRow(y1, rowB);
      cachedB = y1;
    }
    const o = y * dstW;
    for (let x = 0; x < dstW; x++) {
      const a = rowA[x]!;
      dst[o + x] = Math.round(a + (rowB[x]! - a) * wy);
    }
  }
  return dst;
}

/** Box-filter downsample of an 8-bit mask (each output pixel = mean of the area it covers). */
export function areaDownsample(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const y0 = Math.floor((y * sh) / dh);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * sh) / dh));
    for (let x = 0; x < dw; x++) {
      const x0 = Math.floor((x * sw) / dw);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * sw) / dw));
      let s = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) s += src[yy * sw + xx]!;
      out[y * dw + x] = Math.round(s / ((y1 - y0) * (x1 - x0)));
    }
  }
  return out;
}
