import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/inference/backend.js';
import { FusedAttention } from '../../../src/temporal/attention/fusedKernel.js';
import { TensorAttention } from '../../../src/temporal/attention/tensorAttention.js';
import { AttentionConfigError, type AttentionGeometry, type AttentionParams } from '../../../src/temporal/attention/types.js';

function unitRows(data: number[], c: number): Float32Array {
  const a = Float32Array.from(data);
  for (let p = 0; p < a.length / c; p++) {
    let s = 0;
    for (let i = 0; i < c; i++) s += a[p * c + i]! ** 2;
    s = Math.sqrt(s) || 1;
    for (let i = 0; i < c; i++) a[p * c + i]! /= s;
  }
  return a;
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Both implementations on the same inputs, as plain arrays. */
function runBoth(params: AttentionParams, g: AttentionGeometry, query: Float32Array, keys: Float32Array, values: Float32Array, frames: number) {
  const fused = new FusedAttention(params, g).run({ query, keys, values, frames });
  const ta = new TensorAttention(params, g);
  const H = g.h * g.stride;
  const W = g.w * g.stride;
  const out = ta.run(tf.tensor3d(query, [g.h, g.w, g.c]), tf.tensor4d(keys, [frames, g.h, g.w, g.c]), tf.tensor3d(values, [frames, H, W]));
  const tensor = { read: out.read.dataSync() as Float32Array, confidence: out.confidence.dataSync() as Float32Array, motion: out.motion.dataSync() as Float32Array };
  tf.dispose([out.read, out.confidence, out.motion]);
  ta.dispose();
  return { fused: { read: fused.read.slice(), confidence: fused.confidence.slice(), motion: fused.motion.slice() }, tensor };
}

describe('temporal/attention local attention read', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('matches a hand-computed reference (1×3 grid, 2 memory frames, radius 1, top-2)', () => {
    // Grid h=1, w=3, c=2, stride 1 (one mask pixel per cell). Unit vectors by angle:
    // query cell 1 points at 0°. Memory frame 0 keys: [90°, 0°, 180°]; frame 1: [0°, 45°, 90°].
    const deg = (d: number) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)];
    const query = Float32Array.from([...deg(90), ...deg(0), ...deg(180)]);
    const keys = Float32Array.from([...deg(90), ...deg(0), ...deg(180), ...deg(0), ...deg(45), ...deg(90)]);
    const values = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    const params = { radius: 1, topK: 2, temperature: 0.5 };
    const g = { h: 1, w: 3, c: 2, stride: 1 };
    const { fused, tensor } = runBoth(params, g, query, keys, values, 2);
    // Cell 1 (query 0°): candidates (frame, cell, cos): (0,0,0) (0,1,1) (0,2,−1) (1,0,1) (1,1,0.7071) (1,2,0).
    // Top-2: (0,1) and (1,0), both cos 1 → equal weights 0.5: frame 0 mass ½ at offset 0, frame 1
    // mass ½ at offset −1 → read = ½·V0(1) + ½·V1(0) = (0.2 + 0.4) / 2 = 0.3.
    // Motion: |δ| = 0 and 1 → 0.5. Confidence 1.
    // Cell 0 (query 90°), window cells 0..1: (0,0,1) (0,1,0) (1,0,0) (1,1,0.7071).
    // Top-2: (0,0) cos 1 and (1,1) cos 0.7071; weights ∝ exp(0), exp((0.7071−1)/0.5) = 0.5567
    // → w = 0.6424, 0.3576; read = 0.6424·0.1 + 0.3576·0.5 = 0.2430; motion = 0.3576·1.
    // Cell 2 (query 180°), window cells 1..2: (0,1,−1) (0,2,1) (1,1,−0.7071) (1,2,0).
    // Top-2: (0,2) cos 1, (1,2) cos 0 → w ∝ 1, exp(−2) → 0.8808, 0.1192;
    // read = 0.8808·0.3 + 0.1192·0.6 = 0.3358; motion 0.
    for (const r of [fused, tensor]) {
      expect([...r.read].map((v) => +v.toFixed(4))).to.deep.equal([0.243, 0.3, 0.3358]);
      expect([...r.confidence].map((v) => +v.toFixed(4))).to.deep.equal([1, 1, 1]);
      expect([...r.motion].map((v) => +v.toFixed(4))).to.deep.equal([0.3576, 0.5, 0]);
    }
  });

  it('copies whole blocks: a shifted memory frame is read back aligned (stride 4, motion of one cell)', () => {
    // 3×4 grid, distinct random unit keys; the current frame is memory frame 0 moved one cell right.
    const g = { h: 3, w: 4, c: 6, stride: 4 };
    const rand = seeded(3);
    const mem = unitRows(Array.from({ length: 12 * 6 }, () => rand() - 0.5), 6);
    const query = new Float32Array(12 * 6);
    for (let y = 0; y < 3; y++) for (let x = 1; x < 4; x++) query.set(mem.subarray((y * 4 + x - 1) * 6, (y * 4 + x) * 6), (y * 4 + x) * 6);
    for (let y = 0; y < 3; y++) query.set(mem.subarray(y * 4 * 6, (y * 4 + 1) * 6), y * 4 * 6); // column 0: unchanged content
    const values = Float32Array.from({ length: 12 * 16 }, (_, i) => (i % 7) / 7);
    const { fused, tensor } = runBoth({ radius: 1, topK: 1, temperature: 0.1 }, g, query, mem, values, 1);
    for (const r of [fused, tensor]) {
      // Cell (1, 2) must hold memory block (1, 1), pixel for pixel.
      for (let by = 0; by < 4; by++) {
        for (let bx = 0; bx < 4; bx++) {
          expect(r.read[(4 + by) * 16 + 8 + bx]).to.be.closeTo(values[(4 + by) * 16 + 4 + bx]!, 1e-6);
        }
      }
      expect(r.motion[1 * 4 + 2]).to.be.closeTo(1, 1e-6);
    }
  });

  it('never uses candidates outside the grid (window edges) and agrees between implementations on random data', () => {
    const rand = seeded(11);
    for (const [h, w, c, s, n, R, k] of [[5, 7, 8, 2, 3, 2, 4], [4, 4, 3, 3, 1, 3, 60], [6, 9, 4, 2, 4, 1, 5]] as const) {
      const g = { h, w, c, stride: s };
      const query = unitRows(Array.from({ length: h * w * c }, () => rand() - 0.5), c);
      const keys = unitRows(Array.from({ length: n * h * w * c }, () => rand() - 0.5), c);
      const values = Float32Array.from({ length: n * h * s * w * s }, () => rand());
      const { fused, tensor } = runBoth({ radius: R, topK: k, temperature: 0.2 }, g, query, keys, values, n);
      for (let i = 0; i < fused.read.length; i++) expect(tensor.read[i]).to.be.closeTo(fused.read[i]!, 1e-4);
      for (let i = 0; i < fused.confidence.length; i++) expect(tensor.confidence[i]).to.be.closeTo(fused.confidence[i]!, 1e-5);
      for (let i = 0; i < fused.motion.length; i++) expect(tensor.motion[i]).to.be.closeTo(fused.motion[i]!, 1e-4);
      // Reads are convex combinations of memory values: within [0, 1].
      for (const v of fused.read) expect(v).to.be.within(-1e-6, 1 + 1e-6);
    }
  });

  it('top-k larger than the candidate count uses every candidate (corner of a 2×2 grid, radius 1)', () => {
    const g = { h: 2, w: 2, c: 1, stride: 1 };
    const query = Float32Array.from([1, 1, 1, 1]);
    const keys = Float32Array.from([1, 1, 1, 1]);
    const values = Float32Array.from([0, 0.25, 0.5, 1]);
    const { fused, tensor } = runBoth({ radius: 1, topK: 16, temperature: 1 }, g, query, keys, values, 1);
    // Cell (0,0): its 4 in-grid candidates, equal weights, offsets (0,0) (0,1) (1,0) (1,1) →
    // expected offset (½, ½) cell → ⌊½ + ½⌋ = 1 px each way → V(1, 1) = 1. Motion: (0 + 1 + 1 + √2) / 4.
    for (const r of [fused, tensor]) {
      expect(r.read[0]).to.be.closeTo(1, 1e-6);
      expect(r.motion[0]).to.be.closeTo((2 + Math.SQRT2) / 4, 1e-6);
    }
  });

  it('borrows at pixel precision: two equally good neighbouring matches shift the read by half a cell', () => {
    // 1×3 grid, stride 4 (mask 4×12). Query cell 1 points at 0°; memory cells 1 and 2 also at 0°,
    // cell 0 at 180°. Top-2 = cells 1 and 2 (offsets 0 and +1), weights ½ → expected offset ½ cell
    // = 2 px → pixel x of cell 1 reads memory pixel x + 2.
    const g = { h: 1, w: 3, c: 2, stride: 4 };
    const query = Float32Array.from([-1, 0, 1, 0, 1, 0]);
    const keys = Float32Array.from([-1, 0, 1, 0, 1, 0]);
    const values = Float32Array.from({ length: 4 * 12 }, (_, i) => (i % 12) / 12);
    const { fused, tensor } = runBoth({ radius: 1, topK: 2, temperature: 0.1 }, g, query, keys, values, 1);
    for (const r of [fused, tensor]) {
      for (let py = 0; py < 4; py++) for (let px = 4; px < 8; px++) expect(r.read[py * 12 + px]).to.be.closeTo((px + 2) / 12, 1e-6);
    }
  });

  it('skips windows with no memory foreground: read, confidence and offset 0 there, computed elsewhere', () => {
    // 1×8 grid, stride 2, radius 1; memory foreground only in cell 1 (values 0.9 there, 0 elsewhere).
    const g = { h: 1, w: 8, c: 2, stride: 2 };
    const query = unitRows(Array.from({ length: 16 }, (_, i) => (i % 2 ? 0.3 : 1)), 2);
    const keys = query.slice();
    const values = new Float32Array(2 * 16);
    for (const y of [0, 1]) values.fill(0.9, y * 16 + 2, y * 16 + 4);
    const { fused, tensor } = runBoth({ radius: 1, topK: 3, temperature: 0.1 }, g, query, keys, values, 1);
    for (const r of [fused, tensor]) {
      // Cells 0..2 see cell 1 in their window: matched (confidence ≈ 1); cells 3..7 do not.
      expect([...r.confidence].map((v) => (v > 0.5 ? 1 : 0))).to.deep.equal([1, 1, 1, 0, 0, 0, 0, 0]);
      for (let x = 6; x < 16; x++) expect(r.read[x]).to.equal(0);
      expect(r.read[2]).to.be.above(0.1);
      expect([...r.motion].slice(3)).to.deep.equal([0, 0, 0, 0, 0]);
    }
  });

  it('leaves no tensors behind and rejects bad parameters', () => {
    const before = tf.memory().numTensors;
    const g = { h: 3, w: 3, c: 2, stride: 2 };
    const ta = new TensorAttention({ radius: 1, topK: 3, temperature: 0.1 }, g);
    const q = tf.ones([3, 3, 2]);
    const k = tf.ones([2, 3, 3, 2]);
    const v = tf.ones([2, 6, 6]);
    for (let i = 0; i < 5; i++) {
      const o = ta.run(q, k, v);
      tf.dispose([o.read, o.confidence, o.motion]);
    }
    ta.dispose();
    tf.dispose([q, k, v]);
    expect(tf.memory().numTensors).to.equal(before);
    expect(() => new FusedAttention({ radius: 9, topK: 3, temperature: 0.1 }, g)).to.throw(AttentionConfigError, /radius/);
    expect(() => new FusedAttention({ radius: 1, topK: 0, temperature: 0.1 }, g)).to.throw(AttentionConfigError, /topK/);
    expect(() => new TensorAttention({ radius: 1, topK: 2, temperature: 0 }, g)).to.throw(AttentionConfigError, /temperature/);
  });
});
