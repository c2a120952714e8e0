import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/inference/backend.js';
import type { TemporalMode } from '../../../src/temporal/temporalConfig.js';
import { createTemporalStage } from '../../../src/temporal/factory.js';
import { TemporalConfigError, TemporalStateError, type TemporalStage } from '../../../src/temporal/temporalStage.js';
import { EmaTemporal, PassThroughTemporal } from '../../../src/temporal/stages/simple.js';
import { AttentionState, AttentionTemporal } from '../../../src/temporal/stages/attention.js';
import { FineAttentionTemporal } from '../../../src/temporal/stages/fineAttention.js';

/** 16×16 mask on a 2×2 feature grid (stride 8), 3 channels. */
const GEO = { maskHeight: 16, maskWidth: 16, featureShape: [2, 2, 3] as [number, number, number] };

function frameInputs(logit: number, feature: number[]) {
  return {
    logits: tf.fill([16, 16, 1], logit) as tf.Tensor3D,
    features: tf.tensor3d(Array.from({ length: 4 }, () => feature).flat(), [2, 2, 3]),
    rgb: new Uint8Array(16 * 16 * 3),
  };
}

/** Runs one frame through a stage the way the engine does; returns the mean probability. */
function step(stage: TemporalStage, state: ReturnType<TemporalStage['openSession']>, logit: number, feature = [1, 0, 0]): number {
  const inp = frameInputs(logit, feature);
  const p = stage.process(state, inp);
  const probs = p.dataSync();
  const mask = Uint8Array.from(probs, (v) => Math.round(v * 255));
  stage.commit(state, mask);
  tf.dispose([p, inp.logits, inp.features]);
  return Array.from(probs).reduce((a, b) => a + b, 0) / probs.length;
}

describe('temporal stages', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('none: σ(logits), no memory', () => {
    const stage = createTemporalStage({ mode: 'none', ringSize: 4 }, GEO, 'wasm');
    expect(stage).to.be.instanceOf(PassThroughTemporal);
    const s = stage.openSession();
    expect(s.bytes).to.equal(0);
    expect(step(stage, s, 2)).to.be.closeTo(1 / (1 + Math.exp(-2)), 1e-6);
    expect(step(stage, s, -2)).to.be.closeTo(1 / (1 + Math.exp(2)), 1e-6);
  });

  it('ema: blends the current prediction with the previous mask (α = 0.5)', () => {
    const stage = createTemporalStage({ mode: 'ema', ringSize: 4, emaAlpha: 0.5 }, GEO, 'wasm');
    expect(stage).to.be.instanceOf(EmaTemporal);
    const s = stage.openSession();
    const hi = 1 / (1 + Math.exp(-8));
    expect(step(stage, s, 8)).to.be.closeTo(hi, 1e-6);
    // Next frame says background: 0.5·σ(−8) + 0.5·(mask of frame 1 ≈ 255/255).
    expect(step(stage, s, -8)).to.be.closeTo(0.5 * (1 - hi) + 0.5 * (Math.round(hi * 255) / 255), 1e-6);
  });

  it('attention: the first frame is the current prediction; later frames borrow from matching memory', () => {
    const stage = createTemporalStage({ mode: 'attention', ringSize: 2, radius: 1, topK: 2, temperature: 0.1, memoryWeight: 0.5, implementation: 'fused' }, GEO, 'wasm') as AttentionTemporal;
    expect(stage.implementation).to.equal('fused');
    const s = stage.openSession();
    expect(s.bytes).to.be.greaterThan(2 * 16 * 16); // two 8-bit masks at least
    const first = step(stage, s, 8);
    expect(first).to.be.closeTo(1 / (1 + Math.exp(-8)), 1e-6);
    // Same features, current says background (logit −2): fused logit = −2 + ½·logit(memory ≈ σ(8))
    // = −2 + 4 → foreground, the confident memory outweighs the hesitant current frame.
    const second = step(stage, s, -2);
    const mem = Math.round(first * 255) / 255;
    expect(second).to.be.closeTo(1 / (1 + Math.exp(-(-2 + 0.5 * Math.min(8, Math.log(mem / (1 - mem)))))), 2e-3);
    stage.dispose();
  });

  it('attention: fused kernel and tensor ops give the same masks frame after frame', () => {
    const mk = (implementation: 'fused' | 'tensor') => createTemporalStage({ mode: 'attention', ringSize: 3, radius: 1, topK: 3, temperature: 0.2, memoryWeight: 0.6, implementation }, GEO, 'wasm');
    const a = mk('fused');
    const b = mk('tensor');
    const sa = a.openSession();
    const sb = b.openSession();
    // No two memory frames equally similar to a query (a near-tie is broken by float rounding).
    const feats = [[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0.6, 0, 0.8], [1, 0.9, 0.7]];
    const logits = [4, -1, 3, -6, 0.5];
    for (let i = 0; i < feats.length; i++) expect(step(a, sa, logits[i]!, feats[i])).to.be.closeTo(step(b, sb, logits[i]!, feats[i]), 1e-4);
    a.dispose();
    b.dispose();
  });

  it('leaves no tensors behind over many frames, and refuses a state from another stage', () => {
    const base = tf.memory().numTensors;
    const stage = createTemporalStage({ mode: 'attention', ringSize: 4, implementation: 'tensor' }, GEO, 'wasm');
    const s = stage.openSession();
    for (let i = 0; i < 30; i++) step(stage, s, (i % 5) - 2, [1, i % 3, 0]);
    s.dispose();
    const ema = createTemporalStage({ mode: 'ema', ringSize: 4 }, GEO, 'wasm');
    const inp = frameInputs(1, [1, 0, 0]);
    expect(() => ema.process(stage.openSession(), inp)).to.throw(TemporalStateError);
    tf.dispose([inp.logits, inp.features]);
    stage.dispose();
    expect(tf.memory().numTensors).to.equal(base);
  });

  it('attention: a closed session\'s state is reused empty by the next one, once, and never shared', () => {
    const stage = createTemporalStage({ mode: 'attention', ringSize: 2, radius: 1, topK: 2, temperature: 0.1, memoryWeight: 0.5, implementation: 'fused' }, GEO, 'wasm') as AttentionTemporal;
    const a = stage.openSession() as AttentionState;
    step(stage, a, 8);
    step(stage, a, 8);
    expect(a.ring.size).to.equal(2);
    a.dispose();
    a.dispose(); // idempotent: pooled once
    const b = stage.openSession() as AttentionState;
    const c = stage.openSession() as AttentionState;
    expect(b).to.equal(a); // the same memory, reused
    expect(c).to.not.equal(b); // a double dispose did not hand it out twice
    expect(b.ring.size).to.equal(0);
    // Empty memory: the first frame of the new session is its own prediction, nothing borrowed.
    expect(step(stage, b, -3)).to.be.closeTo(1 / (1 + Math.exp(3)), 1e-6);
    b.dispose();
    c.dispose();
    stage.dispose();
    expect(() => b.ring.reset()).to.throw(); // the stage's close ends its spare rings
  });

  it('validates the configuration', () => {
    expect(() => createTemporalStage({ mode: 'none', ringSize: 0 }, GEO, 'wasm')).to.throw(TemporalConfigError, /ringSize/);
    expect(() => createTemporalStage({ mode: 'bogus' as TemporalMode, ringSize: 2 }, GEO, 'wasm')).to.throw(TemporalConfigError, /unknown temporal mode "bogus"/);
    expect(() => createTemporalStage({ mode: 'ema', ringSize: 2, emaAlpha: 0 }, GEO, 'wasm')).to.throw(TemporalConfigError, /alpha/);
    expect(() => createTemporalStage({ mode: 'attention', ringSize: 2, memoryWeight: 3 }, GEO, 'wasm')).to.throw(TemporalConfigError, /memoryWeight/);
    expect(() => createTemporalStage({ mode: 'attention', ringSize: 2 }, { ...GEO, maskWidth: 15 }, 'wasm')).to.throw(TemporalConfigError, /integer multiple/);
    expect(() => createTemporalStage({ mode: 'attention-learned', ringSize: 2, headPath: '/nonexistent/head.json' }, GEO, 'wasm')).to.throw(TemporalConfigError, /npm run train/);
  });
});

describe('temporal stage attention-fine', () => {
  /** 64×48 mask (the fine read needs multiples of 16 px); features unused. */
  const FG = { maskHeight: 48, maskWidth: 64, featureShape: [6, 8, 3] as [number, number, number] };
  const [W, H] = [64, 48];
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  const logit = (p: number) => Math.log(p / (1 - p));

  /** A random texture of blobs, wide enough to be shifted by `shift` px without wrapping into view. */
  function scene(seed: number): (shiftX: number) => Uint8Array {
    let s = seed >>> 0;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
    const big = 2 * W;
    const blobs = Array.from({ length: 120 }, () => [rand() * big, rand() * H, 3 + rand() * 8, (rand() - 0.5) * 100] as const);
    const noise = Array.from({ length: big * H }, () => (rand() - 0.5) * 30);
    const tex = new Float32Array(big * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < big; x++) {
      let v = 128 + noise[y * big + x]!;
      for (const [cx, cy, r, a] of blobs) v += a * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r));
      tex[y * big + x] = v;
    }
    return (shiftX) => {
      const img = new Uint8Array(W * H);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) img[y * W + x] = Math.max(0, Math.min(255, Math.round(tex[y * big + x + 32 - shiftX]!)));
      return img;
    };
  }

  function run(stage: TemporalStage, state: ReturnType<TemporalStage['openSession']>, logits: Float32Array, luma?: Uint8Array): Float32Array {
    const inp = {
      logits: tf.tensor3d(logits, [H, W, 1]),
      features: tf.zeros([6, 8, 3]) as tf.Tensor3D,
      rgb: new Uint8Array(W * H * 3),
      ...(luma ? { luma } : {}),
    };
    const p = stage.process(state, inp);
    const probs = p.dataSync() as Float32Array;
    stage.commit(state, Uint8Array.from(probs, (v) => Math.round(v * 255)));
    tf.dispose([p, inp.logits, inp.features]);
    return probs;
  }

  before(async () => {
    await selectBackend('wasm');
  });

  it('first frame: the prediction; then, on a picture that matches itself, L + w·logit(memory)', () => {
    const stage = createTemporalStage({ mode: 'attention-fine', ringSize: 1, fineWeight: 0.5, fineHysteresis: 0 }, FG, 'wasm') as FineAttentionTemporal;
    expect(stage.accelerated).to.equal(true);
    const s = stage.openSession();
    expect(s.bytes).to.equal(3 * W * H);
    const pic = scene(1)(0);
    const first = run(stage, s, new Float32Array(W * H).fill(6), pic);
    expect(first[100]).to.be.closeTo(sig(6), 1e-5);
    const second = run(stage, s, new Float32Array(W * H).fill(-2), pic);
    const mem = Math.round(sig(6) * 255) / 255;
    // cost 0 everywhere (same picture): trust 1; −2 + 0.5·logit(mem) ≈ +1 → foreground.
    for (const i of [0, 100, W * H - 1]) expect(second[i]).to.be.closeTo(sig(-2 + 0.5 * logit(mem)), 2e-3);
    stage.dispose();
  });

  it('w < 1: a memory the current frame keeps contradicting fades within frames; w > 1 would keep it for ever', () => {
    const pic = scene(2)(0);
    const frames = (w: number) => {
      const stage = createTemporalStage({ mode: 'attention-fine', ringSize: 1, fineWeight: w }, FG, 'wasm');
      const s = stage.openSession();
      run(stage, s, new Float32Array(W * H).fill(8), pic); // memory: person everywhere
      const out: number[] = [];
      for (let t = 0; t < 8; t++) out.push(run(stage, s, new Float32Array(W * H).fill(-3), pic)[500]!);
      stage.dispose();
      return out;
    };
    const stable = frames(0.9);
    expect(stable[0], 'the confident memory outvotes one hesitant frame').to.be.greaterThan(0.5);
    expect(stable.findIndex((p) => p < 0.5), 'frames until the current frame wins').to.be.within(1, 4);
    expect(stable[7]).to.be.lessThan(0.1);
    expect(Math.min(...frames(1.25)), 'stuck at w = 1.25').to.be.greaterThan(0.5);
  });

  it('hysteresis h: a held label survives a current frame unsure of the opposite (|L| < h), not a surer one; h = 0 lets it fade', () => {
    const pic = scene(6)(0);
    const probe = (h: number, start: number, contrary: number) => {
      const stage = createTemporalStage({ mode: 'attention-fine', ringSize: 1, fineHysteresis: h }, FG, 'wasm');
      const s = stage.openSession();
      run(stage, s, new Float32Array(W * H).fill(start), pic); // memory: person everywhere
      const out: number[] = [];
      for (let t = 0; t < 40; t++) out.push(run(stage, s, new Float32Array(W * H).fill(contrary), pic)[900]!);
      stage.dispose();
      return out;
    };
    // An unsaturated memory (logit 3), w 0.9: the fixed point of z ← L + w·z ± h is (L ± h) / (1 − w).
    // h 0.5, L −0.3: (−0.3 + 0.5) / 0.1 = +2, still "person" after 40 frames.
    const held = probe(0.5, 3, -0.3);
    expect(Math.min(...held)).to.be.greaterThan(0.5);
    expect(held[39]).to.be.closeTo(sig(2), 0.05);
    // Without hysteresis the same hesitant frames win: −0.3 / 0.1 = −3.
    expect(probe(0, 3, -0.3)[39]).to.be.closeTo(sig(-3), 0.05);
    // A frame surer than h (L −1) overturns it: (−1 + 0.5) / 0.1 → −5.
    const released = probe(0.5, 3, -1);
    expect(released.findIndex((p) => p < 0.5)).to.be.within(1, 12);
    expect(released[39]).to.be.closeTo(sig(-5), 0.05);
    // A saturated 8-bit memory (255 → logit 8) stays at 255 while L + 0.9·8 + h ≥ ln 509 ≈ 6.23 (σ rounds
    // to 255): so it takes L < −1.47 at h 0.5 (L < −0.97 at h 0) to start the decay.
    expect(Math.min(...probe(0.5, 8, -1.3))).to.be.greaterThan(0.99);
    expect(probe(0.5, 8, -1.7)[39]).to.be.lessThan(0.01);
    expect(probe(0, 8, -1.3)[39]).to.be.lessThan(0.01);
    expect(() => createTemporalStage({ mode: 'attention-fine', ringSize: 1, fineHysteresis: 5 }, FG, 'wasm')).to.throw(TemporalConfigError, /hysteresis/);
  });

  it('memoryClamp > 8 keeps the fused logit: a long-held label outlasts one confident contrary frame, and still yields to several', () => {
    const pic = scene(5)(0);
    const after = (clamp: number, contrary: number) => {
      const stage = createTemporalStage({ mode: 'attention-fine', ringSize: 1, fineMemoryClamp: clamp }, FG, 'wasm');
      const s = stage.openSession();
      expect(s.bytes).to.equal(clamp > 8 ? 3 * W * H + 2 * 4 * W * H : 3 * W * H);
      for (let t = 0; t < 10; t++) run(stage, s, new Float32Array(W * H).fill(8), pic);
      let p = 0;
      for (let t = 0; t < contrary; t++) p = run(stage, s, new Float32Array(W * H).fill(-8), pic)[700]!;
      stage.dispose();
      return p;
    };
    // 8-bit memory: logit(255/255) clamps to 8, −8 + 0.9·8 + h 0.5 < 0, one frame flips it; logit memory: −8 + 0.9·16 + 0.5 > 0.
    expect(after(8, 1)).to.be.lessThan(0.5);
    expect(after(16, 1)).to.be.greaterThan(0.5);
    expect(after(16, 3)).to.be.lessThan(0.5);
    expect(() => createTemporalStage({ mode: 'attention-fine', ringSize: 1, fineMemoryClamp: 6 }, FG, 'wasm')).to.throw(TemporalConfigError, /memoryClamp/);
  });

  it('a person-shaped region moving 3 px per frame: the memory is read where the content came from', () => {
    const pic = scene(3);
    const stage = createTemporalStage({ mode: 'attention-fine', ringSize: 1 }, FG, 'wasm');
    const s = stage.openSession();
    const rect = (x0: number) => {
      const l = new Float32Array(W * H).fill(-6);
      for (let y = 12; y < 36; y++) for (let x = x0; x < x0 + 20; x++) l[y * W + x] = 6;
      return l;
    };
    for (let t = 0; t < 4; t++) run(stage, s, rect(10 + 3 * t), pic(3 * t));
    // Frame 4: the model is unsure everywhere (logit 0); the mask is the memory moved with the picture.
    const out = run(stage, s, new Float32Array(W * H), pic(12));
    const truth = rect(22);
    let inter = 0;
    let union = 0;
    let stale = 0;
    for (let i = 0; i < W * H; i++) {
      const a = out[i]! > 0.5;
      const b = truth[i]! > 0;
      if (a && b) inter++;
      if (a || b) union++;
      if (a && !b) stale++;
    }
    expect(inter / union, 'IoU with where the region is now').to.be.at.least(0.95);
    // Where it was a frame ago (x 19–21) is not kept: a read without motion would keep 3 columns × 24 rows.
    expect(stale).to.be.lessThan(20);
    stage.dispose();
  });

  it('without luma it passes the frame through and forgets; states are pooled; no tensors left over 300 frames', () => {
    const base = tf.memory().numTensors;
    const stage = createTemporalStage({ mode: 'attention-fine', ringSize: 1 }, FG, 'wasm');
    const a = stage.openSession();
    const pic = scene(4);
    for (let t = 0; t < 300; t++) run(stage, a, new Float32Array(W * H).fill((t % 7) - 3), pic(t % 5));
    const noLuma = run(stage, a, new Float32Array(W * H).fill(-1));
    expect(noLuma[0]).to.be.closeTo(sig(-1), 1e-5);
    // The next frame has nothing to match against: its own prediction again.
    expect(run(stage, a, new Float32Array(W * H).fill(2), pic(0))[0]).to.be.closeTo(sig(2), 1e-5);
    a.dispose();
    a.dispose();
    const b = stage.openSession();
    const c = stage.openSession();
    expect(b).to.equal(a);
    expect(c).to.not.equal(b);
    expect(run(stage, b, new Float32Array(W * H).fill(-3), pic(0))[0], 'a reused state starts empty').to.be.closeTo(sig(-3), 1e-5);
    const foreign = { logits: tf.zeros([H, W, 1]) as tf.Tensor3D, features: tf.zeros([1, 1, 1]) as tf.Tensor3D, rgb: new Uint8Array(0) };
    expect(() => new EmaTemporal(H, W).process(b, foreign)).to.throw(TemporalStateError);
    tf.dispose([foreign.logits, foreign.features]);
    b.dispose();
    c.dispose();
    stage.dispose();
    expect(tf.memory().numTensors).to.equal(base);
  });

  it('validates its configuration', () => {
    const mk = (extra: object, geo = FG) => () => createTemporalStage({ mode: 'attention-fine', ringSize: 1, ...extra }, geo, 'wasm');
    expect(mk({ fineWeight: 2.5 })).to.throw(TemporalConfigError, /weight/);
    expect(mk({ fineCostScale: 0 })).to.throw(TemporalConfigError, /costScale/);
    expect(mk({ fineSearchRadius: 1.5 })).to.throw(TemporalConfigError, /searchRadius/);
    expect(mk({ finePatchRadius: 5 })).to.throw(TemporalConfigError, /patchRadius/);
    expect(mk({}, { ...FG, maskWidth: 40 })).to.throw(TemporalConfigError, /multiples of 16/);
  });
});
