import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/inference/backend.js';
import { FUSION_INPUTS, FusionHead, FusionHeadFormatError, type FusionHeadJson } from '../../../src/temporal/stages/fusionHead.js';
import { fastClampedLogit, fastSigmoid } from '../../../src/shared/fastMath.js';
import { AttentionTemporal } from '../../../src/temporal/stages/attention.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function headJson(rand: () => number, o: { hidden: number; featureChannels: number; correction: number; gatePool?: number; poolStep?: number; version?: 1 | 2 }): FusionHeadJson {
  const n = FUSION_INPUTS.length + o.featureChannels;
  const outs = o.correction > 0 ? 2 : 1;
  const r = (k: number, scale: number) => Array.from({ length: k }, () => (rand() * 2 - 1) * scale);
  const base = { format: 'maskstream-fusion-head' as const, inputs: [...FUSION_INPUTS], hidden: o.hidden, kernel: 1, memoryWeight: 0.75, w1: r(n * o.hidden, 1), b1: r(o.hidden, 0.5), w2: r(o.hidden * outs, 1), b2: r(outs, 0.5) };
  if (o.version === 1) return { ...base, version: 1 };
  return { ...base, version: 2, featureChannels: o.featureChannels, correction: o.correction, gatePool: o.gatePool ?? 8, poolStep: o.poolStep ?? 2 };
}

/** A 32×48 mask on a 4×6 feature grid (stride 8), 5 channels; a moving square with noisy logits. */
const GEO = { maskHeight: 32, maskWidth: 48, featureShape: [4, 6, 5] as [number, number, number] };

function frame(t: number, rand: () => number) {
  const [h, w, c] = GEO.featureShape;
  const H = GEO.maskHeight;
  const W = GEO.maskWidth;
  const logits = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) logits[y * W + x] = (x >= 8 + 2 * t && x < 28 + 2 * t && y >= 6 && y < 26 ? 6 : -6) + (rand() * 2 - 1) * 7;
  const feats = Float32Array.from({ length: h * w * c }, () => rand() * 2 - 1);
  const rgb = Uint8Array.from({ length: H * W * 3 }, () => Math.floor(rand() * 256));
  return { logits: tf.tensor3d(logits, [H, W, 1]), features: tf.tensor3d(feats, [h, w, c]), rgb };
}

/** Plays `frames` frames through two stages fed the same inputs and committed the same masks; returns the largest |Δp|. */
function compare(head: () => FusionHead, frames: number, seed: number): number {
  const params = { radius: 2, topK: 4, temperature: 0.1 };
  const mk = (tensorFusion: boolean) => new AttentionTemporal(GEO, { params, ringSize: 3, memoryWeight: 0.75, implementation: 'fused', head: head(), tensorFusion }, 'wasm');
  const a = mk(false);
  const b = mk(true);
  const sa = a.openSession();
  const sb = b.openSession();
  const rand = rng(seed);
  let worst = 0;
  for (let t = 0; t < frames; t++) {
    const f = frame(t, rand);
    const pa = a.process(sa, f);
    const pb = b.process(sb, f);
    const va = pa.dataSync();
    const vb = pb.dataSync();
    for (let i = 0; i < va.length; i++) worst = Math.max(worst, Math.abs(va[i]! - vb[i]!));
    const mask = Uint8Array.from(vb, (v) => Math.round(v * 255));
    a.commit(sa, mask);
    b.commit(sb, mask);
    tf.dispose([pa, pb, f.logits, f.features]);
  }
  sa.dispose();
  sb.dispose();
  a.dispose();
  b.dispose();
  return worst;
}

describe('temporal/fusionHead learned fusion', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('the array path (CPU backends) computes what the tensor path computes, frame after frame', () => {
    const base = tf.memory().numTensors;
    const cases = [
      { hidden: 16, featureChannels: 0, correction: 0 }, // the shipped shape: gate grid = feature grid, cues pooled over every 2nd pixel
      { hidden: 8, featureChannels: 5, correction: 3 }, // features as inputs and a correction output
      { hidden: 8, featureChannels: 0, correction: 0, gatePool: 4, poolStep: 1 },
      { hidden: 8, featureChannels: 0, correction: 0, version: 1 as const }, // a v1 file: pool 4, every pixel
    ];
    cases.forEach((c, i) => {
      const json = headJson(rng(100 + i), c);
      const worst = compare(() => FusionHead.fromJson(json), 6, 7 + i);
      // Tables for σ and log in the array path; far below one 8-bit mask step (0.0039).
      expect(worst, JSON.stringify(c)).to.be.lessThan(2e-3);
    });
    expect(tf.memory().numTensors).to.equal(base);
  });

  it('the gate matters: a different head gives a different mask on the array path', () => {
    const run = (seed: number) => {
      const stage = new AttentionTemporal(GEO, { params: { radius: 2, topK: 4, temperature: 0.1 }, ringSize: 2, memoryWeight: 0.75, implementation: 'fused', head: FusionHead.fromJson(headJson(rng(seed), { hidden: 8, featureChannels: 0, correction: 0 })) }, 'wasm');
      const s = stage.openSession();
      const rand = rng(5);
      let last: Float32Array = new Float32Array(0);
      for (let t = 0; t < 3; t++) {
        const f = frame(t, rand);
        const p = stage.process(s, f);
        last = p.dataSync() as Float32Array;
        stage.commit(s, Uint8Array.from(last, (v) => Math.round(v * 255)));
        tf.dispose([p, f.logits, f.features]);
      }
      s.dispose();
      stage.dispose();
      return last;
    };
    const a = run(1);
    const b = run(2);
    expect(a.some((v, i) => Math.abs(v - b[i]!) > 0.01)).to.equal(true);
  });

  it('fast σ and clamped logit stay within their stated errors', () => {
    let es = 0;
    for (let z = -20; z <= 20; z += 0.0137) es = Math.max(es, Math.abs(fastSigmoid(z) - 1 / (1 + Math.exp(-z))));
    expect(es).to.be.lessThan(1e-6);
    let el = 0;
    for (let p = 1e-4; p <= 1 - 1e-4; p += 1.7e-5) el = Math.max(el, Math.abs(fastClampedLogit(p) - Math.max(-8, Math.min(8, Math.log(p / (1 - p))))));
    expect(el).to.be.lessThan(1e-3);
    expect(fastClampedLogit(0)).to.equal(-8);
    expect(fastClampedLogit(1)).to.equal(8);
    expect(fastSigmoid(-100)).to.equal(0);
    expect(fastSigmoid(100)).to.equal(1);
  });

  it('rejects malformed files with the reason', () => {
    const good = headJson(rng(3), { hidden: 4, featureChannels: 0, correction: 0 });
    expect(() => FusionHead.fromJson({ ...good, gatePool: 8, poolStep: 3 })).to.throw(FusionHeadFormatError, /poolStep/);
    expect(() => FusionHead.fromJson({ ...good, correction: 2 })).to.throw(FusionHeadFormatError, /w2 must be 8 finite numbers/);
    expect(() => FusionHead.fromJson({ ...good, w1: good.w1.slice(1) })).to.throw(FusionHeadFormatError, /w1/);
    expect(() => FusionHead.fromJson({ ...good, version: 3 as 2 })).to.throw(FusionHeadFormatError, /v1\/v2/);
    expect(() => FusionHead.fromJson({ ...good, inputs: ['logit'] })).to.throw(FusionHeadFormatError, /inputs/);
    const h = FusionHead.fromJson(good);
    expect(h.gatePool).to.equal(8);
    h.dispose();
    h.dispose(); // idempotent
  });
});
