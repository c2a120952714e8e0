/**
 * Finished clips on disk: YUV4MPEG2 video (what Chromium's fake camera, ffmpeg and the
 * maskstream CLI read) plus the ground truth, either as one raw file (the cache: fast) or as
 * numbered 8-bit grayscale PNGs (for people and `maskstream eval`).
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { I420Picture } from '../../decode/types.js';
import { y4mHeader } from '../../testing/synthClip.js';
import { encodePng } from './imageIo.js';
import { personAlphaFrame } from './personTruth.js';
import type { QualityClip } from './types.js';

export class ClipFileError extends Error {
  override readonly name = 'ClipFileError';
}

/** Writes frames as .y4m (C420jpeg, progressive, square pixels), tightly packed planes. */
export function writeY4m(file: string, frames: readonly I420Picture[], fps: number): void {
  if (frames.length === 0) throw new ClipFileError(`no frames to write to ${file}`);
  const { width: w, height: h } = frames[0]!;
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, y4mHeader(w, h, fps));
    const cw = (w + 1) >> 1;
    const ch = (h + 1) >> 1;
    for (const f of frames) {
      if (f.width !== w || f.height !== h) throw new ClipFileError(`frame of ${f.width}×${f.height} in a ${w}×${h} clip`);
      writeSync(fd, 'FRAME\n');
      for (let y = 0; y < h; y++) writeSync(fd, f.y, y * f.yStride, w);
      for (let y = 0; y < ch; y++) writeSync(fd, f.u, y * f.uvStride, cw);
      for (let y = 0; y < ch; y++) writeSync(fd, f.v, y * f.uvStride, cw);
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads a .y4m written by writeY4m (4:2:0, no frame parameters). */
export function readY4m(file: string): { width: number; height: number; fps: number; frames: I420Picture[] } {
  const buf = readFileSync(file);
  const nl = buf.indexOf(0x0a);
  const header = buf.subarray(0, nl).toString('latin1');
  if (!header.startsWith('YUV4MPEG2 ')) throw new ClipFileError(`${file} is not a YUV4MPEG2 file`);
  const tag = (c: string) => header.split(' ').find((t) => t.startsWith(c))?.slice(1);
  const width = Number(tag('W'));
  const height = Number(tag('H'));
  const [num, den] = (tag('F') ?? '30:1').split(':').map(Number);
  const colour = tag('C') ?? '420jpeg';
  if (!colour.startsWith('420')) throw new ClipFileError(`${file} has colour space C${colour}; only 4:2:0 is supported`);
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const size = width * height + 2 * cw * ch;
  const frames: I420Picture[] = [];
  let p = nl + 1;
  while (p < buf.length) {
    const end = buf.indexOf(0x0a, p);
    if (end < 0 || !buf.subarray(p, end).toString('latin1').startsWith('FRAME')) throw new ClipFileError(`${file}: no FRAME marker at byte ${p}`);
    p = end + 1;
    if (p + size > buf.length) throw new ClipFileError(`${file}: frame ${frames.length} is truncated`);
    // Copies: the file buffer may be large and pooled; each picture owns its planes.
    const y = new Uint8Array(buf.subarray(p, p + width * height));
    const u = new Uint8Array(buf.subarray(p + width * height, p + width * height + cw * ch));
    const v = new Uint8Array(buf.subarray(p + width * height + cw * ch, p + size));
    frames.push({ width, height, y, u, v, yStride: width, uvStride: cw });
    p += size;
  }
  return { width, height, fps: num! / (den || 1), frames };
}

/** All GT frames back to back (frames × width × height bytes). */
export function writeGtRaw(file: string, gt: readonly Uint8Array[]): void {
  const fd = openSync(file, 'w');
  try {
    for (const g of gt) writeSync(fd, g);
  } finally {
    closeSync(fd);
  }
}

export function readGtRaw(file: string, width: number, height: number, frames: number): Uint8Array[] {
  const buf = readFileSync(file);
  if (buf.length !== width * height * frames) throw new ClipFileError(`${file} has ${buf.length} bytes, expected ${frames} × ${width}×${height}`);
  return Array.from({ length: frames }, (_, i) => new Uint8Array(buf.subarray(i * width * height, (i + 1) * width * height)));
}

/** Name of GT frame i: gt/000000.png, gt/000001.png, … */
export function gtPngName(i: number): string {
  return `${String(i).padStart(6, '0')}.png`;
}

/**
 * Writes a clip for people and the CLI: <dir>/clip.y4m, <dir>/gt/000000.png … (8-bit
 * grayscale, 255 = person) and <dir>/clip.json (name, description, kind, size, bitrates).
 * Multi-person clips also get <dir>/people/<k>/000000.png … (person k's visible coverage, k in
 * the order of clip.json's `people`, which lists their names, roles and in-frame shares).
 */
export function writeClip(clip: QualityClip, dir: string): void {
  mkdirSync(path.join(dir, 'gt'), { recursive: true });
  writeY4m(path.join(dir, 'clip.y4m'), clip.frames, clip.fps);
  clip.gt.forEach((g, i) => writeFileSync(path.join(dir, 'gt', gtPngName(i)), encodePng(g, clip.width, clip.height, 1)));
  const { frames: _f, gt: _g, people, ...meta } = clip;
  people?.forEach((p, k) => {
    mkdirSync(path.join(dir, 'people', String(k)), { recursive: true });
    p.alpha.forEach((b, i) => writeFileSync(path.join(dir, 'people', String(k), gtPngName(i)), encodePng(personAlphaFrame(b, clip.width, clip.height), clip.width, clip.height, 1)));
  });
  const cast = people?.map((p) => ({ name: p.name, role: p.role, inFrame: p.inFrame.map((v) => Number(v.toFixed(4))) }));
  writeFileSync(path.join(dir, 'clip.json'), JSON.stringify({ ...meta, frameCount: clip.frames.length, ...(cast ? { people: cast } : {}) }, null, 2) + '\n');
}
