/**
 * Per-person truth of multi-person clips, compactly: each person's visible coverage is kept
 * cropped to its bounding box (a person ≈ 100 px tall is ≈ 4 KB a frame instead of 300 KB), in
 * memory (AlphaBox) and in the clip cache (people.raw: every box's bytes back to back, person by
 * person, frame by frame; the boxes and in-frame shares in meta.json). Pure except the two file
 * functions.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { AlphaBox, CastMember, PersonTruth } from './types.js';

export class PersonTruthError extends Error {
  override readonly name = 'PersonTruthError';
}

const EMPTY: AlphaBox = Object.freeze({ x: 0, y: 0, width: 0, height: 0, alpha: new Uint8Array(0) });

/** Crops a width × height alpha to the bounding box of its non-zero pixels (0 × 0 when all zero). */
export function alphaBox(alpha: Uint8Array, width: number, height: number): AlphaBox {
  if (alpha.length !== width * height) throw new PersonTruthError(`alpha has ${alpha.length} bytes, ${width}×${height} needs ${width * height}`);
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1, last = -1;
    for (let x = 0; x < width; x++) {
      if (alpha[row + x] !== 0) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (y0 === height) y0 = y;
    y1 = y;
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
  }
  if (x1 < 0) return EMPTY;
  const w = x1 - x0 + 1, h = y1 - y0 + 1;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) out.set(alpha.subarray((y0 + y) * width + x0, (y0 + y) * width + x1 + 1), y * w);
  return { x: x0, y: y0, width: w, height: h, alpha: out };
}

/** The box expanded back to a whole width × height frame (zeros outside the box). */
export function personAlphaFrame(box: AlphaBox, width: number, height: number): Uint8Array {
  if (box.x < 0 || box.y < 0 || box.x + box.width > width || box.y + box.height > height) throw new PersonTruthError(`box ${box.width}×${box.height} at (${box.x}, ${box.y}) leaves the ${width}×${height} frame`);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < box.height; y++) out.set(box.alpha.subarray(y * box.width, (y + 1) * box.width), (box.y + y) * width + box.x);
  return out;
}

/** What meta.json keeps of a person: everything but the bytes. Boxes as [x, y, width, height]. */
export interface PersonTruthMeta extends CastMember {
  readonly inFrame: readonly number[];
  readonly boxes: readonly (readonly [number, number, number, number])[];
}

export function personTruthMeta(p: PersonTruth): PersonTruthMeta {
  return { name: p.name, role: p.role, inFrame: p.inFrame, boxes: p.alpha.map((b) => [b.x, b.y, b.width, b.height] as const) };
}

/** Writes every box's bytes, person by person, frame by frame. */
export function writePeopleRaw(file: string, people: readonly PersonTruth[]): void {
  const fd = openSync(file, 'w');
  try {
    for (const p of people) for (const b of p.alpha) if (b.alpha.length) writeSync(fd, b.alpha);
  } finally {
    closeSync(fd);
  }
}

/** Reads what writePeopleRaw wrote, given the boxes from meta.json. */
export function readPeopleRaw(file: string, meta: readonly PersonTruthMeta[]): PersonTruth[] {
  const buf = readFileSync(file);
  let p = 0;
  const people = meta.map((m) => ({
    name: m.name,
    role: m.role,
    inFrame: m.inFrame,
    alpha: m.boxes.map(([x, y, width, height]): AlphaBox => {
      const n = width * height;
      if (p + n > buf.length) throw new PersonTruthError(`${file} ends at byte ${buf.length}, person ${m.name} needs bytes up to ${p + n}; delete the clip's cache folder to rebuild it`);
      const alpha = new Uint8Array(buf.subarray(p, p + n));
      p += n;
      return n ? { x, y, width, height, alpha } : EMPTY;
    }),
  }));
  if (p !== buf.length) throw new PersonTruthError(`${file} has ${buf.length} bytes, the boxes in meta.json account for ${p}`);
  return people;
}
