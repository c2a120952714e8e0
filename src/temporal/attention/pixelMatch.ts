/**
 * The fine read of the temporal stage: where, to the pixel, each pixel of the current frame was
 * in the previous frame, and the previous frame's mask read from there. Pure; allocation-free
 * after construction (scratch buffers are owned and reused; outputs are views valid until the
 * next run()).
 *
 * The coarse read (the feature attention, ./types.ts) finds where a cell's content went to
 * within a cell — 8 mask px, ≈ 20 px of 640×480 video: enough to borrow a label, not to place an
 * edge. This read matches on the frames' luma at mask resolution instead, coarse to fine:
 *
 *  1. pyramid (when no prior is given): 4 × 4-px blocks of the 4× smaller luma, zero-mean SAD,
 *     offsets within ±coarseRadius of 0 (±28 mask px at the default 7: the fast-motion clips move
 *     14 mask px per frame);
 *  2. blocks (one per feature cell, s × s px): the offset within ±searchRadius px of the prior
 *     (the pyramid's offset of the block, or the caller's) minimising the zero-mean SAD between
 *     the block now and the block at +d before — zero-mean, so a change of exposure does not move
 *     the match; a small penalty on the distance to the prior keeps flat regions at the prior;
 *  3. pixels: each pixel chooses among the offsets of its own and its 8 neighbouring blocks the
 *     one whose (2q+1)² luma patch matches best, so a motion boundary (a limb moving over a
 *     background that moves otherwise) follows the picture to the pixel instead of the block
 *     grid; where every candidate reads the same memory value the choice cannot matter and is
 *     skipped;
 *  4. read(x) = M(x + d(x)) / 255 for the previous frame's mask M, and cost(x) = the mean over
 *     the pixel's (2q+1)² patch of each pixel's |luma now − luma before at its offset|: how well
 *     the content around x was found (low where it was; high at an occlusion, a disocclusion, a
 *     newcomer, a cut).
 *
 * The same kind of read as the coarse one — a query compared with keys in a local window of
 * the memory, the value taken at the best match — with −SAD of luma patches as the affinity and
 * top-1 selection. Steps 1–2 run in WebAssembly SIMD (blockMatch.wat) where available, else in
 * JavaScript with identical integer arithmetic (tested against each other).
 */
import { WasmBlockSearch, integral, searchBlocksJs } from './blockSearch.js';
import { boxMean, clampIdx, patchSad, quarter } from './imageOps.js';

export interface PixelMatchOptions {
  /** Mask size, px; both multiples of 16 and of `block`. */
  readonly width: number;
  readonly height: number;
  /** Block side, px (the feature stride): 4 or 8. */
  readonly block: number;
  /** Search radius of the block offset around its prior, px. */
  readonly searchRadius: number;
  /** Patch radius q of the per-pixel choice and of the cost, px. */
  readonly patchRadius: number;
  /** Search radius of the pyramid level (used without a prior), px of the 4× smaller level. */
  readonly coarseRadius: number;
  /** One pass of propagation of neighbouring blocks' offsets after the search (default true). */
  readonly propagate?: boolean;
}

export interface PixelMatchInputs {
  /** Luma at mask resolution, W × H bytes: now, and in the memory frame. */
  readonly lumaNow: Uint8Array;
  readonly lumaPrev: Uint8Array;
  /** The memory frame's mask, W × H bytes (probability × 255). */
  readonly memory: Uint8Array;
  /** Prior offset per block [blocks × 2] (dy, dx, px; rounded), or undefined: the pyramid finds one. */
  readonly prior?: Float32Array;
}

export interface PixelMatchOutputs {
  /** [H, W] the memory mask at the matched pixel (probability × 255, as stored). */
  readonly read: Uint8Array;
  /** [H, W] mean absolute luma difference around the pixel at the matched offsets, grey levels. */
  readonly cost: Float32Array;
  /** [blocks × 2] block offsets (dy, dx), px. */
  readonly offsets: Int32Array;
  /** [H, W] index into the memory plane of the pixel each read comes from (to read other planes the same way). */
  readonly source: Int32Array;
}

export class PixelMatchConfigError extends Error {
  override readonly name = 'PixelMatchConfigError';
}

export class PixelMatcher {
  readonly cellsX: number;
  readonly cellsY: number;
  private readonly out: PixelMatchOutputs;
  private readonly wasm: WasmBlockSearch | undefined;
  /** Pyramid level (W/4 × H/4) of both frames, its integral image (JS path), priors and offsets. */
  private readonly qNow: Uint8Array;
  private readonly qPrev: Uint8Array;
  private readonly qZero: Int32Array;
  private readonly qOff: Int32Array;
  private readonly prior: Int32Array;
  /** Integral images for the JavaScript search (full level, pyramid level). */
  private ii?: Int32Array;
  private qii?: Int32Array;
  /** Per block: its distinct candidate offsets (own first) and how many. */
  private readonly candY: Int32Array;
  private readonly candX: Int32Array;
  private readonly candN: Uint8Array;
  /** Per pixel: |luma now − luma before| at its chosen offset. */
  private readonly diff: Uint8Array;
  private readonly rowSum: Uint16Array;
  private readonly colSum: Uint16Array;
  /** Per block: the memory's minimum and maximum over it; per block: 1 if the read cannot depend on the choice. */
  private readonly blockMin: Uint8Array;
  private readonly blockMax: Uint8Array;
  private readonly uniform: Uint8Array;

  /** @param accelerate search blocks in WebAssembly SIMD where possible (false: JavaScript; tests compare the two). */
  constructor(readonly opts: PixelMatchOptions, accelerate = true) {
    const { width: W, height: H, block: s, searchRadius, patchRadius, coarseRadius } = opts;
    for (const [k, v] of Object.entries(opts)) if (k !== 'propagate' && (!Number.isInteger(v) || v < 0)) throw new PixelMatchConfigError(`pixel match ${k} must be an integer ≥ 0, got ${v}`);
    if ((s !== 4 && s !== 8) || W % 16 || H % 16 || W < 16 || H < 16) throw new PixelMatchConfigError(`pixel match needs a block of 4 or 8 px (got ${s}) and a mask of multiples of 16 px (got ${W}×${H})`);
    if (searchRadius > 16 || patchRadius > 4 || coarseRadius > 16) throw new PixelMatchConfigError(`pixel match radii out of range (search ≤ 16, patch ≤ 4, coarse ≤ 16 px): ${searchRadius}, ${patchRadius}, ${coarseRadius}`);
    this.wasm = accelerate ? WasmBlockSearch.create(W, H) : undefined;
    this.cellsX = W / s;
    this.cellsY = H / s;
    const cells = this.cellsX * this.cellsY;
    const n = W * H;
    this.out = { read: new Uint8Array(n), cost: this.wasm ? this.wasm.cost : new Float32Array(n), offsets: new Int32Array(cells * 2), source: new Int32Array(n) };
    this.qNow = new Uint8Array(n >> 4);
    this.qPrev = new Uint8Array(n >> 4);
    const qBlocks = (W >> 4) * (H >> 4);
    this.qZero = new Int32Array(qBlocks * 2);
    this.qOff = new Int32Array(qBlocks * 2);
    this.prior = new Int32Array(cells * 2);
    this.candY = new Int32Array(cells * 9);
    this.candX = new Int32Array(cells * 9);
    this.candN = new Uint8Array(cells);
    this.diff = this.wasm ? this.wasm.diff : new Uint8Array(n);
    this.rowSum = new Uint16Array(n);
    this.colSum = new Uint16Array(W);
    this.blockMin = new Uint8Array(cells);
    this.blockMax = new Uint8Array(cells);
    this.uniform = new Uint8Array(cells);
  }

  /** Whether the block search runs in WebAssembly SIMD (else JavaScript). */
  get accelerated(): boolean {
    return this.wasm !== undefined;
  }

  run(inp: PixelMatchInputs): PixelMatchOutputs {
    const { width: W, height: H, block: s, searchRadius } = this.opts;
    const n = W * H;
    if (inp.lumaNow.length !== n || inp.lumaPrev.length !== n || inp.memory.length !== n) throw new RangeError(`pixel match inputs must be ${W}×${H} bytes`);
    const cells = this.cellsX * this.cellsY;
    if (inp.prior && inp.prior.length !== cells * 2) throw new RangeError(`pixel match prior must hold ${cells} × 2 offsets`);
    const prior = this.prior;
    if (inp.prior) {
      for (let i = 0; i < prior.length; i++) prior[i] = Math.round(inp.prior[i]!);
    } else {
      this.pyramid(inp.lumaNow, inp.lumaPrev);
      // Each block starts from the pyramid block under its centre, × 4 to mask px.
      const bw = W >> 4;
      const bh = H >> 4;
      for (let cy = 0; cy < this.cellsY; cy++) {
        const qy = Math.min(bh - 1, Math.floor(((cy + 0.5) * s) / 16));
        for (let cx = 0; cx < this.cellsX; cx++) {
          const qx = Math.min(bw - 1, Math.floor(((cx + 0.5) * s) / 16));
          const c = cy * this.cellsX + cx;
          prior[2 * c] = 4 * this.qOff[(qy * bw + qx) * 2]!;
          prior[2 * c + 1] = 4 * this.qOff[(qy * bw + qx) * 2 + 1]!;
        }
      }
    }
    this.search(inp.lumaNow, inp.lumaPrev, W, H, s, searchRadius, prior, this.out.offsets, false);
    if (this.opts.propagate ?? true) this.propagate(inp.lumaNow, inp.lumaPrev);
    this.pixels(inp);
    return this.out;
  }

  /** Block search on new planes (`fresh`) or on the planes of the previous call. */
  private search(now: Uint8Array, prev: Uint8Array, W: number, H: number, bs: number, R: number, prior: Int32Array, out: Int32Array, coarse: boolean, fresh = true, costs?: Int32Array): void {
    if (this.wasm) {
      if (fresh) this.wasm.setPlanes(now, prev, W, H);
      return this.wasm.search(W, H, bs, R, prior, out, costs);
    }
    const ii = coarse ? (this.qii ??= new Int32Array((W + 1) * (H + 1))) : (this.ii ??= new Int32Array((W + 1) * (H + 1)));
    if (fresh) integral(prev, W, H, ii);
    searchBlocksJs(now, prev, ii, W, H, bs, R, prior, out, costs);
  }

  /**
   * One pass of propagation (as in PatchMatch): every block also tries the offsets its 8
   * neighbours found and keeps whichever has the least zero-mean SAD (its own first, then the
   * neighbours in raster order; ties keep the earlier). Fixes blocks whose pyramid guess was
   * off by more than the search radius, from the neighbours that were not. Reads the offsets
   * from before the pass, so the result does not depend on the order blocks are visited.
   */
  private propagate(now: Uint8Array, prev: Uint8Array): void {
    const { width: W, height: H, block: s } = this.opts;
    const { cellsX: cw, cellsY: ch } = this;
    const off = this.out.offsets;
    const cand = (this.propCand ??= new Int32Array(off.length));
    const got = (this.propGot ??= new Int32Array(off.length));
    const cost = (this.propCost ??= new Int32Array(cw * ch));
    const best = (this.propBest ??= new Int32Array(cw * ch));
    const from = (this.propFrom ??= new Int32Array(off.length));
    from.set(off);
    // The own offset's cost without the distance penalty (radius 0 around itself).
    this.search(now, prev, W, H, s, 0, from, got, false, false, best);
    for (let ny = -1; ny <= 1; ny++) {
      for (let nx = -1; nx <= 1; nx++) {
        if (!ny && !nx) continue;
        for (let cy = 0; cy < ch; cy++) {
          for (let cx = 0; cx < cw; cx++) {
            const c = cy * cw + cx;
            const n = clampIdx(cy + ny, ch) * cw + clampIdx(cx + nx, cw);
            cand[2 * c] = from[2 * n]!;
            cand[2 * c + 1] = from[2 * n + 1]!;
          }
        }
        this.search(now, prev, W, H, s, 0, cand, got, false, false, cost);
        for (let c = 0; c < cw * ch; c++) {
          if (cost[c]! < best[c]!) {
            best[c] = cost[c]!;
            off[2 * c] = got[2 * c]!;
            off[2 * c + 1] = got[2 * c + 1]!;
          }
        }
      }
    }
  }
  private propCand?: Int32Array;
  private propGot?: Int32Array;
  private propCost?: Int32Array;
  private propBest?: Int32Array;
  private propFrom?: Int32Array;

  /**
   * Per block, 1 if the memory is uniform — every value ≤ 2 or every value ≥ 253 — over the
   * blocks covering the bounding box of the block shifted by each of its candidates (clamped to
   * the image): a superset of what any candidate reads, so a uniform block's read cannot depend
   * on the choice. From per-block minima and maxima (one pass over the memory).
   */
  private uniformBlocks(m: Uint8Array): Uint8Array {
    const { width: W, height: H, block: s } = this.opts;
    const { cellsX: cw, cellsY: ch, candY, candX, candN, blockMin: mn, blockMax: mx } = this;
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        let lo = 255;
        let hi = 0;
        for (let y = cy * s; y < cy * s + s; y++) {
          for (let i = y * W + cx * s, end = i + s; i < end; i++) {
            const v = m[i]!;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
        }
        mn[cy * cw + cx] = lo;
        mx[cy * cw + cx] = hi;
      }
    }
    const out = this.uniform;
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        const c = cy * cw + cx;
        let y0 = 0, y1 = 0, x0 = 0, x1 = 0;
        for (let j = 0; j < candN[c]!; j++) {
          const ey = candY[c * 9 + j]!;
          const ex = candX[c * 9 + j]!;
          if (j === 0 || ey < y0) y0 = ey;
          if (j === 0 || ey > y1) y1 = ey;
          if (j === 0 || ex < x0) x0 = ex;
          if (j === 0 || ex > x1) x1 = ex;
        }
        const by0 = Math.floor(clampIdx(cy * s + y0, H) / s);
        const by1 = Math.floor(clampIdx(cy * s + s - 1 + y1, H) / s);
        const bx0 = Math.floor(clampIdx(cx * s + x0, W) / s);
        const bx1 = Math.floor(clampIdx(cx * s + s - 1 + x1, W) / s);
        let lo = 255;
        let hi = 0;
        for (let by = by0; by <= by1; by++) {
          for (let bx = bx0; bx <= bx1; bx++) {
            const v = by * cw + bx;
            if (mn[v]! < lo) lo = mn[v]!;
            if (mx[v]! > hi) hi = mx[v]!;
          }
        }
        out[c] = hi <= 2 || lo >= 253 ? 1 : 0;
      }
    }
    return out;
  }

  private pyramid(now: Uint8Array, prev: Uint8Array): void {
    const { width: W, height: H, coarseRadius } = this.opts;
    quarter(now, W, H, this.qNow);
    quarter(prev, W, H, this.qPrev);
    this.search(this.qNow, this.qPrev, W >> 2, H >> 2, 4, coarseRadius, this.qZero, this.qOff, true);
  }

  private pixels(inp: PixelMatchInputs): void {
    const { width: W, height: H, block: s, patchRadius: q } = this.opts;
    const { cellsX: cw, cellsY: ch, candY, candX, candN, diff, rowSum } = this;
    const { read, cost, offsets: off, source } = this.out;
    const { lumaNow: a, lumaPrev: b, memory: m } = inp;
    const wasm = this.wasm;
    // Each block's distinct candidates: its own offset first, then its neighbours'.
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        const c = cy * cw + cx;
        const o = c * 9;
        candY[o] = off[2 * c]!;
        candX[o] = off[2 * c + 1]!;
        let k = 1;
        for (let ny = Math.max(0, cy - 1); ny <= Math.min(ch - 1, cy + 1); ny++) {
          for (let nx = Math.max(0, cx - 1); nx <= Math.min(cw - 1, cx + 1); nx++) {
            const ey = off[2 * (ny * cw + nx)]!;
            const ex = off[2 * (ny * cw + nx) + 1]!;
            let seen = false;
            for (let j = 0; j < k && !seen; j++) seen = candY[o + j] === ey && candX[o + j] === ex;
            if (seen) continue;
            candY[o + k] = ey;
            candX[o + k] = ex;
            k++;
          }
        }
        candN[c] = k;
      }
    }
    // Where the memory is uniform (all background or all person) over every place the block's
    // candidates could read, the choice cannot change the read: those blocks keep their own offset.
    const uniform = this.uniformBlocks(m);
    // The offset of each pixel, its difference, and the read.
    for (let cy = 0; cy < ch; cy++) {
      for (let cx = 0; cx < cw; cx++) {
        const c = cy * cw + cx;
        const o = c * 9;
        const k = candN[c]!;
        const oy = candY[o]!;
        const ox = candX[o]!;
        const x0 = cx * s;
        const y0 = cy * s;
        if (k === 1 || uniform[c]) {
          copyBlock(a, b, m, W, H, x0, y0, s, oy, ox, diff, read, source);
          continue;
        }
        let tiled = 0;
        // Pixels whose candidates all read the same memory value keep the block's own offset;
        // the others take the candidate whose (2q+1)² patch of luma differences is smallest.
        for (let py = 0; py < s; py++) {
          const y = y0 + py;
          for (let px = 0; px < s; px++) {
            const x = x0 + px;
            let dy = oy;
            let dx = ox;
            const v0 = m[clampIdx(y + dy, H) * W + clampIdx(x + dx, W)]!;
            let differ = false;
            for (let j = 1; j < k && !differ; j++) differ = m[clampIdx(y + candY[o + j]!, H) * W + clampIdx(x + candX[o + j]!, W)] !== v0;
            if (differ) {
              if (!tiled) {
                // Once per block: every candidate's patch SADs in WebAssembly when all patches lie inside.
                tiled = 1;
                if (wasm && s <= 8 && q <= 4 && inside(y0, x0, s, q, W, H, candY, candX, o, k)) {
                  for (let j = 0; j < k; j++) wasm.tileSads(W, x0, y0, s, q, candY[o + j]!, candX[o + j]!, j);
                  tiled = 2;
                }
              }
              const sv = wasm?.sadView;
              const at = py * 8 + px;
              let best = tiled === 2 ? sv![at]! : patchSad(a, b, W, H, y, x, oy, ox, q);
              for (let j = 1; j < k; j++) {
                const ey = candY[o + j]!;
                const ex = candX[o + j]!;
                const c2 = tiled === 2 ? sv![j * 64 + at]! : patchSad(a, b, W, H, y, x, ey, ex, q);
                if (c2 < best) {
                  best = c2;
                  dy = ey;
                  dx = ex;
                }
              }
            }
            const i = y * W + x;
            const src = clampIdx(y + dy, H) * W + clampIdx(x + dx, W);
            const d = a[i]! - b[src]!;
            diff[i] = d < 0 ? -d : d;
            read[i] = m[src]!;
            source[i] = src;
          }
        }
      }
    }
    // cost = box mean of diff over the (2q+1)² patch, clamped to the image (rows, then columns).
    if (wasm) wasm.boxMean(q);
    else boxMean(diff, W, H, q, rowSum, this.colSum, cost);
  }
}

/** One block at one offset: the difference of every pixel and the memory read there. */
function copyBlock(a: Uint8Array, b: Uint8Array, m: Uint8Array, W: number, H: number, x0: number, y0: number, s: number, oy: number, ox: number, diff: Uint8Array, read: Uint8Array, source: Int32Array): void {
  if (y0 + oy >= 0 && y0 + oy + s <= H && x0 + ox >= 0 && x0 + ox + s <= W) {
    const shift = oy * W + ox;
    for (let y = y0; y < y0 + s; y++) {
      const row = y * W;
      for (let i = row + x0, end = row + x0 + s; i < end; i++) {
        const src = i + shift;
        const d = a[i]! - b[src]!;
        diff[i] = d < 0 ? -d : d;
        read[i] = m[src]!;
        source[i] = src;
      }
    }
    return;
  }
  for (let y = y0; y < y0 + s; y++) {
    const sy = clampIdx(y + oy, H) * W;
    for (let x = x0; x < x0 + s; x++) {
      const i = y * W + x;
      const src = sy + clampIdx(x + ox, W);
      const d = a[i]! - b[src]!;
      diff[i] = d < 0 ? -d : d;
      read[i] = m[src]!;
      source[i] = src;
    }
  }
}

/** Whether the (2q+1)-margined s × s block at (x0, y0) lies inside the image, both as it is and shifted by each of the k candidates at o. */
function inside(y0: number, x0: number, s: number, q: number, W: number, H: number, cy: Int32Array, cx: Int32Array, o: number, k: number): boolean {
  if (y0 - q < 0 || y0 + s + q > H || x0 - q < 0 || x0 + s + q > W) return false;
  for (let j = 0; j < k; j++) {
    const ey = cy[o + j]!;
    const ex = cx[o + j]!;
    if (y0 - q + ey < 0 || y0 + s + q + ey > H || x0 - q + ex < 0 || x0 + s + q + ex > W) return false;
  }
  return true;
}
