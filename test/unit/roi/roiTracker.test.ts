import { expect } from 'chai';
import { DEFAULT_ROI, logitBounds, maskBounds, RoiOptionsError, RoiTracker, type RoiBox, type RoiOptions } from '../../../src/roi/roiTracker.js';

const W = 256;
const H = 144;
const PW = 640;
const PH = 480;

/** A mask grid with a filled rectangle [x0, x1) × [y0, y1) of value v. */
function blob(x0: number, y0: number, x1: number, y1: number, v = 255): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) m.fill(v, y * W + x0, y * W + x1);
  return m;
}

/** The blob's box in picture pixels. */
function inPicture(x0: number, y0: number, x1: number, y1: number) {
  return { x0: (x0 * PW) / W, y0: (y0 * PH) / H, x1: (x1 * PW) / W, y1: (y1 * PH) / H };
}

function expectWellFormed(b: RoiBox): void {
  expect(b.x % 2, 'even x').to.equal(0);
  expect(b.y % 2, 'even y').to.equal(0);
  expect(b.x).to.be.at.least(0);
  expect(b.y).to.be.at.least(0);
  expect(b.x + b.width).to.be.at.most(PW);
  expect(b.y + b.height).to.be.at.most(PH);
  expect([b.pictureWidth, b.pictureHeight]).to.deep.equal([PW, PH]);
}

const noRefresh: RoiOptions = { ...DEFAULT_ROI, refreshFrames: 0 };

describe('roi/roiTracker', () => {
  it('maskBounds: the inclusive-exclusive box of values ≥ threshold, or null', () => {
    expect(maskBounds(new Uint8Array(W * H), W, H, 128)).to.equal(null);
    expect(maskBounds(blob(10, 20, 30, 40, 127), W, H, 128)).to.equal(null);
    expect(maskBounds(blob(10, 20, 30, 40), W, H, 128)).to.deep.equal({ x0: 10, y0: 20, x1: 30, y1: 40 });
    const m = blob(10, 20, 30, 40);
    m[143 * W + 255] = 200; // the last pixel
    expect(maskBounds(m, W, H, 128)).to.deep.equal({ x0: 10, y0: 20, x1: 256, y1: 144 });
  });

  it('starts on the whole picture, then crops around the person with the margin, at the crop aspect', () => {
    const t = new RoiTracker(noRefresh);
    expect(t.next(PW, PH)).to.equal(null);
    t.update(blob(100, 40, 140, 120), W, H, PW, PH, false);
    const b = t.next(PW, PH)!;
    expect(b).to.not.equal(null);
    expectWellFormed(b);
    const p = inPicture(100, 40, 140, 120); // 100 × 266.7 px
    // The person's box plus 10 % on each side lies inside the crop.
    const mx = 0.1 * (p.x1 - p.x0);
    const my = 0.1 * (p.y1 - p.y0);
    expect(b.x).to.be.at.most(p.x0 - mx + 2);
    expect(b.x + b.width).to.be.at.least(p.x1 + mx - 2);
    expect(b.y).to.be.at.most(p.y0 - my + 2);
    expect(b.y + b.height).to.be.at.least(p.y1 + my - 2);
    // Widened to 3:4, centred on the person, and far smaller than the picture.
    expect(b.width / b.height).to.be.closeTo(0.75, 0.02);
    expect(b.x + b.width / 2).to.be.closeTo((p.x0 + p.x1) / 2, 2);
    expect(b.width * b.height).to.be.below(0.3 * PW * PH);
    expect([t.cropped, t.whole]).to.deep.equal([0, 1]);
  });

  it('leads a moving person by its last displacement', () => {
    const t = new RoiTracker(noRefresh);
    t.update(blob(100, 40, 140, 120), W, H, PW, PH, false);
    const still = t.next(PW, PH)!;
    t.update(blob(112, 40, 152, 120), W, H, PW, PH, true); // moved 12 cells = 30 px right
    const moved = t.next(PW, PH)!;
    // Centre: person centre (+30 px) plus the same again ahead (lead 1).
    expect(moved.x + moved.width / 2 - (still.x + still.width / 2)).to.be.closeTo(60, 2);
    const noLead = new RoiTracker({ ...noRefresh, lead: 0 });
    noLead.update(blob(100, 40, 140, 120), W, H, PW, PH, false);
    noLead.update(blob(112, 40, 152, 120), W, H, PW, PH, true);
    expect(noLead.next(PW, PH)!.x + noLead.next(PW, PH)!.width / 2 - (still.x + still.width / 2)).to.be.closeTo(30, 2);
  });

  it('falls back to the whole picture when nobody is found, when the crop would be most of the picture, and on a new picture size', () => {
    const t = new RoiTracker(noRefresh);
    t.update(blob(100, 40, 140, 120), W, H, PW, PH, false);
    expect(t.next(PW, PH)).to.not.equal(null);
    expect(t.next(1280, 720), 'other picture size').to.equal(null);
    t.update(new Uint8Array(W * H), W, H, PW, PH, true);
    expect(t.next(PW, PH), 'nobody').to.equal(null);
    t.update(blob(10, 5, 246, 140), W, H, PW, PH, false);
    expect(t.next(PW, PH), 'a person filling the frame').to.equal(null);
  });

  it('does not lead across a change of picture size', () => {
    const t = new RoiTracker(noRefresh);
    t.update(blob(100, 40, 140, 120), W, H, PW, PH, false);
    t.update(blob(100, 40, 140, 120), W, H, 1280, 960, false); // same place in the grid, twice the pixels
    const b = t.next(1280, 960)!;
    // Centred on the person (x 500..700 px here), not pushed on by the 300 px its centre "moved" (→ 900).
    expect(b.x + b.width / 2).to.be.closeTo(600, 4);
  });

  it('keeps small people inside the picture at the minimum crop size', () => {
    const t = new RoiTracker(noRefresh);
    t.update(blob(250, 140, 256, 144), W, H, PW, PH, false); // a few pixels in the corner
    const b = t.next(PW, PH)!;
    expectWellFormed(b);
    expect(b.height).to.be.at.least(Math.floor(DEFAULT_ROI.minSize * PH) - 2);
    expect(b.x + b.width).to.equal(PW);
    expect(b.y + b.height).to.equal(PH);
  });

  it('segments the whole picture every refreshFrames frames, so newcomers are found', () => {
    const t = new RoiTracker({ ...DEFAULT_ROI, refreshFrames: 5 });
    const whole: number[] = [];
    for (let i = 0; i < 16; i++) {
      const b = t.next(PW, PH);
      if (!b) whole.push(i);
      t.update(blob(100, 40, 140, 120), W, H, PW, PH, b !== null);
    }
    expect(whole).to.deep.equal([0, 5, 10, 15]);
    expect(t.cropped + t.whole).to.equal(16);
    expect(t.whole).to.equal(4);
  });

  it('hold keeps the crop while the new one lies inside it and is not much smaller', () => {
    const t = new RoiTracker({ ...noRefresh, hold: 0.8, lead: 0 });
    t.update(blob(100, 40, 140, 120), W, H, PW, PH, false);
    const first = t.next(PW, PH)!;
    t.update(blob(101, 41, 139, 119), W, H, PW, PH, true); // slightly smaller, inside
    expect(t.next(PW, PH)).to.deep.equal(first);
    t.update(blob(150, 40, 190, 120), W, H, PW, PH, true); // moved away
    expect(t.next(PW, PH)!.x).to.be.above(first.x);
  });

  it('rejects bad options with a message naming the field', () => {
    expect(() => new RoiTracker({ ...DEFAULT_ROI, margin: -1 })).to.throw(RoiOptionsError, /margin/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, aspect: 0 })).to.throw(RoiOptionsError, /aspect/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, maxArea: 1.5 })).to.throw(RoiOptionsError, /maxArea/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, refreshFrames: 1.5 })).to.throw(RoiOptionsError, /refreshFrames/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, threshold: 0 })).to.throw(RoiOptionsError, /threshold/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, hold: Number.NaN })).to.throw(RoiOptionsError, /hold/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, source: 'memory' as 'mask' })).to.throw(RoiOptionsError, /source/);
  });

  it('prediction source: the box of the frame\'s own logits, the same as of σ(logits) × 255 rounded', () => {
    expect(DEFAULT_ROI.source).to.equal('prediction');
    let seed = 3;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    for (let k = 0; k < 20; k++) {
      const logits = new Float32Array(W * H).fill(-8);
      const [x0, y0] = [Math.floor(rand() * 200), Math.floor(rand() * 100)];
      for (let y = y0; y < y0 + 30; y++) for (let x = x0; x < x0 + 40; x++) logits[y * W + x] = (rand() - 0.4) * 0.1; // around the threshold
      const bytes = Uint8Array.from(logits, (l) => Math.round(255 / (1 + Math.exp(-l))));
      expect(logitBounds(logits, W, H, Math.log(127.5 / 127.5))).to.deep.equal(maskBounds(bytes, W, H, 128));
      const a = new RoiTracker({ ...noRefresh, source: 'prediction' });
      const b = new RoiTracker({ ...noRefresh, source: 'mask' });
      expect(a.source).to.equal('prediction');
      expect(b.source).to.equal('mask');
      a.updateFromLogits(logits, W, H, PW, PH, false);
      b.update(bytes, W, H, PW, PH, false);
      expect(a.next(PW, PH)).to.deep.equal(b.next(PW, PH));
    }
    expect(logitBounds(new Float32Array(W * H).fill(-1), W, H, 0)).to.equal(null);
  });

  it('keeps crops even-aligned and inside odd-sized pictures, up to their last column and row', () => {
    const t = new RoiTracker(noRefresh);
    t.update(blob(200, 100, 256, 144), W, H, 641, 481, false); // person at the bottom-right corner
    const b = t.next(641, 481)!;
    expect(b.x % 2).to.equal(0);
    expect(b.y % 2).to.equal(0);
    expect(b.x + b.width).to.equal(641);
    expect(b.y + b.height).to.equal(481);
  });
});
