import { expect } from 'chai';
import { DEFAULT_ROI, RoiOptionsError, RoiTracker, thresholdLogit, type RoiBox, type RoiOptions, type RoiView } from '../../../src/roi/roiTracker.js';
import { ComponentFinder } from '../../../src/roi/components.js';

const W = 256;
const H = 144;
const PW = 640;
const PH = 480;

/** Logits over the mask grid: +8 inside the rectangles [x0, x1) × [y0, y1), −8 elsewhere. */
function blobs(...rects: [number, number, number, number][]): Float32Array {
  const m = new Float32Array(W * H).fill(-8);
  for (const [x0, y0, x1, y1] of rects) for (let y = y0; y < y1; y++) m.fill(8, y * W + x0, y * W + x1);
  return m;
}

/** A rectangle of the grid in picture pixels. */
function inPicture(x0: number, y0: number, x1: number, y1: number) {
  return { x0: (x0 * PW) / W, y0: (y0 * PH) / H, x1: (x1 * PW) / W, y1: (y1 * PH) / H };
}

function expectWellFormed(b: RoiBox, pw = PW, ph = PH): void {
  expect(b.x % 2, 'even x').to.equal(0);
  expect(b.y % 2, 'even y').to.equal(0);
  expect(b.x).to.be.at.least(0);
  expect(b.y).to.be.at.least(0);
  expect(b.x + b.width).to.be.at.most(pw);
  expect(b.y + b.height).to.be.at.most(ph);
  expect([b.pictureWidth, b.pictureHeight]).to.deep.equal([pw, ph]);
}

const contains = (b: RoiBox, p: { x0: number; y0: number; x1: number; y1: number }) => b.x <= p.x0 + 1 && b.y <= p.y0 + 1 && b.x + b.width >= p.x1 - 1 && b.y + b.height >= p.y1 - 1;

/** One frame: plan, then observe `logits` as the frame's prediction over the views. */
function step(t: RoiTracker, logits: Float32Array, pw = PW, ph = PH): RoiView[] {
  const views = t.plan(pw, ph);
  t.observe(logits, W, H, pw, ph, views);
  return views;
}

const noRefresh: RoiOptions = { ...DEFAULT_ROI, refreshFrames: 0 };

describe('roi/components ComponentFinder', () => {
  it('finds each 4-connected region with its box and area, largest first, and drops the small ones', () => {
    const f = new ComponentFinder(W, H);
    const m = blobs([10, 20, 30, 40], [100, 10, 110, 15], [200, 100, 202, 101]);
    // A diagonal touch is not a connection.
    m[50 * W + 50] = 8;
    m[51 * W + 51] = 8;
    expect(f.find(m, 0, 3)).to.deep.equal([
      { x0: 10, y0: 20, x1: 30, y1: 40, area: 400 },
      { x0: 100, y0: 10, x1: 110, y1: 15, area: 50 },
    ]);
    expect(f.find(m, 0, 1)).to.have.length(5);
    expect(f.find(new Float32Array(W * H).fill(-8), 0, 1)).to.deep.equal([]);
    expect(() => f.find(new Float32Array(10), 0, 1)).to.throw(RangeError);
  });
});

describe('roi/roiTracker', () => {
  it('starts on the whole picture, then crops around the person with the margin, at the crop aspect', () => {
    const t = new RoiTracker(noRefresh);
    expect(step(t, blobs([100, 40, 140, 120])).map((v) => v.kind)).to.deep.equal(['whole']);
    const views = t.plan(PW, PH);
    expect(views.map((v) => v.kind)).to.deep.equal(['crop']);
    const b = views[0]!.box;
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
    expect([t.cropped, t.whole, t.people]).to.deep.equal([0, 1, 1]);
  });

  it('leads a moving person by its last displacement', () => {
    const t = new RoiTracker(noRefresh);
    step(t, blobs([100, 40, 140, 120]));
    const still = t.plan(PW, PH)[0]!.box;
    t.observe(blobs([112, 40, 152, 120]), W, H, PW, PH, [{ kind: 'crop', box: still }]); // moved 12 cells = 30 px right
    const moved = t.plan(PW, PH)[0]!.box;
    // Centre: person centre (+30 px) plus the same again ahead (lead 1).
    expect(moved.x + moved.width / 2 - (still.x + still.width / 2)).to.be.closeTo(60, 2);
    const noLead = new RoiTracker({ ...noRefresh, lead: 0 });
    step(noLead, blobs([100, 40, 140, 120]));
    step(noLead, blobs([112, 40, 152, 120]));
    const b = noLead.plan(PW, PH)[0]!.box;
    expect(b.x + b.width / 2 - (still.x + still.width / 2)).to.be.closeTo(30, 2);
  });

  it('gives people far apart a crop each, left to right, and people close together one crop', () => {
    const t = new RoiTracker(noRefresh);
    step(t, blobs([20, 60, 40, 120], [200, 50, 222, 120]));
    const apart = t.plan(PW, PH);
    expect(apart.map((v) => v.kind)).to.deep.equal(['crop', 'crop']);
    expect(contains(apart[0]!.box, inPicture(20, 60, 40, 120))).to.equal(true);
    expect(contains(apart[1]!.box, inPicture(200, 50, 222, 120))).to.equal(true);
    for (const v of apart) expectWellFormed(v.box);
    const u = new RoiTracker(noRefresh);
    step(u, blobs([100, 60, 120, 120], [124, 60, 144, 120]));
    const close = u.plan(PW, PH);
    expect(close).to.have.length(1);
    expect(contains(close[0]!.box, inPicture(100, 60, 144, 120))).to.equal(true);
  });

  it('merges the closest groups beyond maxCrops; every person stays inside a crop', () => {
    const people: [number, number, number, number][] = [[4, 90, 14, 120], [60, 90, 70, 120], [120, 90, 130, 120], [180, 90, 190, 120], [240, 90, 250, 120]];
    const t = new RoiTracker({ ...noRefresh, maxCrops: 3, minSize: 0.1 });
    step(t, blobs(...people));
    expect(t.people).to.equal(5);
    const views = t.plan(PW, PH);
    expect(views).to.have.length(3);
    for (const p of people) expect(views.some((v) => contains(v.box, inPicture(...p))), `person at ${p}`).to.equal(true);
  });

  it('keeps a person keepFrames frames after their crop last saw them, then goes back to the whole picture', () => {
    const t = new RoiTracker({ ...noRefresh, keepFrames: 3 });
    step(t, blobs([100, 40, 140, 120]));
    const kinds: string[] = [];
    for (let i = 0; i < 6; i++) kinds.push(step(t, blobs()).map((v) => v.kind).join('+'));
    // Missed 1, 2, 3 (kept), 4 (gone): crops for four frames, then the whole picture.
    expect(kinds).to.deep.equal(['crop', 'crop', 'crop', 'crop', 'whole', 'whole']);
    expect(t.people).to.equal(0);
    // Seen again within keepFrames: the count starts over.
    const u = new RoiTracker({ ...noRefresh, keepFrames: 2 });
    step(u, blobs([100, 40, 140, 120]));
    step(u, blobs());
    step(u, blobs());
    step(u, blobs([100, 40, 140, 120]));
    step(u, blobs());
    step(u, blobs());
    expect(u.plan(PW, PH).map((v) => v.kind)).to.deep.equal(['crop']);
  });

  it('adds the whole picture every refreshFrames frames, so newcomers are found, and tracks them from then on', () => {
    const t = new RoiTracker({ ...DEFAULT_ROI, refreshFrames: 5 });
    const whole: number[] = [];
    for (let i = 0; i < 16; i++) {
      const views = t.plan(PW, PH);
      if (views.some((v) => v.kind === 'whole')) whole.push(i);
      // A second person, away from the first, is in the prediction from the whole-picture frame 10 on.
      t.observe(i < 10 ? blobs([100, 40, 140, 120]) : blobs([100, 40, 140, 120], [220, 60, 240, 120]), W, H, PW, PH, views);
    }
    expect(whole).to.deep.equal([0, 5, 10, 15]);
    expect(t.people).to.equal(2);
    expect(t.plan(PW, PH).filter((v) => v.kind === 'crop')).to.have.length(2);
  });

  it('segments the whole picture alone when a crop would be most of it, on a new picture size, and drops noise', () => {
    const t = new RoiTracker(noRefresh);
    step(t, blobs([10, 5, 246, 140]));
    expect(t.plan(PW, PH).map((v) => v.kind), 'a person filling the frame').to.deep.equal(['whole']);
    const u = new RoiTracker(noRefresh);
    step(u, blobs([100, 40, 140, 120]));
    expect(u.plan(1280, 720).map((v) => v.kind), 'other picture size').to.deep.equal(['whole']);
    const v = new RoiTracker(noRefresh);
    step(v, blobs([100, 40, 102, 42])); // 4 cells: below minArea
    expect(v.people).to.equal(0);
  });

  it('does not lead across a change of picture size', () => {
    const t = new RoiTracker(noRefresh);
    step(t, blobs([100, 40, 140, 120]));
    step(t, blobs([100, 40, 140, 120]), 1280, 960); // same place in the grid, twice the pixels
    const b = t.plan(1280, 960)[0]!.box;
    // Centred on the person (x 500..700 px here), not pushed on by the 300 px its centre "moved" (→ 900).
    expect(b.x + b.width / 2).to.be.closeTo(600, 4);
  });

  it('keeps small people inside the picture at the minimum crop size, even-aligned in odd-sized pictures', () => {
    const t = new RoiTracker(noRefresh);
    step(t, blobs([246, 134, 256, 144])); // a few pixels in the corner
    const b = t.plan(PW, PH)[0]!.box;
    expectWellFormed(b);
    expect(b.height).to.be.at.least(Math.floor(DEFAULT_ROI.smallMinSize * PH) - 2);
    expect(b.x + b.width).to.equal(PW);
    expect(b.y + b.height).to.equal(PH);
    const u = new RoiTracker(noRefresh);
    step(u, blobs([200, 100, 256, 144]), 641, 481);
    const c = u.plan(641, 481)[0]!.box;
    expectWellFormed(c, 641, 481);
    expect(c.x + c.width).to.equal(641);
    expect(c.y + c.height).to.equal(481);
  });

  it('crops small (far) people at the model\'s aspect, undistorted, and close-ups at `aspect`', () => {
    const t = new RoiTracker(noRefresh, 16 / 9);
    step(t, blobs([40, 60, 50, 100], [150, 20, 230, 144])); // a small standing person; a close-up (bust)
    const [small, close] = t.plan(PW, PH).map((v) => v.box);
    expect(small!.width / small!.height).to.be.closeTo(16 / 9, 0.05);
    expect(close!.width / close!.height).to.be.closeTo(DEFAULT_ROI.aspect, 0.05);
    expect(contains(small!, inPicture(40, 60, 50, 100))).to.equal(true);
  });

  it('sees a group too large for a crop in the whole picture (mask), and on refresh frames looks for newcomers only', () => {
    const t = new RoiTracker(noRefresh);
    step(t, blobs([4, 2, 226, 144], [244, 100, 252, 130])); // a close-up filling the frame, and a small person
    const views = t.plan(PW, PH);
    expect(views.map((v) => [v.kind, v.discovery ?? false])).to.deep.equal([['whole', false], ['crop', false]]);
    const u = new RoiTracker({ ...DEFAULT_ROI, refreshFrames: 2 });
    step(u, blobs([100, 40, 140, 120]));
    step(u, blobs([100, 40, 140, 120]));
    expect(u.plan(PW, PH).map((v) => [v.kind, v.discovery ?? false])).to.deep.equal([['whole', true], ['crop', false]]);
  });

  it('detections propose people: a crop each, dropped after probeFrames unless their crop shows a person', () => {
    const t = new RoiTracker({ ...noRefresh, probeFrames: 2, detector: 'movenet-multipose' });
    expect(t.detectionDue).to.equal(true);
    const det = { x0: 400, y0: 200, x1: 430, y1: 300 };
    t.observe(blobs([10, 20, 40, 100]), W, H, PW, PH, t.plan(PW, PH), [det]);
    expect(t.people).to.equal(2);
    expect(t.plan(PW, PH).some((v) => contains(v.box, det))).to.equal(true);
    // Nothing found in the proposal's crop: it goes after probeFrames, the confirmed person stays.
    for (let i = 0; i < 3; i++) step(t, blobs([10, 20, 40, 100]));
    expect(t.people).to.equal(1);
    // A proposal its crop confirms stays like any person; a detection keeps a confirmed person who is missed.
    const u = new RoiTracker({ ...noRefresh, probeFrames: 1, keepFrames: 2, detector: 'movenet-multipose' });
    u.observe(blobs(), W, H, PW, PH, u.plan(PW, PH), [det]);
    const cells = [Math.floor((400 * W) / PW), Math.floor((200 * H) / PH), Math.ceil((430 * W) / PW), Math.ceil((300 * H) / PH)] as [number, number, number, number];
    step(u, blobs(cells));
    for (let i = 0; i < 5; i++) u.observe(blobs(), W, H, PW, PH, u.plan(PW, PH), [det]);
    expect(u.people).to.equal(1);
  });

  it('counts a pixel as person where σ(logit) × 255 rounds to ≥ threshold', () => {
    for (const t of [1, 64, 128, 200, 255]) {
      const l = thresholdLogit(t);
      expect(Math.round(255 / (1 + Math.exp(-(l + 1e-6))))).to.be.at.least(t);
      expect(Math.round(255 / (1 + Math.exp(-(l - 1e-3))))).to.be.below(t);
    }
  });

  it('rejects bad options with a message naming the field', () => {
    expect(() => new RoiTracker({ ...DEFAULT_ROI, margin: -1 })).to.throw(RoiOptionsError, /margin/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, aspect: 0 })).to.throw(RoiOptionsError, /aspect/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, maxArea: 1.5 })).to.throw(RoiOptionsError, /maxArea/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, refreshFrames: 1.5 })).to.throw(RoiOptionsError, /refreshFrames/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, threshold: 0 })).to.throw(RoiOptionsError, /threshold/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, maxCrops: 0 })).to.throw(RoiOptionsError, /maxCrops/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, keepFrames: -1 })).to.throw(RoiOptionsError, /keepFrames/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, minArea: 0.5 })).to.throw(RoiOptionsError, /minArea/);
  });
});
