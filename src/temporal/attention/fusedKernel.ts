/**
 * The local attention read (definition in ./types.ts) as one pass over typed arrays: for the
 * CPU backends (wasm, cpu), where the same computation as tensor ops costs ~10× more in
 * per-op overhead, strided slices and element-wise gathers (measured on wasm: a gather of
 * 115 k elements ≈ 5 ms, one strided slice ≈ 0.3 ms). Pure; allocation-free after the first
 * call of a given geometry (scratch buffers are reused).
 */
import { WasmAffinity } from './wasmAffinity.js';
import { EMPTY_VALUE, validateAttention, type AttentionGeometry, type AttentionInputs, type AttentionOutputs, type AttentionParams } from './types.js';

export class FusedAttention {
  /** Top-k affinities (descending) and their packed memory cell index n·P + y·w + x. */
  private readonly topA: Float32Array;
  private readonly topI: Int32Array;
  private readonly w: Float32Array;
  /** Per memory frame: mass, Σ w·δy, Σ w·δx (grown to the frame count on demand). */
  private mass = new Float64Array(0);
  private sumY = new Float64Array(0);
  private sumX = new Float64Array(0);
  /** Per cell: 1 if some memory frame has foreground in the cell's block. */
  private readonly anyFg: Uint8Array;
  /** The current query cell's channels (as doubles: no conversion in the inner loop). */
  private qv = new Float64Array(0);
  /** The JavaScript fallback's affinities of one cell's candidates. */
  private cellAff = new Float32Array(0);
  /** Per query cell: 1 if some memory frame has foreground in its window. */
  private readonly active: Uint8Array;
  private readonly out: AttentionOutputs;

  /** The affinity loop in WebAssembly SIMD, when available and the channels are a multiple of 4. */
  private readonly wasm: WasmAffinity | undefined;

  /** @param accelerate run the affinities in WebAssembly SIMD where possible (false: JavaScript only; tests compare the two). */
  constructor(readonly params: AttentionParams, readonly geometry: AttentionGeometry, accelerate = true) {
    validateAttention(params, geometry);
    this.wasm = accelerate && geometry.c % 4 === 0 ? WasmAffinity.create() : undefined;
    const k = params.topK;
    this.topA = new Float32Array(k);
    this.topI = new Int32Array(k);
    this.w = new Float32Array(k);
    const { h, w, stride: s } = geometry;
    this.out = { read: new Float32Array(h * s * w * s), confidence: new Float32Array(h * w), motion: new Float32Array(h * w) };
    this.active = new Uint8Array(h * w);
    this.anyFg = new Uint8Array(h * w);
  }

  /** Whether the affinities run in WebAssembly SIMD (else JavaScript). */
  get accelerated(): boolean {
    return this.wasm !== undefined;
  }

  /** Marks the query cells whose window holds memory foreground; returns how many. */
  private markActive(values: ArrayLike<number>, N: number, valueScale: number): number {
    const { h, w, stride: s } = this.geometry;
    const R = this.params.radius;
    const W = w * s;
    const HW = h * s * W;
    const any = this.anyFg;
    any.fill(0);
    const limit = EMPTY_VALUE / valueScale; // in the caller's value units
    for (let n = 0; n < N; n++) {
      for (let cy = 0; cy < h; cy++) {
        for (let cx = 0; cx < w; cx++) {
          if (any[cy * w + cx]) continue;
          scan: for (let by = 0; by < s; by++) {
            const row = n * HW + (cy * s + by) * W + cx * s;
            for (let bx = 0; bx < s; bx++) {
              if (values[row + bx]! > limit) {
                any[cy * w + cx] = 1;
                break scan;
              }
            }
          }
        }
      }
    }
    const active = this.active;
    let count = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let a = 0;
        for (let yy = Math.max(0, y - R); yy <= Math.min(h - 1, y + R) && !a; yy++) {
          for (let xx = Math.max(0, x - R); xx <= Math.min(w - 1, x + R); xx++) {
            if (any[yy * w + xx]) {
              a = 1;
              break;
            }
          }
        }
        active[y * w + x] = a;
        count += a;
      }
    }
    return count;
  }

  /**
   * Returns views into buffers owned by this object: valid until the next run().
   * `valueScale` multiplies every value read (1/255 for 8-bit masks).
   */
  run(inp: AttentionInputs, valueScale = 1): AttentionOutputs {
    const { h, w, c, stride: s } = this.geometry;
    const { radius: R, topK, temperature } = this.params;
    const N = inp.frames;
    const P = h * w;
    const H = h * s;
    const W = w * s;
    if (N < 1) throw new RangeError('attention needs at least one memory frame');
    if (inp.query.length !== P * c || inp.keys.length < N * P * c || inp.values.length < N * H * W) {
      throw new RangeError(`attention inputs do not match the geometry ${h}×${w}×${c}, stride ${s}, ${N} frames`);
    }
    const { query: q, keys, values } = inp;
    const { read, confidence, motion } = this.out;
    const { topA, topI, w: wt } = this;
    if (this.mass.length < N) {
      this.mass = new Float64Array(N);
      this.sumY = new Float64Array(N);
      this.sumX = new Float64Array(N);
    }
    const { mass, sumY, sumX } = this;
    if (this.qv.length !== c) this.qv = new Float64Array(c);
    const qv = this.qv;
    const invT = 1 / temperature;
    const HW = H * W;
    this.markActive(values, N, valueScale);
    const active = this.active;
    // Every candidate's affinity at once in WebAssembly, read below in the same order (or
    // computed cell by cell in JavaScript).
    const aff = this.wasm?.run(q, keys, active, h, w, c, N, R);
    read.fill(0); // inactive cells read 0; active cells add into it
    let ai = 0;
    for (let y = 0; y < h; y++) {
      const y0 = Math.max(0, y - R);
      const y1 = Math.min(h - 1, y + R);
      for (let x = 0; x < w; x++) {
        if (!active[y * w + x]) {
          confidence[y * w + x] = 0;
          motion[y * w + x] = 0;
          continue;
        }
        const x0 = Math.max(0, x - R);
        const x1 = Math.min(w - 1, x + R);
        // This cell's candidates, in the definition's order (frame, then offset row, then
        // column): the next `span` WebAssembly affinities, or computed here into cellAff.
        const cols = x1 - x0 + 1;
        const perFrame = (y1 - y0 + 1) * cols;
        const span = N * perFrame;
        let src: Float32Array;
        let start = 0;
        if (aff) {
          src = aff;
          start = ai;
          ai += span;
        } else {
          if (this.cellAff.length < span) this.cellAff = new Float32Array(span);
          src = this.cellAff;
          const qo = (y * w + x) * c;
          for (let i = 0; i < c; i++) qv[i] = q[qo + i]!;
          let t = 0;
          for (let n = 0; n < N; n++) {
            for (let yy = y0; yy <= y1; yy++) {
              for (let xx = x0; xx <= x1; xx++) src[t++] = dot(qv, keys, (n * P + yy * w + xx) * c, c);
            }
          }
        }
        const count = topKOf(src, start, span, topK, topA, topI);
        for (let j = 0; j < count; j++) {
          const k = topI[j]!; // → memory cell n·P + yy·w + xx
          const n = (k / perFrame) | 0;
          const r = k - n * perFrame;
          topI[j] = n * P + (y0 + ((r / cols) | 0)) * w + x0 + (r % cols);
        }
        // Softmax over the kept candidates (max-subtracted for range).
        const m = topA[0]!;
        let z = 0;
        for (let j = 0; j < count; j++) {
          const e = Math.exp((topA[j]! - m) * invT);
          wt[j] = e;
          z += e;
        }
        let mot = 0;
        mass.fill(0, 0, N);
        sumY.fill(0, 0, N);
        sumX.fill(0, 0, N);
        for (let j = 0; j < count; j++) {
          const wj = wt[j]! / z;
          const cell = topI[j]!;
          const n = (cell / P) | 0;
          const rest = cell - n * P;
          const dy = ((rest / w) | 0) - y;
          const dx = (rest % w) - x;
          mot += wj * Math.sqrt(dy * dy + dx * dx);
          mass[n]! += wj;
          sumY[n]! += wj * dy;
          sumX[n]! += wj * dx;
        }
        confidence[y * w + x] = m;
        motion[y * w + x] = mot;
        // Each memory frame's mask, shifted by its expected offset (whole pixels), weighted by
        // mass, added to the (zeroed) read; source pixels clamped to the image, and the clamp
        // skipped for columns when the shifted block lies inside it.
        for (let n = 0; n < N; n++) {
          const mn = mass[n]!;
          if (mn === 0) continue;
          const oy = Math.floor((s * sumY[n]!) / mn + 0.5);
          const ox = Math.floor((s * sumX[n]!) / mn + 0.5);
          const base = n * HW;
          const wv = mn * valueScale;
          const sx0 = x * s + ox;
          const inside = sx0 >= 0 && sx0 + s - 1 <= W - 1;
          for (let by = 0; by < s; by++) {
            const py = y * s + by;
            const sy = Math.min(H - 1, Math.max(0, py + oy));
            const row = py * W + x * s;
            const src = base + sy * W;
            if (inside) {
              for (let bx = 0; bx < s; bx++) read[row + bx]! += wv * values[src + sx0 + bx]!;
            } else {
              for (let bx = 0; bx < s; bx++) read[row + bx]! += wv * values[src + Math.min(W - 1, Math.max(0, sx0 + bx))]!;
            }
          }
        }
      }
    }
    return this.out;
  }
}

/**
 * ⟨qv, keys[ko … ko + c)⟩ with 4 accumulators: ~2× faster in V8 than the plain loop
 * (independent additions pipeline). The JavaScript fallback of the WebAssembly affinities.
 */
function dot(qv: Float64Array, keys: Float32Array, ko: number, c: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const c4 = c & ~3;
  let i = 0;
  for (; i < c4; i += 4) {
    a0 += qv[i]! * keys[ko + i]!;
    a1 += qv[i + 1]! * keys[ko + i + 1]!;
    a2 += qv[i + 2]! * keys[ko + i + 2]!;
    a3 += qv[i + 3]! * keys[ko + i + 3]!;
  }
  for (; i < c; i++) a0 += qv[i]! * keys[ko + i]!;
  return a0 + a1 + (a2 + a3);
}

/**
 * The k largest of a[start … start + len) by insertion, descending, into topA (values) and
 * topI (offsets from start); earlier entries win ties (strict ">"). Returns how many were kept.
 */
function topKOf(a: Float32Array, start: number, len: number, k: number, topA: Float32Array, topI: Int32Array): number {
  let count = 0;
  let cut = -Infinity;
  for (let t = 0; t < len; t++) {
    const v = a[start + t]!;
    if (count === k && !(v > cut)) continue;
    let j = count < k ? count++ : k - 1;
    while (j > 0 && v > topA[j - 1]!) {
      topA[j] = topA[j - 1]!;
      topI[j] = topI[j - 1]!;
      j--;
    }
    topA[j] = v;
    topI[j] = t;
    if (count === k) cut = topA[k - 1]!;
  }
  return count;
}
