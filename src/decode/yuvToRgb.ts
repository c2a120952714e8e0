/**
 * Preprocess stage: a decoded I420 picture → RGB at the model's input size, in one pass.
 *
 * Resizing happens here, on the 8-bit planes, before colour conversion: the model needs
 * 256×144 (meet) or 256×256 (selfie), so converting the full 640×480 frame to RGB first
 * would cost ~8× more work. Downscaling uses an area (box) filter: each output pixel is the
 * mean of the source pixels it covers, which does not alias the way point sampling does.
 * The picture is stretched to the model's aspect ratio, as MediaPipe does; the mask is
 * stretched back by the client. Colour: BT.601 limited range, what WebRTC's VP8/H.264
 * encoders produce from camera input. Pure.
 */
import type { I420Picture, RgbImage } from './types.js';

/** For each output index, the source span [start, end) it averages. */
function spans(src: number, dst: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(dst);
  const end = new Int32Array(dst);
  for (let i = 0; i < dst; i++) {
    const a = Math.floor((i * src) / dst);
    const b = Math.floor(((i + 1) * src) / dst);
    start[i] = Math.min(a, src - 1);
    end[i] = Math.max(start[i]! + 1, Math.min(b, src));
  }
  return { start, end };
}

const spanCache = new Map<string, { start: Int32Array; end: Int32Array }>();
function cachedSpans(src: number, dst: number) {
  const k = `${src}>${dst}`;
  let s = spanCache.get(k);
  if (!s) {
    if (spanCache.size > 64) spanCache.clear();
    s = spans(src, dst);
    spanCache.set(k, s);
  }
  return s;
}

/** Mean of plane[rows × cols] over the box, one output row at a time, into out (stride outW). */
function boxRow(plane: Uint8Array, stride: number, y0: number, y1: number, xs: { start: Int32Array; end: Int32Array }, out: Float32Array): void {
  const w = out.length;
  for (let x = 0; x < w; x++) {
    const a = xs.start[x]!;
    const b = xs.end[x]!;
    let sum = 0;
    for (let y = y0; y < y1; y++) {
      const row = y * stride;
      for (let i = a; i < b; i++) sum += plane[row + i]!;
    }
    out[x] = sum / ((b - a) * (y1 - y0));
  }
}

export class PictureSizeError extends Error {
  override readonly name = 'PictureSizeError';
}

/**
 * @param out optional destination of outW × outH × 3 bytes (reused across frames by callers
 *   that want no allocation); a new buffer otherwise.
 * @param lumaOut optional destination of outW × outH bytes: also writes the area-filtered luma
 *   plane (what i420Luma(pic, outW, outH) returns, byte for byte) from the same pass.
 */
export function i420ToRgb(pic: I420Picture, outW: number, outH: number, out?: Uint8Array, lumaOut?: Uint8Array): RgbImage {
  const { width: w, height: h } = pic;
  if (!(w > 0 && h > 0 && outW > 0 && outH > 0)) throw new PictureSizeError(`cannot resize ${w}×${h} to ${outW}×${outH}`);
  const cw = (w + 1) >> 1;
  const ch = (h + 1) >> 1;
  if (pic.y.length < pic.yStride * (h - 1) + w || pic.u.length < pic.uvStride * (ch - 1) + cw || pic.v.length < pic.uvStride * (ch - 1) + cw) {
    throw new PictureSizeError(`I420 planes too small for ${w}×${h}`);
  }
  const data = out ?? new Uint8Array(outW * outH * 3);
  if (data.length !== outW * outH * 3) throw new PictureSizeError(`destination has ${data.length} bytes, needs ${outW * outH * 3}`);
  if (lumaOut && lumaOut.length !== outW * outH) throw new PictureSizeError(`luma destination has ${lumaOut.length} bytes, needs ${outW * outH}`);
  const xs = cachedSpans(w, outW);
  const ys = cachedSpans(h, outH);
  const cxs = cachedSpans(cw, outW);
  const cys = cachedSpans(ch, outH);
  const yRow = new Float32Array(outW);
  const uRow = new Float32Array(outW);
  const vRow = new Float32Array(outW);
  let o = 0;
  for (let oy = 0; oy < outH; oy++) {
    boxRow(pic.y, pic.yStride, ys.start[oy]!, ys.end[oy]!, xs, yRow);
    boxRow(pic.u, pic.uvStride, cys.start[oy]!, cys.end[oy]!, cxs, uRow);
    boxRow(pic.v, pic.uvStride, cys.start[oy]!, cys.end[oy]!, cxs, vRow);
    if (lumaOut) for (let x = 0, l = oy * outW; x < outW; x++) lumaOut[l + x] = yRow[x]! + 0.5;
    for (let x = 0; x < outW; x++) {
      const c = 1.164383 * (yRow[x]! - 16);
      const d = uRow[x]! - 128;
      const e = vRow[x]! - 128;
      // Uint8Array stores truncate; +0.5 rounds, and the clamps keep the value in range.
      data[o++] = clamp(c + 1.596027 * e);
      data[o++] = clamp(c - 0.391762 * d - 0.812968 * e);
      data[o++] = clamp(c + 2.017232 * d);
    }
  }
  return { width: outW, height: outH, data };
}

/**
 * The luma plane alone, area-filtered to outW × outH bytes (Y as coded, BT.601 limited range):
 * the picture the temporal stage matches pixels on. Same spans as i420ToRgb.
 */
export function i420Luma(pic: I420Picture, outW: number, outH: number, out?: Uint8Array): Uint8Array {
  const { width: w, height: h } = pic;
  if (!(w > 0 && h > 0 && outW > 0 && outH > 0)) throw new PictureSizeError(`cannot resize ${w}×${h} to ${outW}×${outH}`);
  if (pic.y.length < pic.yStride * (h - 1) + w) throw new PictureSizeError(`I420 luma plane too small for ${w}×${h}`);
  const data = out ?? new Uint8Array(outW * outH);
  if (data.length !== outW * outH) throw new PictureSizeError(`destination has ${data.length} bytes, needs ${outW * outH}`);
  const xs = cachedSpans(w, outW);
  const ys = cachedSpans(h, outH);
  const row = new Float32Array(outW);
  for (let oy = 0; oy < outH; oy++) {
    boxRow(pic.y, pic.yStride, ys.start[oy]!, ys.end[oy]!, xs, row);
    const o = oy * outW;
    for (let x = 0; x < outW; x++) data[o + x] = row[x]! + 0.5;
  }
  return data;
}

function clamp(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5;
}

/** The inverse, for tests and the test publisher: RGB → I420 (BT.601 limited range), same size. */
export function rgbToI420(rgb: Uint8Array, width: number, height: number): I420Picture {
  if (rgb.length !== width * height * 3) throw new PictureSizeError(`RGB buffer has ${rgb.length} bytes, expected ${width * height * 3}`);
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const y = new Uint8Array(width * height);
  const u = new Uint8Array(cw * ch);
  const v = new Uint8Array(cw * ch);
  for (let i = 0, p = 0; i < width * height; i++, p += 3) {
    y[i] = Math.round(16 + 0.256788 * rgb[p]! + 0.504129 * rgb[p + 1]! + 0.097906 * rgb[p + 2]!);
  }
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let r = 0, g = 0, b = 0, n = 0;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const sx = 2 * cx + dx;
          const sy = 2 * cy + dy;
          if (sx >= width || sy >= height) continue;
          const p = (sy * width + sx) * 3;
          r += rgb[p]!;
          g += rgb[p + 1]!;
          b += rgb[p + 2]!;
          n++;
        }
      }
      r /= n;
      g /= n;
      b /= n;
      u[cy * cw + cx] = Math.round(128 - 0.148223 * r - 0.290993 * g + 0.439216 * b);
      v[cy * cw + cx] = Math.round(128 + 0.439216 * r - 0.367788 * g - 0.071427 * b);
    }
  }
  return { width, height, y, u, v, yStride: width, uvStride: cw };
}
