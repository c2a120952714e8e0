/**
 * Whole-frame filters on float images (0..255 colour, or 0..1 coverage), in place. Pure.
 */

/** Per-channel gain and offset (white balance / exposure error), then saturation about the luma. */
export interface ColourJitter {
  /** Multipliers for R, G, B (1 = unchanged). */
  readonly gain: readonly [number, number, number];
  /** Added to R, G, B after the gain, 8-bit levels. */
  readonly offset: readonly [number, number, number];
  /** 1 = unchanged, 0 = grey, > 1 more vivid. */
  readonly saturation: number;
}

export function colourJitter(rgb: Float32Array, j: ColourJitter): void {
  const [gr, gg, gb] = j.gain;
  const [or, og, ob] = j.offset;
  const s = j.saturation;
  for (let p = 0; p < rgb.length; p += 3) {
    const r = rgb[p]! * gr + or;
    const g = rgb[p + 1]! * gg + og;
    const b = rgb[p + 2]! * gb + ob;
    // BT.601 luma weights: saturation changes chroma, not brightness.
    const l = 0.299 * r + 0.587 * g + 0.114 * b;
    rgb[p] = l + s * (r - l);
    rgb[p + 1] = l + s * (g - l);
    rgb[p + 2] = l + s * (b - l);
  }
}

/**
 * Box blur of radius r (window 2r+1), applied twice per axis (≈ a smooth, triangle-like
 * kernel, what a slightly defocused lens looks like), edges clamped. `channels` interleaved.
 */
export function boxBlur(img: Float32Array, width: number, height: number, channels: number, radius: number): void {
  const r = Math.round(radius);
  if (r <= 0) return;
  const line = new Float32Array(Math.max(width, height) * channels);
  for (let pass = 0; pass < 2; pass++) {
    for (let y = 0; y < height; y++) blurLine(img, y * width * channels, channels, width, channels, r, line);
    for (let x = 0; x < width; x++) blurLine(img, x * channels, width * channels, height, channels, r, line);
  }
}

/** Running-sum box filter along one line of n pixels starting at `start`, `step` apart. */
function blurLine(img: Float32Array, start: number, step: number, n: number, channels: number, r: number, tmp: Float32Array): void {
  const at = (i: number, c: number) => img[start + Math.min(n - 1, Math.max(0, i)) * step + c]!;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = -r; i <= r; i++) sum += at(i, c);
    for (let i = 0; i < n; i++) {
      tmp[i * channels + c] = sum / (2 * r + 1);
      sum += at(i + r + 1, c) - at(i - r, c);
    }
  }
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) img[start + i * step + c] = tmp[i * channels + c]!;
}
