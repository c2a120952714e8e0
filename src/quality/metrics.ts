/**
 * Segmentation quality of mask sequences. Pure. A mask is width × height bytes, value =
 * foreground probability × 255; "binary" means value ≥ 128 (probability ≥ ½). Ground truth
 * uses the same encoding, so 0/255 annotations and soft alpha mattes both work.
 *
 * - J (region similarity, DAVIS): IoU of the binary masks; 1 when both are empty.
 * - F (boundary accuracy, DAVIS): F-measure of boundary pixels matched within a tolerance of
 *   round(0.008 × image diagonal) px (6 px at 640×480). The DAVIS code rounds that tolerance
 *   up (ceil) and draws boundaries with its own seg2bmap; here a boundary pixel is a foreground
 *   pixel with a 4-neighbour in the background or outside the image, so absolute values can
 *   differ slightly from the official toolkit's.
 * - TE (temporal error): share of pixels whose predicted label changes between consecutive
 *   frames while the ground truth's does not (flicker the video does not explain).
 * - dtSSD (Robust Video Matting): per frame t ≥ 1, sqrt(mean(((α_t − α_t−1) − (g_t − g_t−1))²))
 *   × 100 with α, g in [0, 1]: soft flicker relative to the truth's own motion.
 *
 * SequenceEvaluator takes frames one at a time (constant memory for long clips);
 * evaluateSequence wraps it for arrays.
 *
 * Per-person metrics of multi-person clips (recall, longest miss, entering latency;
 * PeopleEvaluator) live in personMetrics.ts and are re-exported here.
 */
export * from './personMetrics.js';

export class MetricsInputError extends Error {
  override readonly name = 'MetricsInputError';
}

/** Boundary tolerance of F, px: round(0.008 × diagonal), as a share of the diagonal like DAVIS. */
export function boundaryTolerancePx(width: number, height: number): number {
  return Math.round(0.008 * Math.hypot(width, height));
}

/** Binary label per pixel: 1 where value ≥ 128 (the top bit, branch-free). */
export function binarize(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i]! >> 7;
  return out;
}

function sameLength(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length) throw new MetricsInputError(`${what}: prediction has ${a.length} pixels, ground truth ${b.length}`);
}

function checkSize(mask: Uint8Array, width: number, height: number, what: string): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new MetricsInputError(`${what}: size must be positive integers, got ${width}×${height}`);
  if (mask.length !== width * height) throw new MetricsInputError(`${what}: has ${mask.length} pixels, ${width}×${height} needs ${width * height}`);
}

/** IoU of two binary (0/1) masks; 1 when both are empty. */
function iouBinary(p: Uint8Array, g: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < p.length; i++) {
    inter += p[i]! & g[i]!;
    union += p[i]! | g[i]!;
  }
  return union === 0 ? 1 : inter / union;
}

/** J of one frame: IoU of (pred ≥ 128) and (gt ≥ 128); 1 when both are empty. */
export function jaccard(pred: Uint8Array, gt: Uint8Array): number {
  sameLength(pred, gt, 'jaccard');
  return iouBinary(binarize(pred), binarize(gt));
}

/**
 * A mask's boundary pixels as sorted row-major indices, plus where each row's run starts
 * (rowStart[y]..rowStart[y + 1]), so "is there a boundary pixel in row y between x0 and x1"
 * is a binary search over a handful of entries. Boundaries are sparse (a few thousand pixels
 * at 640×480), so this is far cheaper than dilating whole images.
 */
interface Boundary {
  readonly idx: Int32Array;
  readonly rowStart: Int32Array;
}

function boundaryOf(bin: Uint8Array, width: number, height: number): Boundary {
  const rowStart = new Int32Array(height + 1);
  // Worst case every pixel; a view of the used part is returned (freed with the Boundary).
  const idx = new Int32Array(bin.length);
  let n = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    rowStart[y] = n;
    if (y === 0 || y === height - 1) {
      // Top and bottom rows: every foreground pixel touches the outside.
      for (let x = 0; x < width; x++) if (bin[row + x]) idx[n++] = row + x;
      continue;
    }
    if (bin[row]) idx[n++] = row;
    for (let i = row + 1, end = row + width - 1; i < end; i++) {
      // Labels are 0/1, so the AND of the four neighbours is 0 iff one is background.
      if (bin[i] && (bin[i - 1]! & bin[i + 1]! & bin[i - width]! & bin[i + width]!) === 0) idx[n++] = i;
    }
    if (width > 1 && bin[row + width - 1]) idx[n++] = row + width - 1;
  }
  rowStart[height] = n;
  return { idx: idx.subarray(0, n), rowStart };
}

/** Boundary pixels of a binary mask (1 = boundary): foreground with a background or out-of-image 4-neighbour. */
export function boundaryMap(bin: Uint8Array, width: number, height: number): Uint8Array {
  checkSize(bin, width, height, 'boundaryMap');
  const out = new Uint8Array(bin.length);
  for (const i of boundaryOf(bin, width, height).idx) out[i] = 1;
  return out;
}

/** Disk of radius r (skimage's disk: dx² + dy² ≤ r²) as rows: dys ordered 0, −1, 1, −2, 2, … (nearest rows first, so matches exit early) and each row's half width. */
function diskRows(r: number): { dy: Int32Array; half: Int32Array } {
  const dy = new Int32Array(2 * r + 1);
  const half = new Int32Array(2 * r + 1);
  for (let k = 0; k <= 2 * r; k++) {
    const d = k === 0 ? 0 : k % 2 ? -((k + 1) >> 1) : k >> 1;
    let w = Math.floor(Math.sqrt(r * r - d * d));
    while (w * w + d * d > r * r) w--; // guard against sqrt rounding
    while ((w + 1) * (w + 1) + d * d <= r * r) w++;
    dy[k] = d;
    half[k] = w;
  }
  return { dy, half };
}

/** Count of `from`'s boundary pixels with a pixel of `to`'s boundary within the disk: |from ∧ dilate(to, disk)|. */
function matchedCount(from: Boundary, to: Boundary, width: number, height: number, disk: { dy: Int32Array; half: Int32Array }): number {
  const { idx: t, rowStart } = to;
  let n = 0;
  for (const i of from.idx) {
    const y = (i / width) | 0;
    const x = i - y * width;
    for (let k = 0; k < disk.dy.length; k++) {
      const yy = y + disk.dy[k]!;
      if (yy < 0 || yy >= height) continue;
      let lo = rowStart[yy]!;
      let hi = rowStart[yy + 1]!;
      if (lo === hi) continue;
      const first = yy * width + Math.max(0, x - disk.half[k]!);
      const last = yy * width + Math.min(width - 1, x + disk.half[k]!);
      // Lower bound of `first` in t[lo, hi).
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (t[mid]! < first) lo = mid + 1;
        else hi = mid;
      }
      if (lo < rowStart[yy + 1]! && t[lo]! <= last) {
        n++;
        break;
      }
    }
  }
  return n;
}

/** F of two binary masks with tolerance r px (see boundaryF). */
function boundaryFBinary(p: Uint8Array, g: Uint8Array, width: number, height: number, disk: { dy: Int32Array; half: Int32Array }): number {
  const pb = boundaryOf(p, width, height);
  const gb = boundaryOf(g, width, height);
  const np = pb.idx.length;
  const ng = gb.idx.length;
  if (np === 0 && ng === 0) return 1;
  if (np === 0 || ng === 0) return 0;
  const precision = matchedCount(pb, gb, width, height, disk) / np;
  const recall = matchedCount(gb, pb, width, height, disk) / ng;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

export interface BoundaryOptions {
  /** Matching tolerance, px; default round(0.008 × image diagonal). */
  readonly tolerancePx?: number;
}

/**
 * F of one frame: precision = share of the prediction's boundary pixels within tolerance of a
 * ground-truth boundary pixel, recall the other way, F = 2PR / (P + R). Both boundaries
 * empty → 1; exactly one empty → 0.
 */
export function boundaryF(pred: Uint8Array, gt: Uint8Array, width: number, height: number, opts: BoundaryOptions = {}): number {
  checkSize(pred, width, height, 'boundaryF prediction');
  checkSize(gt, width, height, 'boundaryF ground truth');
  return boundaryFBinary(binarize(pred), binarize(gt), width, height, diskRows(tolerance(width, height, opts)));
}

function tolerance(width: number, height: number, opts: BoundaryOptions): number {
  const r = opts.tolerancePx ?? boundaryTolerancePx(width, height);
  if (!(Number.isInteger(r) && r >= 0 && r < 65535)) throw new MetricsInputError(`boundary tolerance must be an integer number of pixels ≥ 0, got ${r}`);
  return r;
}

/** Share of pixels whose label changes in `a` (prev → cur) while it stays in `b` (null: ignore b). */
function flipShare(aPrev: Uint8Array, aCur: Uint8Array, bPrev: Uint8Array | null, bCur: Uint8Array | null): number {
  let n = 0;
  if (bPrev && bCur) for (let i = 0; i < aCur.length; i++) n += (aPrev[i]! ^ aCur[i]!) & ~(bPrev[i]! ^ bCur[i]!) & 1;
  else for (let i = 0; i < aCur.length; i++) n += aPrev[i]! ^ aCur[i]!;
  return n / aCur.length;
}

/** dtSSD term of frame t (see the module comment); inputs are 8-bit, so /255 maps to [0, 1]. */
function dtSsdFrame(pPrev: Uint8Array, pCur: Uint8Array, gPrev: Uint8Array, gCur: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < pCur.length; i++) {
    const d = pCur[i]! - pPrev[i]! - (gCur[i]! - gPrev[i]!);
    sum += d * d;
  }
  return (Math.sqrt(sum / pCur.length) / 255) * 100;
}

function checkSequences(pred: readonly Uint8Array[], gt: readonly Uint8Array[] | null, what: string): void {
  if (gt && pred.length !== gt.length) throw new MetricsInputError(`${what}: prediction has ${pred.length} frames, ground truth ${gt.length}`);
  const n = pred[0]?.length ?? 0;
  for (let t = 0; t < pred.length; t++) {
    if (pred[t]!.length !== n) throw new MetricsInputError(`${what}: prediction frame ${t} has ${pred[t]!.length} pixels, frame 0 has ${n}`);
    if (gt && gt[t]!.length !== n) throw new MetricsInputError(`${what}: ground-truth frame ${t} has ${gt[t]!.length} pixels, prediction has ${n}`);
  }
}

/** TE: mean over pairs (t−1, t) of the share of pixels whose predicted label flips while the truth's does not; 0 for < 2 frames. */
export function temporalError(pred: readonly Uint8Array[], gt: readonly Uint8Array[]): number {
  checkSequences(pred, gt, 'temporalError');
  if (pred.length < 2) return 0;
  let sum = 0;
  let pPrev = binarize(pred[0]!);
  let gPrev = binarize(gt[0]!);
  for (let t = 1; t < pred.length; t++) {
    const p = binarize(pred[t]!);
    const g = binarize(gt[t]!);
    sum += flipShare(pPrev, p, gPrev, g);
    pPrev = p;
    gPrev = g;
  }
  return sum / (pred.length - 1);
}

/** Self temporal error, for clips without ground truth: mean share of pixels whose predicted label flips between consecutive frames. */
export function selfTE(pred: readonly Uint8Array[]): number {
  checkSequences(pred, null, 'selfTE');
  if (pred.length < 2) return 0;
  let sum = 0;
  let prev = binarize(pred[0]!);
  for (let t = 1; t < pred.length; t++) {
    const cur = binarize(pred[t]!);
    sum += flipShare(prev, cur, null, null);
    prev = cur;
  }
  return sum / (pred.length - 1);
}

/** dtSSD averaged over frames t ≥ 1; 0 for a single frame. */
export function dtSSD(pred: readonly Uint8Array[], gt: readonly Uint8Array[]): number {
  checkSequences(pred, gt, 'dtSSD');
  if (pred.length < 2) return 0;
  let sum = 0;
  for (let t = 1; t < pred.length; t++) sum += dtSsdFrame(pred[t - 1]!, pred[t]!, gt[t - 1]!, gt[t]!);
  return sum / (pred.length - 1);
}

export interface SequenceMetrics {
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  /** Mean J over frames (higher is better, 1 = perfect). */
  readonly J: number;
  /** Mean F over frames (higher is better, 1 = perfect). */
  readonly F: number;
  /** Temporal error, share of pixels in [0, 1] (lower is better). */
  readonly TE: number;
  /** dtSSD × 100 (lower is better). */
  readonly dtSSD: number;
  /** F's matching tolerance, px. */
  readonly boundaryTolerancePx: number;
  readonly perFrameJ: readonly number[];
  readonly perFrameF: readonly number[];
  /**
   * With SequenceOptions.edgeSplitPx = R: the part of TE within R px (square neighbourhood) of
   * a truth edge at t or t − 1 — flips where a moving edge lands differently from the truth —
   * and the rest (regions that appear and vanish). TEnearEdge + TEfar = TE.
   */
  readonly TEnearEdge?: number;
  readonly TEfar?: number;
}

export interface SequenceOptions extends BoundaryOptions {
  /** Split TE by distance to the truth's edges (px, square neighbourhood); absent = no split. */
  readonly edgeSplitPx?: number;
}

/**
 * Pixels within r px (square neighbourhood, Chebyshev distance) of a label change of the
 * binary map `bin` (0/1, W × H), as 0/1 into `out`; `tmp` is W × H scratch. Pure.
 */
export function nearEdges(bin: Uint8Array, W: number, H: number, r: number, out: Uint8Array, tmp: Uint8Array): Uint8Array {
  // Edge pixels: differ from the right or lower neighbour.
  out.fill(0);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const v = bin[i]!;
      if ((x + 1 < W && bin[i + 1] !== v) || (y + 1 < H && bin[i + W] !== v)) out[i] = 1;
    }
  }
  // Dilate by r: rows, then columns (running distance to the last edge on either side).
  for (let y = 0; y < H; y++) {
    const row = y * W;
    let last = -Infinity;
    for (let x = 0; x < W; x++) {
      if (out[row + x]) last = x;
      tmp[row + x] = x - last <= r ? 1 : 0;
    }
    last = Infinity;
    for (let x = W - 1; x >= 0; x--) {
      if (out[row + x]) last = x;
      if (last - x <= r) tmp[row + x] = 1;
    }
  }
  for (let x = 0; x < W; x++) {
    let last = -Infinity;
    for (let y = 0; y < H; y++) {
      if (tmp[y * W + x]) last = y;
      out[y * W + x] = y - last <= r ? 1 : 0;
    }
    last = Infinity;
    for (let y = H - 1; y >= 0; y--) {
      if (tmp[y * W + x]) last = y;
      if (last - y <= r) out[y * W + x] = 1;
    }
  }
  return out;
}

/** All metrics of a sequence, fed one frame pair at a time (only the previous frame is kept). */
export class SequenceEvaluator {
  private readonly r: number;
  private readonly disk: { dy: Int32Array; half: Int32Array };
  private readonly js: number[] = [];
  private readonly fs: number[] = [];
  private teSum = 0;
  private dtSum = 0;
  /** Previous frame: raw values (copies) and binary labels; swapped with the current buffers each frame. */
  private prevP: Uint8Array;
  private prevG: Uint8Array;
  private prevPb: Uint8Array;
  private prevGb: Uint8Array;
  private curPb: Uint8Array;
  private curGb: Uint8Array;
  /** TE split by distance to the truth's edges (edgeSplitPx): near maps of t − 1 and t, scratch, sum. */
  private readonly split?: { r: number; prev: Uint8Array; cur: Uint8Array; tmp: Uint8Array; nearSum: number };

  constructor(
    readonly width: number,
    readonly height: number,
    opts: SequenceOptions = {},
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new MetricsInputError(`size must be positive integers, got ${width}×${height}`);
    this.r = tolerance(width, height, opts);
    this.disk = diskRows(this.r);
    const n = width * height;
    this.prevP = new Uint8Array(n);
    this.prevG = new Uint8Array(n);
    this.prevPb = new Uint8Array(n);
    this.prevGb = new Uint8Array(n);
    this.curPb = new Uint8Array(n);
    this.curGb = new Uint8Array(n);
    if (opts.edgeSplitPx !== undefined) {
      if (!(Number.isInteger(opts.edgeSplitPx) && opts.edgeSplitPx >= 0)) throw new MetricsInputError(`edgeSplitPx must be an integer ≥ 0, got ${opts.edgeSplitPx}`);
      this.split = { r: opts.edgeSplitPx, prev: new Uint8Array(n), cur: new Uint8Array(n), tmp: new Uint8Array(n), nearSum: 0 };
    }
  }

  get frames(): number {
    return this.js.length;
  }

  /** Adds the next frame (prediction and ground truth, 8-bit, width × height each; not kept, so buffers may be reused). */
  add(pred: Uint8Array, gt: Uint8Array): void {
    const t = this.js.length;
    checkSize(pred, this.width, this.height, `prediction frame ${t}`);
    checkSize(gt, this.width, this.height, `ground-truth frame ${t}`);
    const { prevP, prevG, prevPb, prevGb, curPb: pb, curGb: gb } = this;
    // One pass for the per-pixel metrics: labels, IoU counts, TE flips, dtSSD sum.
    let inter = 0;
    let union = 0;
    let flips = 0;
    let sq = 0;
    const n = pred.length;
    if (t === 0) {
      for (let i = 0; i < n; i++) {
        const p = pred[i]! >> 7;
        const g = gt[i]! >> 7;
        pb[i] = p;
        gb[i] = g;
        inter += p & g;
        union += p | g;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const pv = pred[i]!;
        const gv = gt[i]!;
        const p = pv >> 7;
        const g = gv >> 7;
        pb[i] = p;
        gb[i] = g;
        inter += p & g;
        union += p | g;
        flips += (p ^ prevPb[i]!) & ~(g ^ prevGb[i]!) & 1;
        const d = pv - prevP[i]! - (gv - prevG[i]!);
        sq += d * d;
      }
      this.teSum += flips / n;
      this.dtSum += (Math.sqrt(sq / n) / 255) * 100;
    }
    const sp = this.split;
    if (sp) {
      nearEdges(gb, this.width, this.height, sp.r, sp.cur, sp.tmp);
      if (t > 0) {
        let near = 0;
        for (let i = 0; i < n; i++) near += (pb[i]! ^ prevPb[i]!) & ~(gb[i]! ^ prevGb[i]!) & (sp.cur[i]! | sp.prev[i]!) & 1;
        sp.nearSum += near / n;
      }
      const keep = sp.prev;
      sp.prev = sp.cur;
      sp.cur = keep;
    }
    this.js.push(union === 0 ? 1 : inter / union);
    this.fs.push(boundaryFBinary(pb, gb, this.width, this.height, this.disk));
    prevP.set(pred);
    prevG.set(gt);
    this.prevPb = pb;
    this.prevGb = gb;
    this.curPb = prevPb;
    this.curGb = prevGb;
  }

  result(): SequenceMetrics {
    const n = this.js.length;
    if (n === 0) throw new MetricsInputError('no frames to evaluate');
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    return {
      frames: n,
      width: this.width,
      height: this.height,
      J: mean(this.js),
      F: mean(this.fs),
      TE: n < 2 ? 0 : this.teSum / (n - 1),
      dtSSD: n < 2 ? 0 : this.dtSum / (n - 1),
      boundaryTolerancePx: this.r,
      perFrameJ: [...this.js],
      perFrameF: [...this.fs],
      ...(this.split ? { TEnearEdge: n < 2 ? 0 : this.split.nearSum / (n - 1), TEfar: n < 2 ? 0 : (this.teSum - this.split.nearSum) / (n - 1) } : {}),
    };
  }
}

/** All metrics for whole sequences in memory (same length, every frame width × height). */
export function evaluateSequence(pred: readonly Uint8Array[], gt: readonly Uint8Array[], width: number, height: number, opts: BoundaryOptions = {}): SequenceMetrics {
  if (pred.length !== gt.length) throw new MetricsInputError(`prediction has ${pred.length} frames, ground truth ${gt.length}`);
  const ev = new SequenceEvaluator(width, height, opts);
  for (let t = 0; t < pred.length; t++) ev.add(pred[t]!, gt[t]!);
  return ev.result();
}
