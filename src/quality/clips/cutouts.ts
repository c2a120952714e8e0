/**
 * Person cut-outs (RGB + alpha) made once with RVM from the photos in sources.ts and cached on
 * disk as RGBA PNGs, so later runs (and every clip) use the same bytes.
 *
 * Recipe per person: crop generously → enlarge (small thumbnails) → RVM, 4 passes → colour =
 * RVM's foreground estimate where the alpha is soft (no halo of the old background), the
 * photo where it is opaque → drop specks (alpha < 4/255, and blobs disconnected from the
 * person) → trim to the alpha's bounding box plus a transparent margin.
 *
 * Cache: <project>/.cache/quality/cutouts/<id>-<key>.png (+ .json with what it was made from),
 * key = sha256 of the source file, the crop and matting parameters, the RVM weights' sha256
 * and CUTOUT_VERSION; any change makes a new key and the cut-out is rebuilt.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../paths.js';
import { decodePngRgba, decodeRgb, encodePng, fileSha256, sha256Hex, type Crop } from './imageIo.js';
import { RvmMatter, type Matte } from './rvm.js';
import { PEOPLE, photoPath, type PersonId, type PersonSource } from './sources.js';

/** Bump when the recipe above changes (invalidates every cached cut-out). */
export const CUTOUT_VERSION = 1;

/** RVM passes per image (the alpha has converged after 3–4). */
const ITERATIONS = 4;
/** Alpha at or below this (of 255) is matting noise, set to 0 (else the bounding box is the whole crop). */
const ALPHA_FLOOR = 4;
/** A blob smaller than this share of the largest one is a speck, not part of the person. */
const MIN_BLOB_SHARE = 0.02;
/** Alpha from which the photo's own colour is used (below: RVM's foreground estimate, blended). */
const OPAQUE_FROM = 0.9;
/** Transparent px kept around the trimmed person. */
const MARGIN = 2;

/** A cut-out could not be made from its source. */
export class CutoutError extends Error {
  override readonly name = 'CutoutError';
}

export interface Cutout {
  readonly id: PersonId;
  readonly width: number;
  readonly height: number;
  /** Straight (not premultiplied) RGBA, width × height × 4. */
  readonly rgba: Uint8Array;
  /**
   * Sides where the person is cut by the source photo (a bust's bottom edge): px along that
   * side of the crop with alpha ≥ 128. A clip must keep those sides outside the frame.
   */
  readonly cut: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };
  /** Cache key (hex). */
  readonly key: string;
}

export interface CutoutOptions {
  /** Default <project>/.cache/quality/cutouts. */
  readonly cacheDir?: string;
  /** Progress messages (default: none). */
  readonly log?: (msg: string) => void;
}

export function defaultCutoutDir(): string {
  return path.join(projectRoot(), '.cache', 'quality', 'cutouts');
}

/** Cache key of a person's cut-out: source bytes, recipe, model. Throws SourceMissingError if the photo is not installed. */
export function cutoutKey(id: PersonId): string {
  const src: PersonSource = PEOPLE[id];
  const file = photoPath(src.photo);
  const recipe = { v: CUTOUT_VERSION, id, source: fileSha256(file), crop: src.crop, erase: src.erase ?? [], at: src.atSeconds ?? null, up: src.upscale, dr: src.downsampleRatio, it: ITERATIONS, model: RvmMatter.manifestKey() };
  return sha256Hex(JSON.stringify(recipe));
}

/** The cut-outs of `ids`, from the cache or made now (RVM is loaded only if one is missing). */
export async function loadCutouts(ids: readonly PersonId[], o: CutoutOptions = {}): Promise<Map<PersonId, Cutout>> {
  const dir = o.cacheDir ?? defaultCutoutDir();
  const out = new Map<PersonId, Cutout>();
  let matter: RvmMatter | undefined;
  try {
    for (const id of new Set(ids)) {
      const key = cutoutKey(id);
      const file = path.join(dir, `${id}-${key.slice(0, 16)}`);
      const cached = readCached(id, key, file);
      if (cached) {
        out.set(id, cached);
        continue;
      }
      o.log?.(`cutting out "${id}" with RVM (once; cached in ${dir})`);
      matter ??= await RvmMatter.load();
      const c = await makeCutout(id, key, matter);
      mkdirSync(dir, { recursive: true });
      writeAtomic(`${file}.png`, encodePng(c.rgba, c.width, c.height, 4));
      writeAtomic(`${file}.json`, JSON.stringify({ id, key, width: c.width, height: c.height, cut: c.cut, source: PEOPLE[id] }, null, 2) + '\n');
      out.set(id, c);
    }
  } finally {
    matter?.dispose();
  }
  return out;
}

function readCached(id: PersonId, key: string, file: string): Cutout | undefined {
  if (!existsSync(`${file}.png`) || !existsSync(`${file}.json`)) return undefined;
  const meta = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { key?: string; cut?: Cutout['cut'] };
  if (meta.key !== key || !meta.cut) return undefined;
  const png = decodePngRgba(readFileSync(`${file}.png`));
  return { id, width: png.width, height: png.height, rgba: png.rgba, cut: meta.cut, key };
}

/** Write to a temporary name, then rename: a killed run never leaves a half-written cache file. */
function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

async function makeCutout(id: PersonId, key: string, matter: RvmMatter): Promise<Cutout> {
  const src: PersonSource = PEOPLE[id];
  const w = Math.round(src.crop.w * src.upscale);
  const h = Math.round(src.crop.h * src.upscale);
  const rgb = decodeRgb(photoPath(src.photo), { crop: src.crop, width: w, height: h, atSeconds: src.atSeconds });
  const matte = await matter.matte(rgb, w, h, { iterations: ITERATIONS, downsampleRatio: src.downsampleRatio });
  const raw = matte.alpha.slice();
  for (const e of src.erase ?? []) eraseBox(raw, w, h, { x: (e.x - src.crop.x) * src.upscale, y: (e.y - src.crop.y) * src.upscale, w: e.w * src.upscale, h: e.h * src.upscale });
  const alpha = cleanAlpha(raw, w, h);
  const rgba = composeRgba(rgb, { ...matte, alpha });
  return { id, key, ...trimToAlpha(rgba, w, h, MARGIN), cut: cutSides(alpha, w, h) };
}

/** RGBA from the photo and the matte: RVM's foreground colour at soft edges, the photo's where opaque, blended between. */
export function composeRgba(rgb: Uint8Array, m: Matte): Uint8Array {
  const out = new Uint8Array(m.width * m.height * 4);
  for (let i = 0; i < m.width * m.height; i++) {
    const a = m.alpha[i]! / 255;
    const w = Math.min(1, Math.max(0, (a - (OPAQUE_FROM - 0.2)) / 0.2));
    for (let k = 0; k < 3; k++) out[i * 4 + k] = Math.round(w * rgb[i * 3 + k]! + (1 - w) * m.fgr[i * 3 + k]!);
    out[i * 4 + 3] = m.alpha[i]!;
  }
  return out;
}

/** Sets alpha to 0 inside box (px, clamped to the image). */
function eraseBox(alpha: Uint8Array, w: number, h: number, b: Crop): void {
  for (let y = Math.max(0, Math.floor(b.y)); y < Math.min(h, Math.ceil(b.y + b.h)); y++) {
    alpha.fill(0, y * w + Math.max(0, Math.floor(b.x)), y * w + Math.min(w, Math.ceil(b.x + b.w)));
  }
}

/** Alpha without matting noise: values ≤ ALPHA_FLOOR become 0, and blobs (8-connected) much smaller than the largest are removed. */
export function cleanAlpha(alpha: Uint8Array, w: number, h: number): Uint8Array {
  const a = alpha.map((v) => (v <= ALPHA_FLOOR ? 0 : v));
  const label = new Int32Array(w * h).fill(-1);
  const sizes: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < a.length; start++) {
    if (a[start] === 0 || label[start] !== -1) continue;
    const l = sizes.length;
    let n = 0;
    label[start] = l;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      n++;
      const x = p % w, y = (p - x) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const q = ny * w + nx;
          if (a[q] !== 0 && label[q] === -1) {
            label[q] = l;
            stack.push(q);
          }
        }
      }
    }
    sizes.push(n);
  }
  const keep = Math.max(0, ...sizes) * MIN_BLOB_SHARE;
  for (let i = 0; i < a.length; i++) if (label[i]! >= 0 && sizes[label[i]!]! < keep) a[i] = 0;
  return a;
}

/** Px along each border of the matte with alpha ≥ 128 (the person continues beyond the photo there). */
export function cutSides(alpha: Uint8Array, w: number, h: number): Cutout['cut'] {
  let top = 0, bottom = 0, left = 0, right = 0;
  for (let x = 0; x < w; x++) {
    if (alpha[x]! >= 128) top++;
    if (alpha[(h - 1) * w + x]! >= 128) bottom++;
  }
  for (let y = 0; y < h; y++) {
    if (alpha[y * w]! >= 128) left++;
    if (alpha[y * w + w - 1]! >= 128) right++;
  }
  return { top, bottom, left, right };
}

/** The RGBA cropped to the bounding box of alpha > 0, with `margin` transparent px around it. */
export function trimToAlpha(rgba: Uint8Array, w: number, h: number, margin: number): { width: number; height: number; rgba: Uint8Array } {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (rgba[(y * w + x) * 4 + 3]! > 0) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) throw new CutoutError('the matte is empty: RVM found no person in the crop (check the crop box in sources.ts)');
  const tw = x1 - x0 + 1 + 2 * margin;
  const th = y1 - y0 + 1 + 2 * margin;
  const out = new Uint8Array(tw * th * 4);
  for (let y = y0; y <= y1; y++) out.set(rgba.subarray((y * w + x0) * 4, (y * w + x1 + 1) * 4), ((y - y0 + margin) * tw + margin) * 4);
  return { width: tw, height: th, rgba: out };
}
