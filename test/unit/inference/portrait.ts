/**
 * Test input from a real photo: the second thumbnail of models/assets/samples.jpg's top row
 * (a woman, head and shoulders, 153×159 px at x=165, y=0 of the 1280×1158 sheet), scaled and
 * bottom-centred on a mid-grey canvas of the model's input size, plus where the person is.
 *
 * Decoded with the system ffmpeg (a test dependency, installed by .ci/run): the JPEG is 4:2:2
 * full-range, and @napi-rs/webcodecs' ImageDecoder returns wrong chroma for it (mean error
 * ≈ 20 levels against ffmpeg and libjpeg), which would test the model on off-colour skin.
 */
import { spawnSync } from 'node:child_process';
import { ModelStore } from '../../../src/inference/modelStore.js';

/** The thumbnail in the sheet, px. */
const CROP = { x: 165, y: 0, w: 153, h: 159 } as const;

/**
 * Rough person shape in thumbnail coordinates (0..1), read off the photo by eye: head box and
 * shoulders/torso box. Generous on purpose: it is a sanity region, not a ground truth.
 */
const HEAD = { u0: 0.18, u1: 0.66, v0: 0.0, v1: 0.5 } as const;
const BODY = { u0: 0.0, u1: 1.0, v0: 0.45, v1: 1.0 } as const;
/** The face, which any person segmenter must cover. */
const FACE = { u0: 0.3, u1: 0.55, v0: 0.12, v1: 0.4 } as const;

export interface Portrait {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Is (x, y) inside the rough person region (head ∪ body)? */
  inPerson(x: number, y: number): boolean;
  /** Is (x, y) on the face? */
  inFace(x: number, y: number): boolean;
}

/** The portrait on a width × height grey canvas; the thumbnail fills `fill` of the height. */
export function portrait(width: number, height: number, fill = 1): Portrait {
  const sh = Math.round(height * fill);
  const sw = Math.min(width, Math.round((CROP.w * sh) / CROP.h));
  const x0 = Math.floor((width - sw) / 2);
  const y0 = height - sh;
  const jpg = ModelStore.open().verifiedPath('assets/samples.jpg');
  const vf = `crop=${CROP.w}:${CROP.h}:${CROP.x}:${CROP.y},scale=${sw}:${sh},pad=${width}:${height}:${x0}:${y0}:color=0x808080`;
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', jpg, '-vf', vf, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`cannot run ffmpeg to decode the test photo (${r.error.message}); install it: apt-get install ffmpeg`);
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${jpg}: ${r.stderr.toString().trim()}`);
  const rgb = new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
  if (rgb.length !== width * height * 3) throw new Error(`ffmpeg produced ${rgb.length} bytes, expected ${width * height * 3}`);
  const inBox = (b: { u0: number; u1: number; v0: number; v1: number }, x: number, y: number) => {
    const u = (x + 0.5 - x0) / sw;
    const v = (y + 0.5 - y0) / sh;
    return u >= b.u0 && u < b.u1 && v >= b.v0 && v < b.v1;
  };
  return {
    rgb: rgb.slice(), // own, exactly sized buffer (stdout may be a view into a larger one)
    width,
    height,
    inPerson: (x, y) => inBox(HEAD, x, y) || inBox(BODY, x, y),
    inFace: (x, y) => inBox(FACE, x, y),
  };
}

export function grey(width: number, height: number, level = 128): Uint8Array {
  return new Uint8Array(width * height * 3).fill(level);
}

export interface MaskScore {
  /** Fraction of foreground pixels that lie in the person region. */
  readonly precision: number;
  /** Fraction of the person region that is foreground. */
  readonly recall: number;
  /** Fraction of the face that is foreground. */
  readonly face: number;
  /** Foreground pixels / all pixels. */
  readonly foreground: number;
}

/** Scores a probability map (0..1 or 0..255 with `max`) at the portrait's resolution; fg = p ≥ max/2. */
export function score(p: ArrayLike<number>, img: Portrait, max = 1): MaskScore {
  let fg = 0;
  let fgIn = 0;
  let region = 0;
  let face = 0;
  let faceFg = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const on = p[y * img.width + x]! >= max / 2;
      const inP = img.inPerson(x, y);
      if (on) fg++;
      if (inP) region++;
      if (on && inP) fgIn++;
      if (img.inFace(x, y)) {
        face++;
        if (on) faceFg++;
      }
    }
  }
  return { precision: fg ? fgIn / fg : 0, recall: fgIn / region, face: faceFg / face, foreground: fg / (img.width * img.height) };
}
