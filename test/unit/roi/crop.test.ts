import { expect } from 'chai';
import { axisMap, cropI420, OUTSIDE_LOGIT, overlaySecond, paddedCropRgb, pasteGrid, pasteRgb, RoiBoxError, uncropOutputs } from '../../../src/roi/crop.js';
import type { RoiBox } from '../../../src/roi/roiTracker.js';
import type { I420Picture } from '../../../src/decode/types.js';
import { i420ToRgb } from '../../../src/decode/yuvToRgb.js';

function picture(w: number, h: number): I420Picture {
  const y = new Uint8Array(w * h);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) y[r * w + c] = (r * 7 + c) & 255;
  const cw = w / 2;
  const u = new Uint8Array(cw * (h / 2));
  const v = new Uint8Array(cw * (h / 2));
  for (let r = 0; r < h / 2; r++) for (let c = 0; c < cw; c++) {
    u[r * cw + c] = (r + 3 * c) & 255;
    v[r * cw + c] = (5 * r + c) & 255;
  }
  return { width: w, height: h, y, u, v, yStride: w, uvStride: cw };
}

const box = (x: number, y: number, width: number, height: number, pw = 64, ph = 48): RoiBox => ({ x, y, width, height, pictureWidth: pw, pictureHeight: ph });

describe('roi/crop', () => {
  it('cropI420 views the box’s pixels in all three planes without copying', () => {
    const p = picture(64, 48);
    const c = cropI420(p, box(10, 6, 20, 12));
    expect([c.width, c.height, c.yStride, c.uvStride]).to.deep.equal([20, 12, 64, 32]);
    expect(c.y.buffer).to.equal(p.y.buffer);
    for (const [r, k] of [[0, 0], [5, 7], [11, 19]] as const) expect(c.y[r * c.yStride + k]).to.equal(p.y[(6 + r) * 64 + 10 + k]);
    expect(c.u[2 * c.uvStride + 3]).to.equal(p.u[(3 + 2) * 32 + 5 + 3]);
    expect(c.v[0]).to.equal(p.v[3 * 32 + 5]);
  });

  it('a crop reaching the last column and row of an odd-sized picture converts to RGB', () => {
    const w = 65;
    const h = 49;
    const cw = 33;
    const ch = 25;
    const p: I420Picture = { width: w, height: h, y: new Uint8Array(w * h).fill(120), u: new Uint8Array(cw * ch).fill(128), v: new Uint8Array(cw * ch).fill(128), yStride: w, uvStride: cw };
    const c = cropI420(p, box(40, 30, 25, 19, w, h));
    const rgb = i420ToRgb(c, 16, 9).data;
    expect(rgb.length).to.equal(16 * 9 * 3);
    expect(Math.abs(rgb[0]! - Math.round(1.164383 * (120 - 16)))).to.be.at.most(1);
  });

  it('cropI420 refuses odd, outside or mismatched boxes', () => {
    const p = picture(64, 48);
    expect(() => cropI420(p, box(11, 6, 20, 12))).to.throw(RoiBoxError, /even-aligned/);
    expect(() => cropI420(p, box(50, 6, 20, 12))).to.throw(RoiBoxError, /inside 64×48/);
    expect(() => cropI420(p, box(0, 0, 20, 12, 640, 480))).to.throw(RoiBoxError, /640×480 picture/);
  });

  it('axisMap: cell centres of the picture grid mapped into the crop grid', () => {
    // 4 cells over a picture of 8 px; the crop is pixels [4, 8): cells 2 and 3 are inside.
    const m = axisMap(4, 8, 4, 4);
    expect(Array.from(m.inside)).to.deep.equal([0, 0, 1, 1]);
    // Cell 2's centre (picture px 5) is at u = 0.25 of the crop → crop cell 0.5: halfway between cells 0 and 1.
    expect([m.i0[2], m.i1[2], m.f[2]]).to.deep.equal([0, 1, 0.5]);
    // Cell 3 (px 7, u = 0.75 → crop cell 2.5).
    expect([m.i0[3], m.i1[3], m.f[3]]).to.deep.equal([2, 3, 0.5]);
    expect([m.first, m.end]).to.deep.equal([2, 4]);
    const none = axisMap(4, 8, 8, 4); // a crop beyond the picture's grid
    expect([none.first, none.end]).to.deep.equal([0, 0]);
  });

  it('pasteGrid: the identity for a box covering the picture', () => {
    const src = Float32Array.from({ length: 6 * 8 * 2 }, (_, i) => Math.sin(i));
    const out = pasteGrid(src, 6, 8, 2, box(0, 0, 64, 48), -8);
    for (let i = 0; i < src.length; i++) expect(out[i]).to.be.closeTo(src[i]!, 1e-6);
  });

  it('pasteGrid: a crop of the right half puts a linear ramp back where it was, `outside` elsewhere', () => {
    // Values over the crop's grid: v = crop column (0..7) on every row, 1 channel.
    const rows = 4;
    const cols = 8;
    const src = Float32Array.from({ length: rows * cols }, (_, i) => i % cols);
    const out = pasteGrid(src, rows, cols, 1, box(32, 0, 32, 48), OUTSIDE_LOGIT);
    for (let r = 0; r < rows; r++) {
      for (let X = 0; X < cols; X++) {
        const v = out[r * cols + X]!;
        if (X < 4) expect(v).to.equal(OUTSIDE_LOGIT);
        else {
          // Picture cell X (centre at px 8X + 4) is at crop cell (8X + 4 − 32)/32·8 − ½ = 2X − 8 + ½, clamped to [0, 7].
          expect(v).to.be.closeTo(Math.min(7, 2 * X - 8 + 0.5), 1e-6);
        }
      }
    }
  });

  it('overlaySecond: the larger logit inside the region only, the other model\'s grid over its own crop (past the picture\'s edge) resampled onto the grid, clamped; additions counted in the doubt', () => {
    // Grid: 8×4 cells over the right half of a 64×32 picture (cells 4 × 8 px). The other model:
    // 16×16 cells over x 40..72 (reaching 8 px past the picture's right edge), y 0..32.
    const box: RoiBox = { x: 32, y: 0, width: 32, height: 32, pictureWidth: 64, pictureHeight: 32 };
    const crop = { x0: 40, y0: 0, x1: 72, y1: 32 };
    const region = { x0: 40, y0: 0, x1: 64, y1: 32 }; // the crop inside the picture: cells 2..7
    const doubt = { x0: 44, y0: 8, x1: 56, y1: 24 }; // cells 3..5 × 1..2
    const first = new Float32Array(8 * 4).fill(-4);
    const sure = new Float32Array(16 * 16).fill(100); // sure of a person everywhere
    expect(overlaySecond(first, 8, 4, box, sure, 16, 16, crop, region, doubt), 'the doubt\'s cells, all turned to person').to.deep.equal({ cells: 3 * 2, added: 3 * 2 });
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 8; x++) expect(first[y * 8 + x], `cell ${x},${y}`).to.equal(x >= 2 ? 8 : -4);
    }
    // Where a cell lands on the other grid: centre px 34 + 4X → its column (34 + 4X − 40) / 32 · 16 − ½ = 2X − 3.5.
    const ramp = Float32Array.from({ length: 16 * 16 }, (_, i) => (i % 16) / 4);
    const g = new Float32Array(8 * 4).fill(-4);
    overlaySecond(g, 8, 4, box, ramp, 16, 16, crop, region, doubt);
    for (let x = 2; x < 8; x++) expect(g[8 + x], `cell ${x}`).to.be.closeTo((2 * x - 3.5) / 4, 1e-6);
    // Where the first model is surer, it stays; a region outside the grid changes nothing.
    const surer = new Float32Array(8 * 4).fill(9);
    expect(overlaySecond(surer, 8, 4, box, sure, 16, 16, crop, region, doubt)).to.deep.equal({ cells: 6, added: 0 });
    expect(surer.every((v) => v === 9)).to.equal(true);
    const left = { x0: 0, y0: 0, x1: 30, y1: 32 };
    expect(overlaySecond(new Float32Array(32).fill(-4), 8, 4, box, sure, 16, 16, left, left, left)).to.deep.equal({ cells: 0, added: 0 });
    // Raised but still below the threshold: changed, not added.
    const low = new Float32Array(8 * 4).fill(-6);
    expect(overlaySecond(low, 8, 4, box, new Float32Array(256).fill(-1), 16, 16, crop, region, doubt)).to.deep.equal({ cells: 6, added: 0 });
    expect(low[8 + 3]).to.equal(-1);
    expect(() => overlaySecond(first, 8, 5, box, sure, 16, 16, crop, region, doubt)).to.throw(RoiBoxError);
  });

  it('paddedCropRgb: the part of the box inside the picture converted, black where it reaches past the edge', () => {
    // A 16×8 picture, luma 16 + 10·x (limited range), neutral chroma: grey ramps.
    const pic = { width: 16, height: 8, y: new Uint8Array(16 * 8), u: new Uint8Array(8 * 4).fill(128), v: new Uint8Array(8 * 4).fill(128), yStride: 16, uvStride: 8 };
    for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) pic.y[y * 16 + x] = 16 + 10 * x;
    // Box x 8..24 (half past the right edge), y 0..8, onto 8×4: the left half holds x 8..16, the right half black.
    const out = paddedCropRgb(pic, { x0: 8, y0: 0, x1: 24, y1: 8 }, 8, 4);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 8; x++) {
        const r = out[(y * 8 + x) * 3]!;
        if (x >= 4) expect(r, `black at ${x},${y}`).to.equal(0);
        else expect(r, `inside at ${x},${y}`).to.be.closeTo(1.164383 * (10 * (8 + 2 * x + 0.5)), 1.5);
      }
    }
    // Wholly inside: the same as converting the crop.
    const inside = paddedCropRgb(pic, { x0: 0, y0: 0, x1: 16, y1: 8 }, 8, 4);
    expect(Array.from(inside)).to.deep.equal(Array.from(i420ToRgb(pic, 8, 4).data));
    // Wholly outside: black.
    expect(paddedCropRgb(pic, { x0: 20, y0: 0, x1: 30, y1: 8 }, 4, 4).every((v) => v === 0)).to.equal(true);
    expect(() => paddedCropRgb(pic, { x0: 4, y0: 4, x1: 4, y1: 8 }, 4, 4)).to.throw(RoiBoxError);
  });

  it('pasteRgb: nearest sample inside the crop, black outside', () => {
    const w = 8;
    const h = 4;
    const src = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) src.set([i, 100 + i, 200], i * 3);
    const out = pasteRgb(src, w, h, box(0, 24, 64, 24));
    // Top half of the picture is outside the crop.
    expect(Array.from(out.subarray(0, 2 * w * 3)).every((v) => v === 0)).to.equal(true);
    // Picture row 2 (centre px 30) → crop row (30 − 24)/24·4 − ½ = 0.5 → nearest row 1 (ties go up).
    expect(Array.from(out.subarray(2 * w * 3, 2 * w * 3 + 3))).to.deep.equal([8, 108, 200]);
  });

  it('uncropOutputs maps logits, features and RGB with the backbone’s grid sizes, and checks them', () => {
    const g = { maskWidth: 8, maskHeight: 4, inputWidth: 8, inputHeight: 4, featureShape: [2, 4, 3] as const };
    const u = uncropOutputs({ logits: new Float32Array(32).fill(3), features: new Float32Array(24).fill(1), rgb: new Uint8Array(96).fill(9) }, g, box(32, 0, 32, 48));
    expect(Array.from(u.logits.subarray(0, 8))).to.deep.equal([-8, -8, -8, -8, 3, 3, 3, 3]);
    expect(Array.from(u.features.subarray(0, 12))).to.deep.equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect(u.rgb[0]).to.equal(0);
    expect(u.rgb[7 * 3]).to.equal(9);
    expect(() => uncropOutputs({ logits: new Float32Array(31), features: new Float32Array(24), rgb: new Uint8Array(96) }, g, box(32, 0, 32, 48))).to.throw(RoiBoxError, /grid has 31 values/);
  });
});
