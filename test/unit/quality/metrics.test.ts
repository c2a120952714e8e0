import { expect } from 'chai';
import {
  binarize, boundaryF, boundaryMap, boundaryTolerancePx, dtSSD, evaluateSequence, jaccard, MetricsInputError, nearEdges, selfTE, SequenceEvaluator, temporalError,
} from '../../../src/quality/metrics.js';
import { rng } from '../../../src/shared/random.js';

/** A mask from rows of '#' (255, foreground) and '.' (0). */
function mask(...rows: string[]): Uint8Array {
  return Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 255 : 0));
}

/** A soft mask: a few discs (probability falling off over ~3 px at their rim) plus noise. */
function blobs(w: number, h: number, seed: number, shift = 0): Uint8Array {
  const rand = rng(seed);
  const discs = Array.from({ length: 4 }, () => ({ x: rand() * w, y: rand() * h, r: (0.05 + rand() * 0.2) * Math.min(w, h) }));
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (const d of discs) v = Math.max(v, Math.min(1, Math.max(0, (d.r - Math.hypot(x - d.x - shift, y - d.y)) / 3 + 0.5)));
      out[y * w + x] = Math.round(v * 255);
    }
  }
  return out;
}

/** F by definition, O(boundary²): the reference the fast version must match. */
function bruteF(pred: Uint8Array, gt: Uint8Array, w: number, h: number, r: number): number {
  const pts = (m: Uint8Array) => {
    const b = boundaryMap(binarize(m), w, h);
    const out: [number, number][] = [];
    for (let i = 0; i < b.length; i++) if (b[i]) out.push([i % w, Math.floor(i / w)]);
    return out;
  };
  const p = pts(pred);
  const g = pts(gt);
  if (!p.length && !g.length) return 1;
  if (!p.length || !g.length) return 0;
  const near = (a: [number, number], set: [number, number][]) => set.some((b) => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 <= r * r);
  const P = p.filter((a) => near(a, g)).length / p.length;
  const R = g.filter((a) => near(a, p)).length / g.length;
  return P + R === 0 ? 0 : (2 * P * R) / (P + R);
}

describe('quality/metrics', () => {
  describe('J', () => {
    it('matches a hand-computed IoU, thresholding at 128', () => {
      // pred fg (≥ 128): (0,0) (1,0) (0,1) (1,1); the 127 at (2,0) is background.
      const pred = Uint8Array.from([200, 128, 127, 0, 255, 255, 0, 0, ...new Array(8).fill(0)]);
      // gt fg: (1,0) (2,0) (1,1) (2,1).
      const gt = mask('.##.', '.##.', '....', '....');
      // intersection {(1,0), (1,1)} = 2, union = 4 + 4 − 2 = 6 → J = 1/3.
      expect(jaccard(pred, gt)).to.be.closeTo(1 / 3, 1e-12);
    });

    it('is 1 for two empty masks, 0 for an empty prediction of a non-empty truth', () => {
      expect(jaccard(new Uint8Array(16), new Uint8Array(16))).to.equal(1);
      expect(jaccard(new Uint8Array(16), mask('.#..', '....', '....', '....'))).to.equal(0);
    });

    it('rejects masks of different sizes', () => {
      expect(() => jaccard(new Uint8Array(4), new Uint8Array(5))).to.throw(MetricsInputError);
    });
  });

  describe('F', () => {
    it('marks foreground pixels with a background or outside 4-neighbour as boundary', () => {
      const b = boundaryMap(binarize(mask('####', '####', '####', '###.')), 4, 4);
      // Every foreground pixel on the image edge is boundary (its outside neighbour). The interior
      // pixels (1,1) and (2,2) have only foreground 4-neighbours ((3,3) is a diagonal of (2,2)),
      // so they are not.
      expect([...b]).to.deep.equal([...mask('####', '#..#', '#..#', '###.')].map((v) => (v ? 1 : 0)));
    });

    it('tolerance is round(0.008 × diagonal)', () => {
      expect(boundaryTolerancePx(640, 480)).to.equal(6); // diagonal 800 → 6.4
      expect(boundaryTolerancePx(854, 480)).to.equal(8); // 979.6 → 7.84
      expect(boundaryTolerancePx(1920, 1080)).to.equal(18); // 2202.9 → 17.6
      expect(boundaryTolerancePx(8, 8)).to.equal(0);
    });

    // 4×4 square (rows 2–5, cols 2–5) and the same square one pixel to the right (cols 3–6).
    const sq = mask('........', '........', '..####..', '..####..', '..####..', '..####..', '........', '........');
    const sqRight = mask('........', '........', '...####.', '...####.', '...####.', '...####.', '........', '........');
    const small = mask('........', '........', '........', '...##...', '...##...', '........', '........', '........');

    it('shifted square, tolerance 0 and 1', () => {
      // Each boundary has 12 pixels. Exact matches: rows 2 and 5, cols 3–5 = 6 → P = R = 6/12, F = 0.5.
      expect(boundaryF(sq, sqRight, 8, 8, { tolerancePx: 0 })).to.be.closeTo(0.5, 1e-12);
      expect(boundaryF(sq, sqRight, 8, 8)).to.be.closeTo(0.5, 1e-12); // default tolerance at 8×8 is 0
      // With radius 1 every boundary pixel has the other boundary one step left or right → F = 1.
      expect(boundaryF(sq, sqRight, 8, 8, { tolerancePx: 1 })).to.equal(1);
    });

    it('square around a 2×2 block: precision ≠ recall', () => {
      // Tolerance 0: the block (all 4 pixels boundary) lies in the square's interior → P = R = 0, F = 0.
      expect(boundaryF(sq, small, 8, 8, { tolerancePx: 0 })).to.equal(0);
      // Tolerance 1: 8 of the square's 12 boundary pixels touch the block (not the 4 corners,
      // which are diagonal) → P = 2/3; every block pixel has a square pixel beside it → R = 1.
      // F = 2 · 2/3 · 1 / (2/3 + 1) = 0.8.
      expect(boundaryF(sq, small, 8, 8, { tolerancePx: 1 })).to.be.closeTo(0.8, 1e-12);
    });

    it('matches within a disk (dx² + dy² ≤ r²), not a square', () => {
      const one = (x: number, y: number) => {
        const m = new Uint8Array(64);
        m[y * 8 + x] = 255;
        return m;
      };
      expect(boundaryF(one(3, 3), one(4, 4), 8, 8, { tolerancePx: 1 })).to.equal(0); // diagonal: 2 > 1
      expect(boundaryF(one(3, 3), one(4, 4), 8, 8, { tolerancePx: 2 })).to.equal(1); // 2 ≤ 4
      expect(boundaryF(one(3, 3), one(4, 5), 8, 8, { tolerancePx: 2 })).to.equal(0); // 1 + 4 = 5 > 4
      expect(boundaryF(one(3, 3), one(4, 5), 8, 8, { tolerancePx: 3 })).to.equal(1);
    });

    it('both empty → 1, one empty → 0', () => {
      expect(boundaryF(new Uint8Array(64), new Uint8Array(64), 8, 8)).to.equal(1);
      expect(boundaryF(new Uint8Array(64), sq, 8, 8)).to.equal(0);
      expect(boundaryF(sq, new Uint8Array(64), 8, 8)).to.equal(0);
    });

    it('agrees with the brute-force definition on random soft masks', () => {
      const w = 61, h = 43;
      for (let seed = 1; seed <= 6; seed++) {
        const p = blobs(w, h, seed);
        const g = blobs(w, h, seed, seed % 3); // same discs, shifted 0–2 px
        for (const r of [0, 1, 2, 3, 5]) expect(boundaryF(p, g, w, h, { tolerancePx: r }), `seed ${seed} r ${r}`).to.be.closeTo(bruteF(p, g, w, h, r), 1e-12);
      }
    });
  });

  describe('TE and selfTE', () => {
    // 2×2 frames, labels as [p0 p1 p2 p3]:
    const pred = [mask('#.', '..'), mask('##', '..'), mask('.#', '#.')];
    const gt = [mask('#.', '..'), mask('##', '..'), mask('##', '..')];

    it('counts only flips the ground truth does not make', () => {
      // (0→1): pred flips p1, so does gt → 0. (1→2): pred flips p0 and p2, gt nothing → 2/4.
      // TE = (0 + 0.5) / 2 = 0.25.
      expect(temporalError(pred, gt)).to.equal(0.25);
    });

    it('selfTE counts every flip', () => {
      // (0→1): 1 of 4; (1→2): 2 of 4 → (0.25 + 0.5) / 2 = 0.375.
      expect(selfTE(pred)).to.equal(0.375);
    });

    it('is 0 for one frame and rejects mismatched sequences', () => {
      expect(temporalError([pred[0]!], [gt[0]!])).to.equal(0);
      expect(selfTE([pred[0]!])).to.equal(0);
      expect(() => temporalError(pred, gt.slice(1))).to.throw(MetricsInputError, /3 frames, ground truth 2/);
    });
  });

  describe('dtSSD', () => {
    it('matches hand-computed values', () => {
      const f = (...v: number[]) => Uint8Array.from(v);
      // t=1: both gain 1.0 at p0 → 0. t=2: pred gains 1.0 at p1, gt does not → sqrt(1/4) × 100 = 50.
      // Mean over t ≥ 1: (0 + 50) / 2 = 25.
      expect(dtSSD([f(0, 0, 0, 0), f(255, 0, 0, 0), f(255, 255, 0, 0)], [f(0, 0, 0, 0), f(255, 0, 0, 0), f(255, 0, 0, 0)])).to.be.closeTo(25, 1e-9);
      // Soft: pred 0 → 102 (0.4), gt 0 → 255 (1.0): (0.4 − 1)² = 0.36, /4 = 0.09, sqrt = 0.3 → 30.
      expect(dtSSD([f(0, 0, 0, 0), f(102, 0, 0, 0)], [f(0, 0, 0, 0), f(255, 0, 0, 0)])).to.be.closeTo(30, 1e-9);
      expect(dtSSD([f(9, 9, 9, 9)], [f(0, 0, 0, 0)])).to.equal(0);
    });
  });

  describe('evaluateSequence / SequenceEvaluator', () => {
    const W = 48, H = 36;
    const seq = Array.from({ length: 5 }, (_, t) => blobs(W, H, 7, t));

    it('a sequence against itself: J = 1, F = 1, TE = 0, dtSSD = 0', () => {
      const m = evaluateSequence(seq, seq, W, H);
      expect([m.frames, m.width, m.height, m.J, m.F, m.TE, m.dtSSD]).to.deep.equal([5, W, H, 1, 1, 0, 0]);
      expect(m.perFrameJ).to.deep.equal([1, 1, 1, 1, 1]);
      expect(m.boundaryTolerancePx).to.equal(boundaryTolerancePx(W, H));
    });

    it('all-background prediction of a non-empty truth: J = 0, F = 0', () => {
      const empty = seq.map(() => new Uint8Array(W * H));
      const m = evaluateSequence(empty, seq, W, H);
      expect(m.J).to.equal(0);
      expect(m.F).to.equal(0);
    });

    it('agrees with the single-metric functions and copes with reused buffers', () => {
      const pred = seq.map((_, t) => blobs(W, H, 7, t + (t % 2) * 2)); // jittered → flicker
      const m = evaluateSequence(pred, seq, W, H);
      expect(m.perFrameJ).to.deep.equal(pred.map((p, t) => jaccard(p, seq[t]!)));
      expect(m.perFrameF).to.deep.equal(pred.map((p, t) => boundaryF(p, seq[t]!, W, H)));
      expect(m.J).to.be.closeTo(m.perFrameJ.reduce((a, b) => a + b) / 5, 1e-12);
      expect(m.TE).to.be.closeTo(temporalError(pred, seq), 1e-12);
      expect(m.dtSSD).to.be.closeTo(dtSSD(pred, seq), 1e-12);
      expect(m.TE).to.be.greaterThan(0);
      // Feeding the same frames through one reused buffer pair gives the same result.
      const ev = new SequenceEvaluator(W, H);
      const pb = new Uint8Array(W * H);
      const gb = new Uint8Array(W * H);
      for (let t = 0; t < 5; t++) {
        pb.set(pred[t]!);
        gb.set(seq[t]!);
        ev.add(pb, gb);
      }
      expect(ev.result()).to.deep.equal(m);
    });

    it('rejects wrong sizes and empty sequences', () => {
      const ev = new SequenceEvaluator(W, H);
      expect(() => ev.add(new Uint8Array(10), new Uint8Array(W * H))).to.throw(MetricsInputError, /prediction frame 0: has 10 pixels/);
      expect(() => ev.result()).to.throw(MetricsInputError, /no frames/);
    });

    it('90 frames of 640×480 in well under a second', function () {
      const w = 640, h = 480;
      // A wide soft-blob scene panned 2 px per frame (rows copied out of it: quick to build).
      const scene = blobs(w + 180, h, 3);
      const gt = Array.from({ length: 90 }, (_, t) => {
        const f = new Uint8Array(w * h);
        for (let y = 0; y < h; y++) f.set(scene.subarray(y * (w + 180) + 2 * t, y * (w + 180) + 2 * t + w), y * w);
        return f;
      });
      const pred = gt.map((g, t) => {
        const p = g.slice();
        for (let i = (t * 7919) % 1000; i < p.length; i += 997) p[i] = 255 - p[i]!; // sparse label noise
        return p;
      });
      const t0 = performance.now();
      const m = evaluateSequence(pred, gt, w, h);
      const ms = performance.now() - t0;
      console.log(`      metrics on 90 × 640×480: ${ms.toFixed(0)} ms (J ${m.J.toFixed(4)}, F ${m.F.toFixed(4)}, TE ${m.TE.toFixed(5)}, dtSSD ${m.dtSSD.toFixed(3)})`);
      expect(m.J).to.be.within(0.95, 1);
      expect(ms).to.be.below(2000); // ≈ 0.3 s on this 2-core machine; generous for slow CI
    });
  });
});

describe('quality/metrics TE split by distance to the truth’s edges', () => {
  it('nearEdges marks pixels within r (square neighbourhood) of a label change', () => {
    const W = 8;
    const H = 3;
    const bin = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 4; x < W; x++) bin[y * W + x] = 1; // edge between x = 3 and 4
    const out = nearEdges(bin, W, H, 1, new Uint8Array(W * H), new Uint8Array(W * H));
    // Edge pixels are x = 3 (differs from its right neighbour); within 1: x = 2..4, every row.
    for (let y = 0; y < H; y++) expect(Array.from(out.subarray(y * W, (y + 1) * W))).to.deep.equal([0, 0, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(nearEdges(new Uint8Array(W * H), W, H, 2, new Uint8Array(W * H), new Uint8Array(W * H))).every((v) => v === 0)).to.equal(true);
  });

  it('splits TE into flips near a truth edge and flips elsewhere, which add up to TE', () => {
    const W = 40;
    const H = 10;
    const frame = (edge: number, blip: boolean, predEdge: number) => {
      const gt = new Uint8Array(W * H);
      const pred = new Uint8Array(W * H);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          if (x >= edge) gt[y * W + x] = 255;
          if (x >= predEdge) pred[y * W + x] = 255;
        }
      }
      if (blip) pred[5 * W + 2] = 255; // far from the edge (x = 2, edge at 20+)
      return { gt, pred };
    };
    const ev = new SequenceEvaluator(W, H, { edgeSplitPx: 3 });
    // The truth's edge moves 20 → 21; the prediction's edge 20 → 23 (2 columns flip where the
    // truth did not: x = 21, 22, within 3 px of the truth edge) and a one-pixel blip appears far away.
    const a = frame(20, false, 20);
    const b = frame(21, true, 23);
    ev.add(a.pred, a.gt);
    ev.add(b.pred, b.gt);
    const r = ev.result();
    const n = W * H;
    expect(r.TE).to.be.closeTo((2 * H + 1) / n, 1e-12);
    expect(r.TEnearEdge).to.be.closeTo((2 * H) / n, 1e-12);
    expect(r.TEfar).to.be.closeTo(1 / n, 1e-12);
    const plain = new SequenceEvaluator(W, H);
    plain.add(a.pred, a.gt);
    plain.add(b.pred, b.gt);
    expect(plain.result().TE).to.equal(r.TE);
    expect(plain.result().TEnearEdge, 'no split unless asked').to.equal(undefined);
    expect(() => new SequenceEvaluator(W, H, { edgeSplitPx: -1 })).to.throw(MetricsInputError, /edgeSplitPx/);
  });
});

describe('quality/metrics TE under motion (a property of the definition)', () => {
  it('counts a perfectly stable mask whose edge is offset from the truth’s, once the person moves', () => {
    // A bar moving 5 px/frame to the right; the prediction is the same bar grown by 2 px on each
    // side: no flicker at all, yet at each frame 2 columns beyond each moving edge flip in the
    // prediction where the truth does not.
    const W = 60;
    const H = 8;
    const bar = (x0: number, x1: number) => {
      const m = new Uint8Array(W * H);
      for (let y = 0; y < H; y++) for (let x = Math.max(0, x0); x < Math.min(W, x1); x++) m[y * W + x] = 255;
      return m;
    };
    const gt: Uint8Array[] = [];
    const pred: Uint8Array[] = [];
    for (let t = 0; t < 4; t++) {
      gt.push(bar(10 + 5 * t, 25 + 5 * t));
      pred.push(bar(8 + 5 * t, 27 + 5 * t));
    }
    expect(temporalError(pred, gt)).to.be.closeTo((2 * 2 * H) / (W * H), 1e-12);
    expect(temporalError(gt, gt)).to.equal(0);
  });
});
