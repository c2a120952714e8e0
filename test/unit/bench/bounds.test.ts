import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/inference/backend.js';
import { createTemporalStage } from '../../../src/temporal/factory.js';
import { TemporalConfigError, type TemporalStage, type TemporalState } from '../../../src/temporal/temporalStage.js';
import { TruthMemoryStage } from '../../../src/bench/bounds.js';

describe('bench bounds: TruthMemoryStage', () => {
  const [W, H] = [64, 48];
  const FG = { maskHeight: H, maskWidth: W, featureShape: [6, 8, 3] as [number, number, number] };
  /** A random texture (the matcher needs something to match, without repeats), shifted right by `dx` px. */
  const texture = (() => {
    let r = 7;
    const rand = () => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0) / 4294967296);
    const big = Array.from({ length: 2 * W * H }, () => rand() * 255);
    // 3 × 3 box, so patches are smooth at the matcher's scale but never repeat.
    return (x: number, y: number) => {
      let s = 0;
      for (let j = -1; j <= 1; j++) for (let i = -1; i <= 1; i++) s += big[Math.min(H - 1, Math.max(0, y + j)) * 2 * W + Math.min(2 * W - 1, Math.max(0, x + i))]!;
      return Math.round(s / 9);
    };
  })();
  const picture = (dx: number) => Uint8Array.from({ length: W * H }, (_, i) => texture((i % W) + 32 - dx, Math.floor(i / W)));
  /** A truth: a vertical band of foreground [x0, x0 + 20). */
  const band = (x0: number) => Uint8Array.from({ length: W * H }, (_, i) => ((i % W) >= x0 && (i % W) < x0 + 20 ? 255 : 0));

  function frame(stage: TemporalStage, s: TemporalState, logit: number, luma: Uint8Array): Uint8Array {
    const logits = tf.fill([H, W, 1], logit) as tf.Tensor3D;
    const features = tf.zeros([6, 8, 3]) as tf.Tensor3D;
    try {
      const p = stage.processToArray!(s, { logits, features, rgb: new Uint8Array(W * H * 3), logitsData: logits.dataSync() as Float32Array, luma })!;
      const mask = Uint8Array.from(p, (v) => Math.round(v * 255));
      stage.commit(s, mask);
      return mask;
    } finally {
      tf.dispose([logits, features]);
    }
  }

  before(async () => {
    await selectBackend('wasm');
  });

  it('truth-moved: the truth at t − 1 carried by the read, whatever the backbone says', () => {
    const b = new TruthMemoryStage(createTemporalStage({ mode: 'attention-fine', ringSize: 1 }, FG, 'wasm'), 'truth-moved');
    const s = b.openSession();
    b.truth = band(16);
    // First frame: no memory yet, so the stage's own output (the prediction: background).
    expect(frame(b, s, -6, picture(0)).every((v) => v < 128)).to.equal(true);
    // Second frame, picture moved 4 px right, backbone sure of background everywhere: the
    // output is the band moved with the picture, not the backbone and not the unmoved band.
    b.truth = band(20);
    const m = frame(b, s, -6, picture(4));
    // (Columns 0–3 show content the memory frame never saw: their read is arbitrary.)
    const fgCols = [...new Set(Array.from(m).flatMap((v, i) => (v >= 128 && i % W >= 4 ? [i % W] : [])))].sort((x, y) => x - y);
    expect(fgCols).to.have.length(20);
    expect(fgCols[0]).to.equal(20);
    expect(fgCols[fgCols.length - 1]).to.equal(39);
    s.dispose();
    b.dispose();
  });

  it('truth-memory: the default fusion with the truth as memory, and the stage commits the truth, not its mask', () => {
    const plain = createTemporalStage({ mode: 'attention-fine', ringSize: 1 }, FG, 'wasm');
    const b = new TruthMemoryStage(createTemporalStage({ mode: 'attention-fine', ringSize: 1 }, FG, 'wasm'), 'truth-memory');
    const sp = plain.openSession();
    const sb = b.openSession();
    // The plain stage is given the truth as its actual mask; the bound gets a backbone that says
    // background but commits the truth: from then on both fuse the same memory.
    frame(plain, sp, 6, picture(0)); // commits σ(6) everywhere
    b.truth = new Uint8Array(W * H).fill(Math.round(255 / (1 + Math.exp(-6))));
    frame(b, sb, -6, picture(0));
    b.truth = null;
    const a = frame(plain, sp, -1, picture(0));
    const c = frame(b, sb, -1, picture(0));
    expect(Array.from(c)).to.deep.equal(Array.from(a));
    expect(a[100]).to.be.greaterThan(128); // −1 + 0.9·6 + 0.5 > 0: the memory holds
    sp.dispose(); sb.dispose();
    plain.dispose(); b.dispose();
  });

  it('refuses a stage other than attention-fine and a truth of the wrong size', () => {
    expect(() => new TruthMemoryStage(createTemporalStage({ mode: 'ema', ringSize: 1 }, FG, 'wasm'), 'truth-memory')).to.throw(TemporalConfigError, /attention-fine/);
    const b = new TruthMemoryStage(createTemporalStage({ mode: 'attention-fine', ringSize: 1 }, FG, 'wasm'), 'truth-memory');
    const s = b.openSession();
    b.truth = new Uint8Array(10);
    expect(() => frame(b, s, 0, picture(0))).to.throw(TemporalConfigError, /truth has 10 pixels/);
    s.dispose();
    b.dispose();
  });
});
