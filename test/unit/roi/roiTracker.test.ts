import { expect } from 'chai';
import { boxFill, DEFAULT_ROI, RoiOptionsError, RoiTracker, thresholdLogit, torsoCover, type RoiBox, type RoiOptions, type RoiView } from '../../../src/roi/roiTracker.js';
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

  it('doubts: a detected person the mask leaves out gets a crop of their own for the second model, while the detector sees them', () => {
    const second: RoiOptions = { ...noRefresh, detector: 'movenet-multipose', secondModel: 'selfie' };
    const t = new RoiTracker(second);
    const masked = inPicture(10, 20, 40, 100); // the mask covers this person
    const missed = { x0: 400, y0: 200, x1: 440, y1: 320 }; // the detector sees this one, the mask does not
    const grown = (b: typeof missed, m: number) => ({ x0: b.x0 - m * (b.x1 - b.x0), y0: b.y0 - m * (b.y1 - b.y0), x1: b.x1 + m * (b.x1 - b.x0), y1: b.y1 + m * (b.y1 - b.y0) });
    expect(t.secondCrops(), 'nothing before the first frame').to.deep.equal([]);
    t.observe(blobs([10, 20, 40, 100]), W, H, PW, PH, t.plan(PW, PH), [masked, missed]);
    // The doubt's box: the detector's with a tenth of its size added on each side.
    expect(t.doubts).to.deep.equal([grown(missed, 0.1)]);
    t.plan(PW, PH);
    const [crop, ...more] = t.secondCrops();
    expect(more, 'one crop per doubt').to.deep.equal([]);
    expect(crop!.doubt).to.deep.equal(grown(missed, 0.1));
    // The crop: a quarter added on each side (60 × 180), widened to 3:4 (135 × 180) about the same centre.
    expect(crop!.box.x0).to.be.closeTo(420 - 67.5, 1e-9);
    expect(crop!.box.x1).to.be.closeTo(420 + 67.5, 1e-9);
    expect(crop!.box.y0).to.be.closeTo(170, 1e-9);
    expect(crop!.box.y1).to.be.closeTo(350, 1e-9);
    expect(crop!.region, 'inside the picture: all of it').to.deep.equal(crop!.box);
    // Frames without a detector pass keep it; a pass that sees them again moves it.
    t.observe(blobs([10, 20, 40, 100]), W, H, PW, PH, t.plan(PW, PH));
    const moved = { x0: 410, y0: 200, x1: 450, y1: 320 };
    t.observe(blobs([10, 20, 40, 100]), W, H, PW, PH, t.plan(PW, PH), [masked, moved]);
    expect(t.doubts).to.deep.equal([grown(moved, 0.1)]);
    // Two passes without them: gone (one missed pass is forgiven).
    t.observe(blobs([10, 20, 40, 100]), W, H, PW, PH, t.plan(PW, PH), [masked]);
    expect(t.doubts).to.have.length(1);
    t.observe(blobs([10, 20, 40, 100]), W, H, PW, PH, t.plan(PW, PH), [masked]);
    expect(t.doubts).to.deep.equal([]);
    expect(t.secondCrops()).to.deep.equal([]);
  });

  it('doubts: a person at the picture\'s edge is centred in their crop, which reaches past the edge; its region stays inside', () => {
    const t = new RoiTracker({ ...noRefresh, detector: 'movenet-multipose', secondModel: 'selfie' });
    const entering = { x0: 600, y0: 100, x1: 640, y1: 460 }; // half of them still outside, on the right
    t.observe(blobs(), W, H, PW, PH, t.plan(PW, PH), [entering]);
    t.plan(PW, PH);
    const [crop] = t.secondCrops();
    expect((crop!.box.x0 + crop!.box.x1) / 2, 'centred on the detector box').to.be.closeTo(620, 1e-9);
    expect(crop!.box.x1).to.be.above(PW);
    expect(crop!.box.y1, 'a quarter of 360 px below them').to.be.closeTo(550, 1e-9);
    expect(crop!.region).to.deep.equal({ x0: crop!.box.x0, y0: crop!.box.y0, x1: PW, y1: PH });
  });

  it('doubts: rest after ten idle second runs once the mask holds them, wake when a detector pass finds them lost', () => {
    const second: RoiOptions = { ...noRefresh, detector: 'movenet-multipose', secondModel: 'selfie' };
    const missed = { x0: 400, y0: 200, x1: 440, y1: 320 };
    const cells = [Math.floor((400 * W) / PW), Math.floor((200 * H) / PH), Math.ceil((440 * W) / PW), Math.ceil((320 * H) / PH)] as [number, number, number, number];
    const r = new RoiTracker(second);
    r.observe(blobs(), W, H, PW, PH, r.plan(PW, PH), [missed]);
    const box = r.doubts[0]!;
    const idle = (n: number) => {
      for (let i = 0; i < n; i++) r.secondOpinion(box, 100, 1);
    };
    idle(9);
    r.secondOpinion(box, 100, 5); // a useful run resets the count
    idle(9);
    r.observe(blobs(cells), W, H, PW, PH, r.plan(PW, PH));
    expect(r.doubts, 'nine idle runs since the useful one').to.have.length(1);
    idle(1);
    r.observe(blobs(), W, H, PW, PH, r.plan(PW, PH));
    expect(r.doubts, 'ten idle runs, but the mask does not hold them: the second model goes on').to.have.length(1);
    r.observe(blobs(cells), W, H, PW, PH, r.plan(PW, PH));
    expect(r.doubts, 'resting').to.deep.equal([]);
    expect(r.secondCrops()).to.deep.equal([]);
    // It stays at rest while the detector sees them and the mask holds them …
    r.observe(blobs(cells), W, H, PW, PH, r.plan(PW, PH), [missed]);
    expect(r.doubts).to.deep.equal([]);
    // … and wakes when the mask has lost them.
    r.observe(blobs(), W, H, PW, PH, r.plan(PW, PH), [missed]);
    expect(r.doubts).to.have.length(1);
    // Judged on the final mask when the engine hands it over (what the user sees), not on the frame's logits.
    const m = new RoiTracker(second);
    const shown = new Uint8Array(W * H);
    m.observe(blobs(cells), W, H, PW, PH, m.plan(PW, PH), [missed], shown);
    expect(m.doubts, 'the logits hold them, the mask does not').to.have.length(1);
    // Without a second model there are no doubts at all.
    const u = new RoiTracker({ ...noRefresh, detector: 'movenet-multipose', secondModel: 'none' });
    u.observe(blobs(), W, H, PW, PH, u.plan(PW, PH), [missed]);
    expect(u.doubts).to.deep.equal([]);
  });

  it('doubts: a person whose torso alone the mask holds (less than 0.15 of their box) is a doubt too', () => {
    const t = new RoiTracker({ ...noRefresh, detector: 'movenet-multipose', secondModel: 'selfie' });
    const seated = { x0: 400, y0: 100, x1: 500, y1: 460 };
    // The torso zone (x 440–460, y 208–352) masked, nothing else: torso covered, box filled ≈ 0.08.
    const torso = [Math.floor((440 * W) / PW), Math.floor((208 * H) / PH), Math.ceil((460 * W) / PW), Math.ceil((352 * H) / PH)] as [number, number, number, number];
    expect(torsoCover(seated, blobs(torso), W, H, PW / W, PH / H, 0)).to.equal(1);
    expect(boxFill(seated, blobs(torso), W, H, PW / W, PH / H, 0)).to.be.below(0.15);
    t.observe(blobs(torso), W, H, PW, PH, t.plan(PW, PH), [seated]);
    expect(t.doubts).to.have.length(1);
    // Filled: no doubt.
    const f = new RoiTracker({ ...noRefresh, detector: 'movenet-multipose', secondModel: 'selfie' });
    const all = [Math.floor((400 * W) / PW), Math.floor((100 * H) / PH), Math.ceil((500 * W) / PW), Math.ceil((460 * H) / PH)] as [number, number, number, number];
    f.observe(blobs(all), W, H, PW, PH, f.plan(PW, PH), [seated]);
    expect(f.doubts).to.deep.equal([]);
  });

  it('torsoCover: the share of the middle of a person box that the mask covers', () => {
    const box = inPicture(100, 20, 140, 120);
    const b = { x0: box.x0, y0: box.y0, x1: box.x1, y1: box.y1 };
    expect(torsoCover(b, blobs([100, 20, 140, 120]), W, H, PW / W, PH / H, 0)).to.equal(1);
    expect(torsoCover(b, blobs(), W, H, PW / W, PH / H, 0)).to.equal(0);
    // Only the left half masked: about half of the torso.
    const half = torsoCover(b, blobs([100, 20, 120, 120]), W, H, PW / W, PH / H, 0);
    expect(half).to.be.within(0.4, 0.6);
    // A box smaller than a cell reads the cell at its centre.
    expect(torsoCover({ x0: 251, y0: 101, x1: 252, y1: 102 }, blobs([100, 30, 101, 31]), W, H, PW / W, PH / H, 0)).to.equal(1);
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
    expect(() => new RoiTracker({ ...DEFAULT_ROI, secondModel: 'meet' as 'selfie' })).to.throw(RoiOptionsError, /secondModel/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, secondModel: 'selfie', detector: 'none' })).to.throw(RoiOptionsError, /needs a detector/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, doubtCover: 0 })).to.throw(RoiOptionsError, /doubtCover/);
    expect(() => new RoiTracker({ ...DEFAULT_ROI, doubtFill: 1.5 })).to.throw(RoiOptionsError, /doubtFill/);
  });
});
