import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { MaskSizeError, resizeMaskBilinear } from '../../../src/shared/maskResize.js';

describe('shared/maskResize resizeMaskBilinear', () => {
  it('interpolates between aligned pixel centres (hand-computed 2 → 4)', () => {
    // Source x for output x = (x + 0.5) × 2/4 − 0.5 = −0.25, 0.25, 0.75, 1.25 → clamped to [0, 1]:
    // 0 → 0, 0.25 → 63.75 → 64, 0.75 → 191.25 → 191, 1 → 255.
    expect([...resizeMaskBilinear(Uint8Array.from([0, 255]), 2, 1, 4, 1)]).to.deep.equal([0, 64, 191, 255]);
    // The same vertically.
    expect([...resizeMaskBilinear(Uint8Array.from([0, 255]), 1, 2, 1, 4)]).to.deep.equal([0, 64, 191, 255]);
  });

  it('is bilinear in 2-D (hand-computed 2×2 → 3×3)', () => {
    // src [[0, 100], [200, 40]]; source coordinate for output i = (i + 0.5) × 2/3 − 0.5 = −1/6, 0.5, 7/6
    // → clamped 0, 0.5, 1. Centre = mean of all four = 85; edge midpoints are pair means.
    const out = resizeMaskBilinear(Uint8Array.from([0, 100, 200, 40]), 2, 2, 3, 3);
    expect([...out]).to.deep.equal([0, 50, 100, 100, 85, 70, 200, 120, 40]);
  });

  it('downscales by averaging neighbours (4 → 2 samples at 0.5 and 2.5)', () => {
    expect([...resizeMaskBilinear(Uint8Array.from([0, 100, 200, 250]), 4, 1, 2, 1)]).to.deep.equal([50, 225]);
  });

  it('copies at the same size, keeps constants constant, fills a given buffer', () => {
    const src = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
    expect([...resizeMaskBilinear(src, 4, 3, 4, 3)]).to.deep.equal([...src]);
    const out = new Uint8Array(640 * 480);
    const r = resizeMaskBilinear(new Uint8Array(256 * 144).fill(77), 256, 144, 640, 480, out);
    expect(r).to.equal(out);
    expect(out.every((v) => v === 77)).to.equal(true);
  });

  it('agrees with tf.image.resizeBilinear(halfPixelCenters) within rounding, up and down', () => {
    const sw = 17, sh = 11;
    const src = Uint8Array.from({ length: sw * sh }, (_, i) => (i * 73 + ((i * i) % 29)) & 255);
    for (const [dw, dh] of [[40, 29], [256, 144], [9, 5]] as const) {
      const ours = resizeMaskBilinear(src, sw, sh, dw, dh);
      const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(Array.from(src), [sh, sw, 1]), [dh, dw], false, true).dataSync());
      let worst = 0;
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
      expect(worst, `${dw}×${dh}`).to.be.at.most(0.5 + 1e-3);
    }
  });

  it('rejects bad sizes', () => {
    expect(() => resizeMaskBilinear(new Uint8Array(3), 2, 2, 4, 4)).to.throw(MaskSizeError, /has 3 bytes, 2×2 needs 4/);
    expect(() => resizeMaskBilinear(new Uint8Array(4), 2, 2, 0, 4)).to.throw(MaskSizeError, /target width/);
    expect(() => resizeMaskBilinear(new Uint8Array(4), 2, 2, 4, 4, new Uint8Array(15))).to.throw(MaskSizeError, /destination has 15 bytes/);
  });
});
