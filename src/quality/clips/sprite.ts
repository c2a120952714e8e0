/**
 * Drawing a cut-out (RGB + alpha) into a frame under a 2-D affine pose and an optional smooth
 * non-rigid warp, with RGB and alpha sampled together by the same bilinear filter, so the
 * coverage the frame shows and the coverage the ground truth records are the same numbers.
 *
 * Sprites are premultiplied (colour × alpha) before sampling: interpolating straight colour
 * would drag the (meaningless) colour of transparent pixels into the soft edge and draw a
 * dark or coloured fringe. Compositing is "over": out = alpha·person + (1 − alpha)·below.
 * Pure.
 */

/** A cut-out ready to draw: premultiplied RGBA, 0..255 per channel, float. */
export interface Sprite {
  readonly width: number;
  readonly height: number;
  readonly px: Float32Array;
}

/** Where a sprite is in one frame. */
export interface Pose {
  /** Frame position of the sprite's anchor, px (continuous: pixel (i, j) covers [i, i+1)). */
  readonly x: number;
  readonly y: number;
  /** Frame px per sprite px. */
  readonly scale: number;
  /** Clockwise on screen, degrees, about the anchor. */
  readonly rotationDeg: number;
  /** Mirror left–right about the anchor. */
  readonly flip?: boolean;
}

/**
 * Smooth displacement field in sprite px: the sprite is sampled at q + d(q), with
 * d = amp · pin(q) · sin(2π·(other coordinate)/wavelength + phase). Travelling phase makes
 * the body sway; |d′| = 2π·amp/wavelength must stay well below 1 so the warp never folds.
 */
export interface SpriteWarp {
  readonly ampX: number;
  readonly ampY: number;
  readonly wavelength: number;
  /** radians */
  readonly phase: number;
  /** Anchor row stays put and the displacement grows linearly to full at one sprite height away (feet planted, head sways). */
  readonly pinned: boolean;
}

export class SpriteError extends Error {
  override readonly name = 'SpriteError';
}

/** Premultiplies straight 8-bit RGBA into a sprite. */
export function spriteFromRgba(rgba: Uint8Array, width: number, height: number): Sprite {
  if (rgba.length !== width * height * 4) throw new SpriteError(`RGBA buffer has ${rgba.length} bytes, expected ${width}×${height}×4`);
  const px = new Float32Array(width * height * 4);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]! / 255;
    px[i] = rgba[i]! * a;
    px[i + 1] = rgba[i + 1]! * a;
    px[i + 2] = rgba[i + 2]! * a;
    px[i + 3] = rgba[i + 3]!;
  }
  return { width, height, px };
}

/** Bilinear sample of premultiplied RGBA at continuous sprite position (u, v) (pixel centres at +0.5); transparent outside. */
function sample(s: Sprite, u: number, v: number, out: Float32Array): void {
  const fx = u - 0.5;
  const fy = v - 0.5;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const tx = fx - x0;
  const ty = fy - y0;
  out[0] = out[1] = out[2] = out[3] = 0;
  const w = s.width;
  const h = s.height;
  if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) return;
  for (let j = 0; j < 2; j++) {
    const y = y0 + j;
    if (y < 0 || y >= h) continue;
    const wy = j === 0 ? 1 - ty : ty;
    if (wy === 0) continue;
    for (let i = 0; i < 2; i++) {
      const x = x0 + i;
      if (x < 0 || x >= w) continue;
      const wgt = wy * (i === 0 ? 1 - tx : tx);
      if (wgt === 0) continue;
      const p = (y * w + x) * 4;
      out[0] += wgt * s.px[p]!;
      out[1] += wgt * s.px[p + 1]!;
      out[2] += wgt * s.px[p + 2]!;
      out[3] += wgt * s.px[p + 3]!;
    }
  }
}

/** Frame position of sprite point (u, v) under `pose` with anchor (ax, ay) (no warp). */
export function spriteToFrame(u: number, v: number, ax: number, ay: number, pose: Pose): { x: number; y: number } {
  const c = Math.cos((pose.rotationDeg * Math.PI) / 180);
  const sn = Math.sin((pose.rotationDeg * Math.PI) / 180);
  const dx = (pose.flip ? ax - u : u - ax) * pose.scale;
  const dy = (v - ay) * pose.scale;
  return { x: pose.x + c * dx - sn * dy, y: pose.y + sn * dx + c * dy };
}

/** Frame-space bounding box of the posed sprite (plus the warp's reach), clamped to the frame. */
function frameBox(s: Sprite, ax: number, ay: number, pose: Pose, reach: number, fw: number, fh: number) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [u, v] of [[-reach, -reach], [s.width + reach, -reach], [-reach, s.height + reach], [s.width + reach, s.height + reach]] as const) {
    const { x, y } = spriteToFrame(u, v, ax, ay, pose);
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  return { x0: Math.max(0, Math.floor(x0) - 1), y0: Math.max(0, Math.floor(y0) - 1), x1: Math.min(fw, Math.ceil(x1) + 1), y1: Math.min(fh, Math.ceil(y1) + 1) };
}

/**
 * Per-person coverage kept beside the union: `own` receives this sprite's alpha (its buffer is
 * this person's, zero before the draw), and every buffer in `below` (people drawn earlier) is
 * multiplied by (1 − alpha) where this sprite covers it. What is left in a person's buffer after
 * everything in front has been drawn is their visible coverage, and the buffers sum to the union
 * (Σ_k a_k·Π_{j>k}(1 − a_j) = 1 − Π_k(1 − a_k)).
 */
export interface CoverageLayers {
  readonly own: Float32Array;
  readonly below: readonly Float32Array[];
}

/**
 * Draws `s` over `rgb` (frame fw × fh, float RGB 0..255) and adds its coverage to `cov`
 * (float 0..1, union: cov = a + (1 − a)·cov). (ax, ay) is the anchor in sprite px.
 * Returns the sprite's own coverage inside the frame (Σ alpha over frame pixels, px), before
 * anything is drawn over it.
 */
export function drawSprite(rgb: Float32Array, cov: Float32Array, fw: number, fh: number, s: Sprite, ax: number, ay: number, pose: Pose, warp?: SpriteWarp, layers?: CoverageLayers): number {
  if (!(pose.scale > 0)) throw new SpriteError(`sprite scale must be positive, got ${pose.scale}`);
  const reach = warp ? Math.abs(warp.ampX) + Math.abs(warp.ampY) + 1 : 0;
  const box = frameBox(s, ax, ay, pose, reach, fw, fh);
  // Inverse map frame → sprite: q = anchor + R(−θ)(p − T) / scale, then mirror, then warp.
  const c = Math.cos((pose.rotationDeg * Math.PI) / 180) / pose.scale;
  const sn = Math.sin((pose.rotationDeg * Math.PI) / 180) / pose.scale;
  const k = warp ? (2 * Math.PI) / warp.wavelength : 0;
  const px = new Float32Array(4);
  let area = 0;
  for (let y = box.y0; y < box.y1; y++) {
    const dy = y + 0.5 - pose.y;
    for (let x = box.x0; x < box.x1; x++) {
      const dx = x + 0.5 - pose.x;
      let u = c * dx + sn * dy;
      let v = -sn * dx + c * dy;
      u = pose.flip ? ax - u : ax + u;
      v = ay + v;
      if (warp) {
        const pin = warp.pinned ? Math.min(1, Math.abs(v - ay) / s.height) : 1;
        const du = warp.ampX * pin * Math.sin(k * v + warp.phase);
        const dv = warp.ampY * pin * Math.sin(k * u + 1.3 * warp.phase);
        u += du;
        v += dv;
      }
      sample(s, u, v, px);
      const a = px[3]! / 255;
      if (a <= 0) continue;
      const i = y * fw + x;
      const p = i * 3;
      rgb[p] = px[0]! + (1 - a) * rgb[p]!;
      rgb[p + 1] = px[1]! + (1 - a) * rgb[p + 1]!;
      rgb[p + 2] = px[2]! + (1 - a) * rgb[p + 2]!;
      cov[i] = a + (1 - a) * cov[i]!;
      area += a;
      if (layers) {
        layers.own[i] = a;
        for (const b of layers.below) b[i]! *= 1 - a;
      }
    }
  }
  return area;
}

const areas = new WeakMap<Sprite, number>();

/** Σ alpha of the whole sprite, sprite px² (its area at scale 1; memoised per sprite). */
export function spriteArea(s: Sprite): number {
  let a = areas.get(s);
  if (a === undefined) {
    a = 0;
    for (let i = 3; i < s.px.length; i += 4) a += s.px[i]! / 255;
    areas.set(s, a);
  }
  return a;
}
