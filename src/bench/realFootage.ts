/**
 * Real footage without truth (opencv-doc's vtest.avi: a street with several pedestrians): does
 * a configuration keep every person the whole-picture pass finds? Compares the masks of a
 * candidate (the default, crops) with those of a reference (the same model and temporal stage
 * with the region of interest off) frame by frame, at the picture's size:
 *  - area ratio: the candidate's person pixels / the reference's, over the clip;
 *  - reference pixels covered: the share of the reference's person pixels within `tolerancePx`
 *    of a candidate person pixel (a sharper edge is not a loss; a missing person is);
 *  - people kept: the reference's people (4-connected regions of ≥ minPeoplePx px) that
 *    overlap a candidate person pixel (dilated the same way), over all frames;
 *  - empty frames: frames where the reference finds someone and the candidate nobody.
 * Pure: two sequences of masks in, numbers out.
 */
import { ComponentFinder } from '../roi/components.js';

export interface FootageComparison {
  readonly frames: number;
  /** Mean share of the picture marked person (≥ 128), candidate and reference. */
  readonly candidateArea: number;
  readonly referenceArea: number;
  readonly areaRatio: number;
  readonly referenceCovered: number;
  readonly peopleKept: number;
  readonly referencePeople: number;
  readonly emptyFrames: number;
}

/** Boolean dilation of `m ≥ 128` by a square of radius r (separable max), as 0/1 bytes. */
function dilate(m: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const a = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    // Left-to-right then right-to-left passes mark cells within r of a set cell on the row.
    let last = -Infinity;
    for (let x = 0; x < w; x++) {
      if (m[y * w + x]! >= 128) last = x;
      if (x - last <= r) a[y * w + x] = 1;
    }
    last = Infinity;
    for (let x = w - 1; x >= 0; x--) {
      if (m[y * w + x]! >= 128) last = x;
      if (last - x <= r) a[y * w + x] = 1;
    }
  }
  const b = new Uint8Array(w * h);
  for (let x = 0; x < w; x++) {
    let last = -Infinity;
    for (let y = 0; y < h; y++) {
      if (a[y * w + x]) last = y;
      if (y - last <= r) b[y * w + x] = 1;
    }
    last = Infinity;
    for (let y = h - 1; y >= 0; y--) {
      if (a[y * w + x]) last = y;
      if (last - y <= r) b[y * w + x] = 1;
    }
  }
  return b;
}

export function compareFootage(candidate: readonly Uint8Array[], reference: readonly Uint8Array[], width: number, height: number, o: { tolerancePx?: number; minPeoplePx?: number } = {}): FootageComparison {
  if (candidate.length !== reference.length) throw new RangeError(`${candidate.length} candidate masks, ${reference.length} reference masks`);
  const r = o.tolerancePx ?? 8;
  const minPeople = o.minPeoplePx ?? 60;
  const finder = new ComponentFinder(width, height);
  let ca = 0, ra = 0, covered = 0, kept = 0, people = 0, empty = 0;
  for (let f = 0; f < candidate.length; f++) {
    const c = candidate[f]!;
    const ref = reference[f]!;
    let cn = 0, rn = 0;
    for (let i = 0; i < c.length; i++) {
      if (c[i]! >= 128) cn++;
      if (ref[i]! >= 128) rn++;
    }
    ca += cn;
    ra += rn;
    if (rn > 0 && cn === 0) empty++;
    if (rn === 0) continue;
    const near = dilate(c, width, height, r);
    for (let i = 0; i < c.length; i++) if (ref[i]! >= 128 && near[i]) covered++;
    for (const p of finder.find(ref, 128, minPeople)) {
      people++;
      let hit = false;
      for (let y = p.y0; y < p.y1 && !hit; y++) for (let x = p.x0; x < p.x1; x++) if (ref[y * width + x]! >= 128 && near[y * width + x]) { hit = true; break; }
      if (hit) kept++;
    }
  }
  const n = candidate.length * width * height;
  return {
    frames: candidate.length,
    candidateArea: ca / n,
    referenceArea: ra / n,
    areaRatio: ra ? ca / ra : NaN,
    referenceCovered: ra ? covered / ra : NaN,
    peopleKept: people ? kept / people : NaN,
    referencePeople: people,
    emptyFrames: empty,
  };
}
