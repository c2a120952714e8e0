/**
 * Image helpers of the pixel-level read (pixelMatch.ts): a 4× smaller picture, patch SADs, box
 * means and clamped indices, on byte images in row-major order. Pure.
 */

/** Mean of a w × h byte image over 4 × 4 blocks (w, h multiples of 4), rounded. */
export function quarter(src: Uint8Array, w: number, h: number, out: Uint8Array): void {
  const qw = w >> 2;
  const qh = h >> 2;
  for (let y = 0; y < qh; y++) {
    for (let x = 0; x < qw; x++) {
      let s = 0;
      for (let yy = 0; yy < 4; yy++) {
        const row = (4 * y + yy) * w + 4 * x;
        s += src[row]! + src[row + 1]! + src[row + 2]! + src[row + 3]!;
      }
      out[y * qw + x] = (s + 8) >> 4;
    }
  }
}

/** Σ over the (2q+1)² patch around (y, x) (clamped to the image) of |now − before at +(ey, ex)| (also clamped). */
export function patchSad(a: Uint8Array, b: Uint8Array, W: number, H: number, y: number, x: number, ey: number, ex: number, q: number): number {
  let sum = 0;
  if (y - q >= 0 && y + q < H && x - q >= 0 && x + q < W && y - q + ey >= 0 && y + q + ey < H && x - q + ex >= 0 && x + q + ex < W) {
    const shift = ey * W + ex;
    for (let yy = y - q; yy <= y + q; yy++) {
      for (let i = yy * W + x - q, end = yy * W + x + q; i <= end; i++) {
        const d = a[i]! - b[i + shift]!;
        sum += d < 0 ? -d : d;
      }
    }
    return sum;
  }
  for (let u = -q; u <= q; u++) {
    const yy = clampIdx(y + u, H);
    const ra = yy * W;
    const rb = clampIdx(yy + ey, H) * W;
    for (let v = -q; v <= q; v++) {
      const xx = clampIdx(x + v, W);
      const d = a[ra + xx]! - b[rb + clampIdx(xx + ex, W)]!;
      sum += d < 0 ? -d : d;
    }
  }
  return sum;
}

export function clampIdx(v: number, n: number): number {
  return v < 0 ? 0 : v >= n ? n - 1 : v;
}

/**
 * Mean of `src` over the (2q+1)² window around each pixel, clamped to the image, into `out`;
 * `rows` (W × H) and `cols` (W) are scratch. Row sums, then running column sums row by row.
 */
export function boxMean(src: Uint8Array, W: number, H: number, q: number, rows: Uint16Array, cols: Uint16Array, out: Float32Array): void {
  if ((2 * q + 1) * (2 * q + 1) * 255 > 0xffff) throw new RangeError('boxMean window too large for 16-bit sums');
  for (let y = 0; y < H; y++) {
    const o = y * W;
    let sum = 0;
    for (let x = 0; x <= Math.min(q, W - 1); x++) sum += src[o + x]!;
    for (let x = 0; x < W; x++) {
      rows[o + x] = sum;
      if (x + q + 1 < W) sum += src[o + x + q + 1]!;
      if (x - q >= 0) sum -= src[o + x - q]!;
    }
  }
  cols.fill(0);
  for (let y = 0; y <= Math.min(q, H - 1); y++) for (let x = 0; x < W; x++) cols[x] += rows[y * W + x]!;
  for (let y = 0; y < H; y++) {
    const ny = Math.min(H - 1, y + q) - Math.max(0, y - q) + 1;
    const o = y * W;
    const add = y + q + 1 < H ? (y + q + 1) * W : -1;
    const sub = y - q >= 0 ? (y - q) * W : -1;
    const inv = 1 / ny;
    for (let x = 0; x < W; x++) {
      const nx = x < q || x + q >= W ? Math.min(W - 1, x + q) - Math.max(0, x - q) + 1 : 2 * q + 1;
      out[o + x] = (cols[x]! * inv) / nx;
      if (add >= 0) cols[x] += rows[add + x]!;
      if (sub >= 0) cols[x] -= rows[sub + x]!;
    }
  }
}
