import { expect } from 'chai';
import {
  FOUND_SHARE,
  PeopleEvaluator,
  VISIBLE_MIN_SHARE,
  personFrameCounts,
  personSequenceMetrics,
  poolClips,
  worstLatency,
  type PersonFrameCounts,
} from '../../../src/quality/metrics.js';
import { alphaBox } from '../../../src/quality/clips/personTruth.js';

const FRAME = 640 * 480;

/** Counts from a state string: '.' not visible (0 truth px), 'x' visible and missed, 'o' found; 1,000 truth px when visible. */
function counts(states: string): PersonFrameCounts[] {
  return [...states].map((c) => (c === '.' ? { truthPx: 0, maskedPx: 0 } : { truthPx: 1000, maskedPx: c === 'o' ? 600 : 100 }));
}

describe('quality/metrics per-person counts', () => {
  it('counts truth pixels (≥ 128) in the box and the masked ones (mask ≥ 128) at the right place', () => {
    const W = 10, H = 6;
    const truth = new Uint8Array(W * H);
    truth[2 * W + 3] = 128; // person
    truth[2 * W + 4] = 255; // person
    truth[3 * W + 4] = 127; // soft edge: not a truth pixel
    truth[4 * W + 6] = 200; // person
    const box = alphaBox(truth, W, H);
    const mask = new Uint8Array(W * H);
    mask[2 * W + 3] = 128;
    mask[3 * W + 4] = 255; // masked, but not a truth pixel
    mask[4 * W + 6] = 127; // not masked
    mask[2 * W + 5] = 255; // outside the person
    expect(personFrameCounts(mask, W, box)).to.deep.equal({ truthPx: 3, maskedPx: 1 });
    mask[4 * W + 6] = 128;
    expect(personFrameCounts(mask, W, box)).to.deep.equal({ truthPx: 3, maskedPx: 2 });
    expect(personFrameCounts(mask, W, alphaBox(new Uint8Array(W * H), W, H))).to.deep.equal({ truthPx: 0, maskedPx: 0 });
    expect(() => personFrameCounts(mask, W, { ...box, x: 8 })).to.throw(/leaves/);
  });
});

describe('quality/metrics per-person sequence', () => {
  const ones = (n: number) => new Array<number>(n).fill(1);

  it('recall = found / visible frames; a miss run skips frames where the person is not visible', () => {
    const m = personSequenceMetrics('a', counts('ooxxo.xx.xoxo'), ones(13), FRAME);
    expect([m.visibleFrames, m.foundFrames]).to.deep.equal([11, 5]);
    expect(m.recall).to.be.closeTo(5 / 11, 1e-12);
    // x x | o | x x (.) x — the run before frame 10's 'o' is 2 + 1 = 3 visible frames.
    expect(m.longestMiss).to.equal(3);
    expect(m.enters).to.equal(false);
    expect(m.states).to.deep.equal([2, 2, 1, 1, 2, 0, 1, 1, 0, 1, 2, 1, 2]);
  });

  it('found means at least half of the truth pixels masked; visible means at least 0.1 % of the frame', () => {
    const minPx = Math.ceil(VISIBLE_MIN_SHARE * FRAME); // 308 at 640×480
    const c: PersonFrameCounts[] = [
      { truthPx: 1000, maskedPx: 1000 * FOUND_SHARE },
      { truthPx: 1000, maskedPx: 1000 * FOUND_SHARE - 1 },
      { truthPx: minPx - 1, maskedPx: minPx - 1 },
      { truthPx: minPx, maskedPx: 0 },
    ];
    expect(personSequenceMetrics('a', c, ones(4), FRAME).states).to.deep.equal([2, 1, 0, 1]);
  });

  it('a person never visible: no recall, no run, not entering', () => {
    const m = personSequenceMetrics('a', counts('.....'), ones(5), FRAME);
    expect([m.visibleFrames, m.recall, m.longestMiss, m.firstVisible, m.enters, m.fullyInAt, m.enterLatency]).to.deep.equal([0, null, 0, null, false, null, null]);
  });

  it('a person never found: recall 0, the miss run is every visible frame, an entering one is found "never"', () => {
    const inFrame = [0, 0, 0.3, 0.7, 1, 1, 1, 1];
    const m = personSequenceMetrics('a', counts('..xxxx.x'), inFrame, FRAME);
    expect([m.recall, m.longestMiss, m.firstVisible, m.enters, m.fullyInAt, m.enterLatency]).to.deep.equal([0, 5, 2, true, 4, null]);
  });

  it('entering: latency from the first frame fully in (95 % of the largest in-frame share) and visible to the first found at or after it', () => {
    // Found while half in (frame 3), lost when fully in (frame 4), found again at frame 7.
    const inFrame = [0, 0.1, 0.4, 0.6, 0.83, 0.84, 0.85, 0.85, 0.86, 0.86];
    const m = personSequenceMetrics('a', counts('..xoxxxooo'), inFrame, FRAME);
    expect([m.enters, m.fullyInAt, m.enterLatency]).to.deep.equal([true, 4, 3]);
    // Fully in at frame 4 but hidden (not visible) until frame 6: the clock starts at 6.
    const hidden = personSequenceMetrics('a', counts('..xx..xxoo'), inFrame, FRAME);
    expect([hidden.fullyInAt, hidden.enterLatency]).to.deep.equal([6, 2]);
    // Found only in the last frame.
    const late = personSequenceMetrics('a', counts('..xxxxxxxo'), inFrame, FRAME);
    expect([late.fullyInAt, late.enterLatency, late.longestMiss]).to.deep.equal([4, 5, 7]);
    // Found at once.
    expect(personSequenceMetrics('a', counts('..oooooooo'), inFrame, FRAME).enterLatency).to.equal(0);
  });

  it('the miss run inside counts only frames with at least half of the body inside the picture', () => {
    // Stepping in: missed while 0.1–0.4 inside (3 frames), then 0.6 (1 frame) before being found; later a run of 2 fully inside.
    const inFrame = [0, 0.1, 0.2, 0.4, 0.6, 0.9, 1, 1, 1, 1];
    const m = personSequenceMetrics('a', counts('.xxxxooxxo'), inFrame, FRAME);
    expect([m.longestMiss, m.longestMissInside]).to.deep.equal([4, 2]);
    // A person never more than half inside has no inside run at all.
    expect(personSequenceMetrics('a', counts('xxxx'), [0.3, 0.3, 0.3, 0.3], FRAME).longestMissInside).to.equal(0);
  });

  it('a person visible in frame 0 is not entering, whatever their in-frame share does', () => {
    const m = personSequenceMetrics('a', counts('xxoo'), [0.2, 0.5, 1, 1], FRAME);
    expect([m.enters, m.fullyInAt, m.enterLatency]).to.deep.equal([false, null, null]);
  });

  it('pools person-frames over people and clips; worst latency is the largest, or never', () => {
    const a = personSequenceMetrics('a', counts('oooo'), ones(4), FRAME);
    const b = personSequenceMetrics('b', counts('..xo'), [0, 0.5, 1, 1], FRAME);
    const c = personSequenceMetrics('c', counts('.xxx'), [0, 1, 1, 1], FRAME);
    const pooled = poolClips([{ people: [a, b], visible: 0, found: 0, recall: 0, longestMiss: 0, longestMissInside: 0, enterLatencies: [] }, { people: [c], visible: 0, found: 0, recall: 0, longestMiss: 0, longestMissInside: 0, enterLatencies: [] }]);
    expect([pooled.visible, pooled.found, pooled.longestMiss, pooled.longestMissInside]).to.deep.equal([9, 5, 3, 3]);
    expect(pooled.recall).to.be.closeTo(5 / 9, 1e-12);
    expect(pooled.enterLatencies).to.deep.equal([1, null]);
    expect(worstLatency(pooled.enterLatencies)).to.equal(null);
    expect(worstLatency([0, 4, 2])).to.equal(4);
    expect(worstLatency([])).to.equal(undefined);
  });
});

describe('quality/metrics PeopleEvaluator', () => {
  it('scores hand-made masks against two people, one entering from the right', () => {
    // 100 × 40 frame (4,000 px: visible from 4 truth px). Person a: 10 × 20 block at x 10; b: 10 × 20 block sliding in from the right edge.
    const W = 100, H = 40;
    const block = (x0: number) => {
      const a = new Uint8Array(W * H);
      for (let y = 10; y < 30; y++) for (let x = Math.max(0, x0); x < Math.min(W, x0 + 10); x++) a[y * W + x] = 255;
      return alphaBox(a, W, H);
    };
    const bx = [100, 96, 92, 88, 84, 80];
    const truth = [
      { name: 'a', alpha: bx.map(() => block(10)), inFrame: bx.map(() => 1) },
      { name: 'b', role: 'enters' as const, alpha: bx.map(block), inFrame: bx.map((x) => Math.min(1, (W - x) / 10)) },
    ];
    const ev = new PeopleEvaluator(W, H, truth);
    for (let t = 0; t < bx.length; t++) {
      const mask = new Uint8Array(W * H);
      // a: masked on every frame but frame 2. b: masked from frame 4 on, and only its top 12 rows (12/20 ≥ ½).
      if (t !== 2) for (let y = 10; y < 30; y++) for (let x = 10; x < 20; x++) mask[y * W + x] = 200;
      if (t >= 4) for (let y = 10; y < 22; y++) for (let x = bx[t]!; x < bx[t]! + 10; x++) mask[y * W + x] = 255;
      ev.add(mask);
    }
    const r = ev.result();
    const [a, b] = r.people;
    expect([a!.visibleFrames, a!.foundFrames, a!.longestMiss, a!.enters]).to.deep.equal([6, 5, 1, false]);
    // b: visible from frame 1 (4 columns × 20 rows = 80 px), fully in (10 columns) from frame 3, found from frame 4.
    expect([b!.visibleFrames, b!.foundFrames, b!.firstVisible, b!.enters, b!.fullyInAt, b!.enterLatency, b!.longestMiss]).to.deep.equal([5, 2, 1, true, 3, 1, 3]);
    expect(r.recall).to.be.closeTo(7 / 11, 1e-12);
    expect(r.enterLatencies).to.deep.equal([1]);
    expect(() => ev.add(new Uint8Array(W * H))).to.throw(/truth for 6 frames/);
  });
});
