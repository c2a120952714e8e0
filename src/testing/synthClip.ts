/**
 * Test clips with a known person region: a real photo of a person (a portrait thumbnail of
 * @vladmandic/human's samples.jpg, sha256-checked in models/assets) pasted onto a seeded,
 * textured background and moving left and right, so tests know where the person is in every
 * frame (`boxes`). Decoding the JPEG needs the system ffmpeg (a test dependency).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { ModelStore } from '../inference/modelStore.js';
import { rgbToI420 } from '../decode/yuvToRgb.js';
import type { I420Picture } from '../decode/types.js';
import { rng } from '../shared/random.js';

/** The portrait thumbnail in the 1280×1158 sample sheet, px (a woman, head and shoulders). */
export const PORTRAIT_CROP = { x: 165, y: 0, w: 153, h: 159 } as const;

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface ClipOptions {
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Horizontal speed of the person, px per frame (bounces at the edges). */
  readonly speedPxPerFrame: number;
  /** Background pattern seed. */
  readonly seed: number;
  /** Person height as a share of the frame height (default 0.7). */
  readonly personScale?: number;
}

export interface Clip {
  readonly frames: I420Picture[];
  /** Where the pasted portrait is in each frame, px. */
  readonly boxes: Box[];
  readonly fps: number;
}

/** RGB of the portrait thumbnail scaled to w × h, decoded by ffmpeg. */
export function loadPortraitRgb(w: number, h: number): Uint8Array {
  const jpg = ModelStore.open().verifiedPath('assets/samples.jpg');
  const c = PORTRAIT_CROP;
  const vf = `crop=${c.w}:${c.h}:${c.x}:${c.y},scale=${w}:${h}:flags=area`;
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', jpg, '-vf', vf, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`cannot run ffmpeg to decode the test photo (${r.error.message}); install it: apt-get install ffmpeg`);
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${jpg}: ${r.stderr.toString().trim()}`);
  if (r.stdout.length !== w * h * 3) throw new Error(`ffmpeg produced ${r.stdout.length} bytes, expected ${w * h * 3}`);
  return new Uint8Array(r.stdout);
}

/** A room-like background: soft colour gradient, a few furniture-like blocks, mild noise. */
function background(width: number, height: number, seed: number): Uint8Array {
  const rand = rng(seed);
  const out = new Uint8Array(width * height * 3);
  const c0 = [60 + rand() * 120, 60 + rand() * 120, 60 + rand() * 120];
  const c1 = [60 + rand() * 120, 60 + rand() * 120, 60 + rand() * 120];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      const p = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) out[p + k] = c0[k]! * (1 - t) + c1[k]! * t + (rand() - 0.5) * 6;
    }
  }
  for (let i = 0; i < 6; i++) {
    const bw = Math.round(width * (0.1 + rand() * 0.25));
    const bh = Math.round(height * (0.1 + rand() * 0.4));
    const bx = Math.round(rand() * (width - bw));
    const by = Math.round(rand() * (height - bh));
    const col = [rand() * 255, rand() * 255, rand() * 255];
    for (let y = by; y < by + bh; y++) {
      for (let x = bx; x < bx + bw; x++) {
        const p = (y * width + x) * 3;
        for (let k = 0; k < 3; k++) out[p + k] = col[k]! * 0.8 + out[p + k]! * 0.2;
      }
    }
  }
  return out;
}

/** x of the person's left edge in frame i: moves at `speed` px/frame and bounces. */
function personX(i: number, speed: number, range: number): number {
  if (range <= 0) return 0;
  const period = 2 * range;
  const d = (Math.round(range / 2) + Math.round(i * speed)) % period;
  return d <= range ? d : period - d;
}

export async function generateClip(o: ClipOptions): Promise<Clip> {
  const { width, height } = o;
  const ph = Math.round(height * (o.personScale ?? 0.7));
  const pw = Math.min(width, Math.round((PORTRAIT_CROP.w * ph) / PORTRAIT_CROP.h));
  const person = loadPortraitRgb(pw, ph);
  const bg = background(width, height, o.seed);
  const frames: I420Picture[] = [];
  const boxes: Box[] = [];
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < o.frames; i++) {
    rgb.set(bg);
    const x0 = personX(i, o.speedPxPerFrame, width - pw);
    const y0 = height - ph;
    for (let y = 0; y < ph; y++) rgb.set(person.subarray(y * pw * 3, (y + 1) * pw * 3), ((y0 + y) * width + x0) * 3);
    frames.push(rgbToI420(rgb, width, height));
    boxes.push({ x: x0, y: y0, w: pw, h: ph });
  }
  return { frames, boxes, fps: o.fps };
}

/** YUV4MPEG2 header as Chromium's fake camera and ffmpeg read it. */
export function y4mHeader(width: number, height: number, fps: number): string {
  return `YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`;
}

/** Writes a clip as a .y4m file (for Chromium's --use-file-for-fake-video-capture). */
export async function writeClipY4m(path: string, o: ClipOptions): Promise<Clip> {
  const clip = await generateClip(o);
  const out = createWriteStream(path);
  const write = (b: string | Uint8Array) => new Promise<void>((resolve, reject) => out.write(b, (e) => (e ? reject(e) : resolve())));
  await write(y4mHeader(o.width, o.height, o.fps));
  for (const f of clip.frames) {
    await write('FRAME\n');
    await write(f.y);
    await write(f.u);
    await write(f.v);
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return clip;
}
