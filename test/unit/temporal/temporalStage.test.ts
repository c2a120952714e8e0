import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/inference/backend.js';
import type { TemporalMode } from '../../../src/inference/types.js';
import { createTemporalStage } from '../../../src/temporal/factory.js';
import { TemporalConfigError, TemporalStateError, type TemporalStage } from '../../../src/temporal/temporalStage.js';
import { EmaTemporal, PassThroughTemporal } from '../../../src/temporal/stages/simple.js';
import { AttentionState, AttentionTemporal } from '../../../src/temporal/stages/attention.js';

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
