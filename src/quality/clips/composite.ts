/**
 * Renders one frame of a synthetic clip and its exact ground-truth alpha. Pure: every input
 * (photos, cut-outs) is passed in as pixels, and all randomness comes from the spec's seed, so
 * the same spec renders the same bytes on every run and frames can be rendered in any order.
 *
 * The ground truth is the person coverage of each output pixel, computed by the very
 * operations that draw the pixel: the same bilinear sample of the cut-out's alpha, the same
 * warp, × (1 − occluder coverage) where something passes in front, and averaged over the same
 * sub-frame times as the colour when the frame is motion blurred (a blurred edge IS partially
 * covered). Camera-side effects (gain flicker, colour jitter, noise) change colours only.
 *
 * Pipeline per frame: [for each sub-frame time: background → people (over) → occluders
 * (over)] → mean → defocus (RGB and GT alike) → gain flicker → colour jitter → sensor noise →
 * 8-bit. Defocus is a convention, like motion blur: the GT of a blurred frame is the equally
 * blurred coverage (exact for the blur of coverage; a defocused picture has no other alpha).
 */
import { evalSignal, gaussian, seeded, type Signal } from './motion.js';
import { drawSprite, spriteArea, type Pose, type Sprite, type SpriteWarp } from './sprite.js';
import { boxBlur, colourJitter, type ColourJitter } from './filters.js';
import type { RgbImage } from '../../decode/types.js';

export interface BackgroundLayer {
  /** Key of a photo in SceneAssets.images, already scaled to cover the frame (see backgroundSize). */
  readonly image: string;
  /** Top-left of the frame window inside the photo, photo px (fractional = sub-pixel pan; ≥ 0 at all times). */
  readonly x: Signal;
  readonly y: Signal;
}

export interface PersonWarp {
  /** Displacement amplitudes, frame px. */
  readonly ampX: number;
  readonly ampY: number;
  /** Spatial wavelength, frame px. */
  readonly wavelength: number;
  /** Phase speed, radians per frame (sway rate). */
  readonly speed: number;
  /** Anchor (feet) fixed, displacement growing away from it. */
  readonly pinned: boolean;
}

export interface PersonLayer {
  /** Key of a cut-out in SceneAssets.sprites. */
  readonly sprite: string;
  /** Point of the cut-out that `x`, `y` place, as fractions of its width/height ([0.5, 1] = bottom centre). */
  readonly anchor: readonly [number, number];
  /** Height of the cut-out in the frame at scale 1, px. */
  readonly height: number;
  /** Frame position of the anchor, px. */
  readonly x: Signal;
  readonly y: Signal;
  /** Zoom on top of `height` (default 1). */
  readonly scale?: Signal;
  /** Clockwise, degrees (default 0). */
  readonly rotation?: Signal;
  readonly flip?: boolean;
  readonly warp?: PersonWarp;
}

export interface OccluderLayer {
  readonly shape: 'rect' | 'ellipse';
  /** Size, px. */
  readonly w: number;
  readonly h: number;
  /** Centre, frame px. */
  readonly x: Signal;
  readonly y: Signal;
  /** Solid colour, or the key of a w × h photo patch in SceneAssets.images (a textured object). */
  readonly fill: readonly [number, number, number] | { readonly image: string };
}

export interface SceneSpec {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly fps: number;
  /** Seeds every random effect (noise, flicker jitter). */
  readonly seed: number;
  readonly background: BackgroundLayer;
  /** Drawn in order: later people pass in front of earlier ones. */
  readonly people: readonly PersonLayer[];
  readonly occluders?: readonly OccluderLayer[];
  /** Motion blur: `samples` sub-frame renders spread over `shutter` (fraction of the frame interval, 0..1), centred on the frame time. */
  readonly blur?: { readonly samples: number; readonly shutter: number };
  /** Whole-frame defocus: box blur of this radius (px), applied to the GT too. */
  readonly defocus?: { readonly radius: number };
  /** Per-frame gain 1 + amp·sin(2π·i/period) + jitter·U(−1, 1) (auto-exposure hunting, mains flicker). */
  readonly flicker?: { readonly amp: number; readonly period: number; readonly jitter: number };
  readonly colour?: ColourJitter;
  /** Gaussian sensor noise, standard deviation in 8-bit levels. */
  readonly noise?: { readonly sigma: number };
}

export interface SceneAssets {
  readonly images: ReadonlyMap<string, RgbImage>;
  readonly sprites: ReadonlyMap<string, Sprite>;
}

export interface RenderedFrame {
  /** width × height × 3, 8-bit RGB. */
  readonly rgb: Uint8Array;
  /** width × height, person coverage 0..255. */
  readonly alpha: Uint8Array;
  /**
   * With RenderOptions.people: per person layer (scene order), their VISIBLE coverage 0..255,
   * width × height: their alpha after everything drawn in front of them (later people,
   * occluders), through the same sub-frame averaging and defocus as `alpha`. Where only one
   * person covers a pixel it equals `alpha` exactly; elsewhere the layers sum to `alpha` up to
   * rounding (each is rounded to 8 bits on its own).
   */
  readonly people?: Uint8Array[];
  /**
   * With RenderOptions.people: per person layer, the share of their body inside the picture,
   * ignoring anything in front of them: Σ of their own alpha over frame pixels / (cut-out area ×
   * scale²), averaged over the sub-frame times. ≈ 1 when wholly inside (to the resampling's
   * ≈ 1 %), 0 when wholly outside; a bust standing on the bottom edge stays a little below 1.
   */
  readonly inFrame?: number[];
}

export interface RenderOptions {
  /** Also render each person's visible coverage and in-picture share (RenderedFrame.people, .inFrame). */
  readonly people?: boolean;
}

export class SceneError extends Error {
  override readonly name = 'SceneError';
}

/**
 * Size a background photo must be decoded at so that a frame-sized window at (x(t), y(t)) stays
 * inside it over the whole clip (sub-frame times included), px.
 */
export function backgroundSize(clip: { width: number; height: number; frames: number }, x: Signal, y: Signal): { width: number; height: number } {
  let w = 0, h = 0;
  for (let i = 0; i < clip.frames; i++) {
    for (const d of [-0.5, 0, 0.5]) {
      const px = evalSignal(x, i + d);
      const py = evalSignal(y, i + d);
      if (px < 0 || py < 0) throw new SceneError(`background window offset (${px.toFixed(2)}, ${py.toFixed(2)}) at t=${i + d} is negative; offsets are px into the photo and must stay ≥ 0 (raise the signal's base)`);
      w = Math.max(w, px);
      h = Math.max(h, py);
    }
  }
  return { width: clip.width + Math.ceil(w) + 1, height: clip.height + Math.ceil(h) + 1 };
}

/** Copies (integer offset) or bilinearly samples the background window at time t into rgb. */
function drawBackground(rgb: Float32Array, spec: SceneSpec, img: RgbImage, t: number): void {
  const ox = evalSignal(spec.background.x, t);
  const oy = evalSignal(spec.background.y, t);
  const { width: W, height: H } = spec;
  if (ox < 0 || oy < 0 || ox + W > img.width || oy + H > img.height) {
    throw new SceneError(`background window ${W}×${H} at (${ox.toFixed(1)}, ${oy.toFixed(1)}) leaves the ${img.width}×${img.height} photo at t=${t}; decode it at backgroundSize()`);
  }
  const x0 = Math.floor(ox), y0 = Math.floor(oy);
  const tx = ox - x0, ty = oy - y0;
  const bw = img.width, d = img.data;
  for (let y = 0; y < H; y++) {
    const r0 = (y + y0) * bw;
    const r1 = Math.min(y + y0 + 1, img.height - 1) * bw;
    for (let x = 0; x < W; x++) {
      const xa = x + x0;
      const xb = Math.min(xa + 1, bw - 1);
      const o = (y * W + x) * 3;
      for (let k = 0; k < 3; k++) {
        const top = d[(r0 + xa) * 3 + k]! * (1 - tx) + d[(r0 + xb) * 3 + k]! * tx;
        const bot = d[(r1 + xa) * 3 + k]! * (1 - tx) + d[(r1 + xb) * 3 + k]! * tx;
        rgb[o + k] = top * (1 - ty) + bot * ty;
      }
    }
  }
}

/** Pose, anchor (sprite px) and warp of a person layer at time t. */
export function personPose(p: PersonLayer, s: { width: number; height: number }, t: number): { pose: Pose; ax: number; ay: number; warp?: SpriteWarp } {
  const base = p.height / s.height;
  const scale = base * evalSignal(p.scale ?? 1, t);
  const pose: Pose = { x: evalSignal(p.x, t), y: evalSignal(p.y, t), scale, rotationDeg: evalSignal(p.rotation ?? 0, t), flip: p.flip ?? false };
  const ax = p.anchor[0] * s.width;
  const ay = p.anchor[1] * s.height;
  if (!p.warp) return { pose, ax, ay };
  // The warp is specified in frame px; the sprite is sampled in sprite px.
  const warp: SpriteWarp = { ampX: p.warp.ampX / base, ampY: p.warp.ampY / base, wavelength: p.warp.wavelength / base, phase: p.warp.speed * t, pinned: p.warp.pinned };
  return { pose, ax, ay, warp };
}

/** Draws a person; returns the share of their body inside the frame (see RenderedFrame.inFrame). */
function drawPerson(rgb: Float32Array, cov: Float32Array, spec: SceneSpec, p: PersonLayer, s: Sprite, t: number, layers?: { own: Float32Array; below: Float32Array[] }): number {
  const { pose, ax, ay, warp } = personPose(p, s, t);
  const area = drawSprite(rgb, cov, spec.width, spec.height, s, ax, ay, pose, warp, layers);
  return area / (spriteArea(s) * pose.scale * pose.scale);
}

/** Coverage (0..1) of pixel (x, y) by an occluder centred at (cx, cy): exact for rectangles, 4×4 supersampled for ellipses. */
function occluderCoverage(o: OccluderLayer, cx: number, cy: number, x: number, y: number): number {
  if (o.shape === 'rect') {
    const ix = Math.max(0, Math.min(x + 1, cx + o.w / 2) - Math.max(x, cx - o.w / 2));
    const iy = Math.max(0, Math.min(y + 1, cy + o.h / 2) - Math.max(y, cy - o.h / 2));
    return ix * iy;
  }
  let n = 0;
  for (let j = 0; j < 4; j++) {
    for (let i = 0; i < 4; i++) {
      const u = (x + (i + 0.5) / 4 - cx) / (o.w / 2);
      const v = (y + (j + 0.5) / 4 - cy) / (o.h / 2);
      if (u * u + v * v <= 1) n++;
    }
  }
  return n / 16;
}

function drawOccluder(rgb: Float32Array, cov: Float32Array, spec: SceneSpec, o: OccluderLayer, assets: SceneAssets, t: number, people?: readonly Float32Array[]): void {
  const cx = evalSignal(o.x, t);
  const cy = evalSignal(o.y, t);
  const tex = Array.isArray(o.fill) ? undefined : image(assets, (o.fill as { image: string }).image);
  if (tex && (tex.width !== o.w || tex.height !== o.h)) throw new SceneError(`occluder texture is ${tex.width}×${tex.height}, occluder ${o.w}×${o.h}`);
  const x0 = Math.max(0, Math.floor(cx - o.w / 2)), x1 = Math.min(spec.width, Math.ceil(cx + o.w / 2));
  const y0 = Math.max(0, Math.floor(cy - o.h / 2)), y1 = Math.min(spec.height, Math.ceil(cy + o.h / 2));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const a = occluderCoverage(o, cx, cy, x, y);
      if (a <= 0) continue;
      const i = y * spec.width + x;
      for (let k = 0; k < 3; k++) {
        let c: number;
        if (tex) {
          const tx = Math.min(o.w - 1, Math.max(0, Math.floor(x + 0.5 - (cx - o.w / 2))));
          const ty = Math.min(o.h - 1, Math.max(0, Math.floor(y + 0.5 - (cy - o.h / 2))));
          c = tex.data[(ty * o.w + tx) * 3 + k]!;
        } else {
          c = (o.fill as readonly number[])[k]!;
        }
        rgb[i * 3 + k] = a * c + (1 - a) * rgb[i * 3 + k]!;
      }
      cov[i] = cov[i]! * (1 - a);
      if (people) for (const v of people) v[i] = v[i]! * (1 - a);
    }
  }
}

function image(assets: SceneAssets, key: string): RgbImage {
  const img = assets.images.get(key);
  if (!img) throw new SceneError(`scene needs image "${key}", which is not in the assets`);
  return img;
}

function sprite(assets: SceneAssets, key: string): Sprite {
  const s = assets.sprites.get(key);
  if (!s) throw new SceneError(`scene needs cut-out "${key}", which is not in the assets`);
  return s;
}

/** Sub-frame times of frame i: `samples` instants spread evenly over the open shutter, centred on i. */
export function subFrameTimes(spec: SceneSpec, i: number): number[] {
  const n = Math.max(1, Math.round(spec.blur?.samples ?? 1));
  const shutter = spec.blur?.shutter ?? 0;
  return Array.from({ length: n }, (_, s) => i + shutter * ((s + 0.5) / n - 0.5));
}

/**
 * Scene content (before camera effects) at time t: RGB 0..255 and person coverage 0..1, float.
 * `still`: the background already rendered, when it does not move (a copy instead of a resample).
 * `people`: one buffer per person layer, filled with their visible coverage 0..1 (see
 * RenderedFrame.people); then the return value is each person's in-frame share (else empty).
 */
export function renderInstant(spec: SceneSpec, assets: SceneAssets, t: number, rgb: Float32Array, cov: Float32Array, still?: Float32Array, people?: Float32Array[]): number[] {
  if (people && people.length !== spec.people.length) throw new SceneError(`${people.length} person buffers for ${spec.people.length} people`);
  cov.fill(0);
  for (const v of people ?? []) v.fill(0);
  if (still) rgb.set(still);
  else drawBackground(rgb, spec, image(assets, spec.background.image), t);
  const inFrame = spec.people.map((p, k) => drawPerson(rgb, cov, spec, p, sprite(assets, p.sprite), t, people ? { own: people[k]!, below: people.slice(0, k) } : undefined));
  for (const o of spec.occluders ?? []) drawOccluder(rgb, cov, spec, o, assets, t, people);
  return people ? inFrame : [];
}

/** Frame i of the clip and its ground truth (and, with `opts.people`, each person's visible coverage). */
export function renderFrame(spec: SceneSpec, assets: SceneAssets, i: number, opts: RenderOptions = {}): RenderedFrame {
  const { width: W, height: H } = spec;
  if (!(i >= 0 && i < spec.frames)) throw new SceneError(`frame ${i} is outside 0..${spec.frames - 1}`);
  const n = W * H;
  const acc = new Float32Array(n * 3);
  const accA = new Float32Array(n);
  const rgb = new Float32Array(n * 3);
  const cov = new Float32Array(n);
  const times = subFrameTimes(spec, i);
  const np = opts.people ? spec.people.length : 0;
  const pInst = Array.from({ length: np }, () => new Float32Array(n));
  const pAcc = Array.from({ length: np }, () => new Float32Array(n));
  const inFrame = new Array<number>(np).fill(0);
  let still: Float32Array | undefined;
  if (times.length > 1 && typeof spec.background.x === 'number' && typeof spec.background.y === 'number') {
    still = new Float32Array(n * 3);
    drawBackground(still, spec, image(assets, spec.background.image), i);
  }
  for (const t of times) {
    const share = renderInstant(spec, assets, t, rgb, cov, still, np ? pInst : undefined);
    for (let k = 0; k < acc.length; k++) acc[k]! += rgb[k]!;
    for (let k = 0; k < n; k++) accA[k]! += cov[k]!;
    for (let p = 0; p < np; p++) {
      // Same operations in the same order as accA, so a pixel only one person covers gets the same bytes.
      const a = pAcc[p]!, v = pInst[p]!;
      for (let k = 0; k < n; k++) a[k]! += v[k]!;
      inFrame[p]! += share[p]! / times.length;
    }
  }
  for (let k = 0; k < acc.length; k++) acc[k]! /= times.length;
  for (let k = 0; k < n; k++) accA[k]! /= times.length;
  for (const a of pAcc) for (let k = 0; k < n; k++) a[k]! /= times.length;
  if (spec.defocus && spec.defocus.radius > 0) {
    boxBlur(acc, W, H, 3, spec.defocus.radius);
    boxBlur(accA, W, H, 1, spec.defocus.radius);
    for (const a of pAcc) boxBlur(a, W, H, 1, spec.defocus.radius);
  }
  const out = { rgb: cameraEffects(spec, i, acc), alpha: quantize(accA, 255) };
  return np ? { ...out, people: pAcc.map((a) => quantize(a, 255)), inFrame } : out;
}

/** Gain flicker, colour jitter and sensor noise, then 8-bit. */
function cameraEffects(spec: SceneSpec, i: number, acc: Float32Array): Uint8Array {
  if (spec.flicker) {
    const f = spec.flicker;
    const g = 1 + f.amp * Math.sin((2 * Math.PI * i) / f.period) + f.jitter * (2 * seeded(spec.seed, i, 1)() - 1);
    for (let k = 0; k < acc.length; k++) acc[k]! *= g;
  }
  if (spec.colour) colourJitter(acc, spec.colour);
  if (spec.noise && spec.noise.sigma > 0) {
    const gauss = gaussian(seeded(spec.seed, i, 2));
    const s = spec.noise.sigma;
    for (let k = 0; k < acc.length; k++) acc[k]! += s * gauss();
  }
  return quantize(acc, 1);
}

function quantize(v: Float32Array, scale: number): Uint8Array {
  const out = new Uint8Array(v.length);
  for (let k = 0; k < v.length; k++) {
    const x = Math.round(v[k]! * scale);
    out[k] = x < 0 ? 0 : x > 255 ? 255 : x;
  }
  return out;
}
