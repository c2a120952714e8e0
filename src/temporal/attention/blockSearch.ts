/**
 * Steps 1–2 of the pixel-level read (pixelMatch.ts): the integral image and the block search,
 * in JavaScript (searchBlocksJs) and in WebAssembly SIMD (WasmBlockSearch, blockMatch.wat), with
 * the same integer arithmetic and tie rule (tested against each other). Pure.
 */
import { BLOCK_MATCH_WASM_BASE64 } from './blockMatchWasm.js';

/** Integral image of a W × H byte image into `ii` ((W + 1) × (H + 1), ii[y(W+1) + x] = sum above and left of (x, y)). */
export function integral(img: Uint8Array, W: number, H: number, ii: Int32Array): Int32Array {
  const W1 = W + 1;
  ii.fill(0, 0, W1);
  for (let y = 0; y < H; y++) {
    let row = 0;
    const o = (y + 1) * W1;
    ii[o] = 0;
    for (let x = 0; x < W; x++) {
      row += img[y * W + x]!;
      ii[o + x + 1] = ii[o - W1 + x + 1]! + row;
    }
  }
  return ii;
}

/** The block search of blockMatch.wat's `search`, in JavaScript, with the same integer arithmetic and tie rule. */
export function searchBlocksJs(now: Uint8Array, prev: Uint8Array, ii: Int32Array, W: number, H: number, bs: number, R: number, prior: Int32Array, out: Int32Array, costs?: Int32Array): void {
  const W1 = W + 1;
  const area = bs * bs;
  const bw = (W / bs) | 0;
  const bh = (H / bs) | 0;
  for (let by = 0; by < bh; by++) {
    const y0 = by * bs;
    for (let bx = 0; bx < bw; bx++) {
      const x0 = bx * bs;
      let sa = 0;
      for (let r = 0; r < bs; r++) for (let x = 0; x < bs; x++) sa += now[(y0 + r) * W + x0 + x]!;
      const b = by * bw + bx;
      const py = Math.max(-y0, Math.min(H - bs - y0, prior[2 * b]!));
      const px = Math.max(-x0, Math.min(W - bs - x0, prior[2 * b + 1]!));
      const dyLo = Math.max(py - R, -y0);
      const dyHi = Math.min(py + R, H - bs - y0);
      const dxLo = Math.max(px - R, -x0);
      const dxHi = Math.min(px + R, W - bs - x0);
      let best = 0x7fffffff;
      let bdy = py;
      let bdx = px;
      for (let dy = dyLo; dy <= dyHi; dy++) {
        for (let dx = dxLo; dx <= dxHi; dx++) {
          const t = (y0 + dy) * W1 + x0 + dx;
          const sb = ii[t + bs * W1 + bs]! - ii[t + bs * W1]! + ii[t]! - ii[t + bs]!;
          const shift = Math.floor((sa - sb + (area >> 1)) / area);
          let sad = 0;
          for (let r = 0; r < bs; r++) {
            const ra = (y0 + r) * W + x0;
            const rb = (y0 + r + dy) * W + x0 + dx;
            for (let x = 0; x < bs; x++) {
              const d = now[ra + x]! - prev[rb + x]! - shift;
              sad += d < 0 ? -d : d;
            }
          }
          const cost = 100 * sad + area * (Math.abs(dy - py) + Math.abs(dx - px));
          if (cost < best) {
            best = cost;
            bdy = dy;
            bdx = dx;
          }
        }
      }
      out[2 * b] = bdy;
      out[2 * b + 1] = bdx;
      if (costs) costs[b] = best;
    }
  }
}

interface BlockMatchExports {
  readonly memory: WebAssembly.Memory;
  integral(img: number, W: number, H: number, ii: number): void;
  search(now: number, prev: number, ii: number, W: number, H: number, bs: number, R: number, prior: number, out: number, costs: number): void;
  tileSads(now: number, prev: number, W: number, x0: number, y0: number, s: number, q: number, ey: number, ex: number, tmp: number, out: number): void;
  boxMean(src: number, W: number, H: number, q: number, rows: number, cols: number, out: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled block-matching module, or null where WebAssembly SIMD is not available. */
function blockMatchModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(Buffer.from(BLOCK_MATCH_WASM_BASE64, 'base64'));
  } catch {
    compiled = null;
  }
  return compiled;
}

const align16 = (v: number): number => Math.ceil(v / 16) * 16;

/**
 * blockMatch.wat with its own memory, laid out once for images of up to W × H px: the two luma
 * planes, their integral image, priors and offsets, the difference plane, the cost plane and
 * scratch. One per matcher, not shared between threads. The views it hands out stay valid for
 * its lifetime (the memory never grows after construction).
 */
export class WasmBlockSearch {
  private readonly now: number;
  private readonly prev: number;
  private readonly ii: number;
  private readonly prior: number;
  private readonly out: number;
  private readonly costs: number;
  /** Width of the planes whose integral image is current (0 = none: setPlanes() since). */
  private iiWidth = 0;
  private readonly tmp: number;
  private readonly sads: number;
  private readonly rows: number;
  private readonly cols: number;
  /** Per-pixel |difference| (written by the caller) and its box mean (written by boxMean). */
  readonly diff: Uint8Array;
  readonly cost: Float32Array;
  /** Patch SADs of up to 9 candidates of one block: candidate j, pixel (py, px) at j·64 + 8·py + px. */
  readonly sadView: Uint16Array;

  private constructor(private readonly ex: BlockMatchExports, readonly W: number, readonly H: number) {
    const n = W * H;
    const blocks = (W >> 2) * (H >> 2); // enough for blocks of ≥ 4 px
    // + 32 after each plane: 16-byte row loads read up to 16 bytes past a row.
    this.now = 0;
    this.prev = align16(n + 32);
    this.ii = this.prev + align16(n + 32);
    this.prior = this.ii + align16((W + 1) * (H + 1) * 4);
    this.out = this.prior + align16(blocks * 8);
    this.costs = this.out + align16(blocks * 8);
    const diff = this.costs + align16(blocks * 4);
    this.rows = diff + align16(n + 32);
    this.cols = this.rows + align16(n * 2);
    const cost = this.cols + align16(W * 2);
    this.tmp = cost + align16(n * 4);
    this.sads = this.tmp + 16 * 16;
    const need = this.sads + 9 * 8 * 16;
    const mem = ex.memory;
    if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
    this.diff = new Uint8Array(mem.buffer, diff, n);
    this.cost = new Float32Array(mem.buffer, cost, n);
    this.sadView = new Uint16Array(mem.buffer, this.sads, 9 * 8 * 8);
  }

  /** For images of up to W × H px (W a multiple of 8), or undefined without WebAssembly SIMD. */
  static create(W: number, H: number): WasmBlockSearch | undefined {
    const m = blockMatchModule();
    return m ? new WasmBlockSearch(new WebAssembly.Instance(m).exports as unknown as BlockMatchExports, W, H) : undefined;
  }

  /** Copies the two planes in (w × h ≤ W × H): the next search() and tileSads() read them. */
  setPlanes(now: Uint8Array, prev: Uint8Array, w: number, h: number): void {
    const n = w * h;
    if (n > this.W * this.H) throw new RangeError(`planes of ${w}×${h} exceed ${this.W}×${this.H}`);
    const buf = this.ex.memory.buffer;
    new Uint8Array(buf, this.now, n).set(now.subarray(0, n));
    new Uint8Array(buf, this.prev, n).set(prev.subarray(0, n));
    this.iiWidth = 0;
  }

  /** searchBlocksJs's contract on the planes of the last setPlanes (w × h). */
  search(w: number, h: number, bs: number, R: number, prior: Int32Array, out: Int32Array, costs?: Int32Array): void {
    const blocks = ((w / bs) | 0) * ((h / bs) | 0);
    const buf = this.ex.memory.buffer;
    new Int32Array(buf, this.prior, blocks * 2).set(prior.subarray(0, blocks * 2));
    if (this.iiWidth !== w) {
      this.ex.integral(this.prev, w, h, this.ii);
      this.iiWidth = w;
    }
    this.ex.search(this.now, this.prev, this.ii, w, h, bs, R, this.prior, this.out, this.costs);
    out.set(new Int32Array(buf, this.out, blocks * 2));
    costs?.set(new Int32Array(buf, this.costs, blocks));
  }

  /** Candidate slot j's patch SADs (see sadView) for the block at (x0, y0); patches must lie inside the W-wide planes. */
  tileSads(w: number, x0: number, y0: number, s: number, q: number, ey: number, ex: number, j: number): void {
    this.ex.tileSads(this.now, this.prev, w, x0, y0, s, q, ey, ex, this.tmp, this.sads + j * 128);
  }

  /** cost = box mean of diff (both W × H of construction). */
  boxMean(q: number): void {
    this.ex.boxMean(this.diff.byteOffset, this.W, this.H, q, this.rows, this.cols, this.cost.byteOffset);
  }
}
