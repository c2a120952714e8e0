import { expect } from 'chai';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../../src/paths.js';
import { BLOCK_MATCH_WASM_BASE64 } from '../../../src/temporal/attention/blockMatchWasm.js';
import { PixelMatcher, PixelMatchConfigError } from '../../../src/temporal/attention/pixelMatch.js';
import { WasmBlockSearch, integral, searchBlocksJs } from '../../../src/temporal/attention/blockSearch.js';
import { boxMean } from '../../../src/temporal/attention/imageOps.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/**
 * Random texture: 100 blobs of 3–11 px + fine noise, matchable at every pyramid level (flat
 * regions are not: there the 1/4-resolution level finds no motion and the read falls back to
 * whatever the ±searchRadius window around its guess matches).
 */
function texture(W: number, H: number, rand: () => number): Uint8Array {
  const img = new Uint8Array(W * H);
  const blobs = Array.from({ length: 100 }, () => [rand() * W, rand() * H, 3 + rand() * 8, (rand() - 0.5) * 160] as const);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 128 + (rand() - 0.5) * 30;
      for (const [cx, cy, r, a] of blobs) v += a * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r));
      img[y * W + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return img;
}

const clampI = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);

describe('temporal/attention pixel-level read (pixelMatch)', () => {
  it('the committed module is blockMatch.wat assembled (npm run build:wasm)', async () => {
    const script = pathToFileURL(path.join(projectRoot(), 'scripts', 'build-wasm.mjs')).href;
    const { assemble } = (await import(script)) as { assemble(file: string): Promise<Buffer> };
    const fresh = await assemble(path.join(projectRoot(), 'src', 'temporal', 'attention', 'blockMatch.wat'));
    expect(fresh.toString('base64')).to.equal(BLOCK_MATCH_WASM_BASE64);
  });

  it('block search: the offset of least zero-mean SAD + distance penalty, by brute force, in JavaScript and WebAssembly', () => {
    const rand = rng(5);
    for (const [W, H, bs, R] of [[32, 16, 8, 3], [16, 16, 4, 5], [48, 32, 8, 2]] as const) {
      const a = texture(W, H, rand);
      const b = Uint8Array.from(a, (v, i) => Math.min(255, v + ((i * 7) % 5)));
      const blocks = (W / bs) * (H / bs);
      const prior = Int32Array.from({ length: blocks * 2 }, () => Math.round((rand() - 0.5) * 8));
      const js = new Int32Array(blocks * 2);
      searchBlocksJs(a, b, integral(b, W, H, new Int32Array((W + 1) * (H + 1))), W, H, bs, R, prior, js);
      const wasm = WasmBlockSearch.create(W, H);
      expect(wasm, 'WebAssembly SIMD in Node 20').to.not.equal(undefined);
      const ws = new Int32Array(blocks * 2);
      wasm!.setPlanes(a, b, W, H);
      wasm!.search(W, H, bs, R, prior, ws);
      expect(Array.from(ws)).to.deep.equal(Array.from(js));
      // Brute force of the documented cost, window clipped so the block stays inside.
      for (let blk = 0; blk < blocks; blk++) {
        const y0 = Math.floor(blk / (W / bs)) * bs;
        const x0 = (blk % (W / bs)) * bs;
        const py = Math.max(-y0, Math.min(H - bs - y0, prior[2 * blk]!));
        const px = Math.max(-x0, Math.min(W - bs - x0, prior[2 * blk + 1]!));
        let best = Infinity;
        let arg: [number, number] = [py, px];
        for (let dy = py - R; dy <= py + R; dy++) {
          for (let dx = px - R; dx <= px + R; dx++) {
            if (y0 + dy < 0 || y0 + dy + bs > H || x0 + dx < 0 || x0 + dx + bs > W) continue;
            let sa = 0;
            let sb = 0;
            for (let r = 0; r < bs; r++) for (let c = 0; c < bs; c++) {
              sa += a[(y0 + r) * W + x0 + c]!;
              sb += b[(y0 + r + dy) * W + x0 + c + dx]!;
            }
            const shift = Math.floor((sa - sb + (bs * bs) / 2) / (bs * bs));
            let sad = 0;
            for (let r = 0; r < bs; r++) for (let c = 0; c < bs; c++) sad += Math.abs(a[(y0 + r) * W + x0 + c]! - b[(y0 + r + dy) * W + x0 + c + dx]! - shift);
            const cost = 100 * sad + bs * bs * (Math.abs(dy - py) + Math.abs(dx - px));
            if (cost < best) {
              best = cost;
              arg = [dy, dx];
            }
          }
        }
        expect([js[2 * blk], js[2 * blk + 1]], `block ${blk} of ${W}×${H}/${bs}`).to.deep.equal(arg);
      }
    }
  });

  it('box mean: the clamped-window mean of each pixel (edges count only pixels inside)', () => {
    const rand = rng(2);
    const [W, H] = [16, 8];
    const src = Uint8Array.from({ length: W * H }, () => Math.floor(rand() * 256));
    for (const q of [0, 1, 2]) {
      const out = new Float32Array(W * H);
      boxMean(src, W, H, q, new Uint16Array(W * H), new Uint16Array(W), out);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          let s = 0;
          let n = 0;
          for (let yy = Math.max(0, y - q); yy <= Math.min(H - 1, y + q); yy++) for (let xx = Math.max(0, x - q); xx <= Math.min(W - 1, x + q); xx++) {
            s += src[yy * W + xx]!;
            n++;
          }
          expect(out[y * W + x]).to.be.closeTo(s / n, 1e-4);
        }
      }
    }
  });

  it('a picture moved by (2, −3) px: the read is the memory moved with it, at zero cost away from the borders', () => {
    const [W, H] = [64, 48];
    const prev = texture(W, H, rng(11));
    const [dy, dx] = [2, -3];
    // now(x) = prev(x + d): the content at x was at x + d before.
    const now = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) now[y * W + x] = prev[clampI(y + dy, H) * W + clampI(x + dx, W)]!;
    const memory = new Uint8Array(W * H);
    for (let y = 10; y < 30; y++) for (let x = 20; x < 44; x++) memory[y * W + x] = 255;
    for (const accelerate of [true, false]) {
      const m = new PixelMatcher({ width: W, height: H, block: 8, searchRadius: 3, patchRadius: 1, coarseRadius: 4 }, accelerate);
      const r = m.run({ lumaNow: now, lumaPrev: prev, memory });
      let wrong = 0;
      for (let y = 8; y < H - 8; y++) {
        for (let x = 8; x < W - 8; x++) {
          if (r.read[y * W + x] !== memory[(y + dy) * W + x + dx]) wrong++;
          // The patch of a pixel next to a border block includes that block's pixels.
          if (y > 8 && y < H - 9 && x > 8 && x < W - 9) expect(r.cost[y * W + x], `cost at ${x},${y}`).to.equal(0);
        }
      }
      expect(wrong, `misread pixels (${accelerate ? 'wasm' : 'js'})`).to.equal(0);
    }
  });

  it('a square moving over a still background: each pixel follows its own motion, not its block\'s', () => {
    const [W, H] = [64, 48];
    const bg = texture(W, H, rng(3));
    const fg = texture(W, H, rng(4));
    // A 13 × 13 square at x0 in the memory frame, at x0 + 5 now (not aligned to the 8-px blocks).
    const draw = (sx: number) => {
      const img = bg.slice();
      const mask = new Uint8Array(W * H);
      for (let y = 17; y < 30; y++) for (let x = sx; x < sx + 13; x++) {
        img[y * W + x] = Math.min(255, fg[y * W + x]! + 60);
        mask[y * W + x] = 255;
      }
      return { img, mask };
    };
    const before = draw(19);
    const after = draw(24);
    // The foreground texture moves with the square: redraw it shifted.
    for (let y = 17; y < 30; y++) for (let x = 24; x < 37; x++) after.img[y * W + x] = before.img[y * W + x - 5]!;
    const m = new PixelMatcher({ width: W, height: H, block: 8, searchRadius: 3, patchRadius: 1, coarseRadius: 4 });
    const r = m.run({ lumaNow: after.img, lumaPrev: before.img, memory: before.mask });
    let wrong = 0;
    for (let i = 0; i < W * H; i++) if ((r.read[i]! >= 128) !== (after.mask[i]! >= 128)) wrong++;
    // Blocks straddle the square's edges; a per-block read would get whole block columns wrong.
    expect(wrong, 'pixels whose read label differs from the square now').to.be.at.most(6);
  });

  it('JavaScript and WebAssembly give the same read, offsets and (to float rounding) cost on random scenes, 4- and 8-px blocks', () => {
    const rand = rng(21);
    for (const block of [4, 8] as const) {
      const [W, H] = [48, 32];
      const a = texture(W, H, rand);
      const b = texture(W, H, rand);
      const memory = Uint8Array.from({ length: W * H }, (_, i) => ((i % W) > 20 + ((i / W) | 0) % 7 ? 250 : (i * 13) % 256));
      const opts = { width: W, height: H, block, searchRadius: 2, patchRadius: 1, coarseRadius: 3 };
      const js = new PixelMatcher(opts, false).run({ lumaNow: a, lumaPrev: b, memory });
      const wm = new PixelMatcher(opts, true);
      expect(wm.accelerated).to.equal(true);
      const ws = wm.run({ lumaNow: a, lumaPrev: b, memory });
      expect(Array.from(ws.offsets)).to.deep.equal(Array.from(js.offsets));
      expect(Array.from(ws.read)).to.deep.equal(Array.from(js.read));
      for (let i = 0; i < W * H; i++) expect(ws.cost[i]).to.be.closeTo(js.cost[i]!, 1e-4);
      // source names the memory pixel each read came from (the logit memory reads its plane there).
      expect(Array.from(ws.source)).to.deep.equal(Array.from(js.source));
      for (let i = 0; i < W * H; i++) expect(ws.read[i], `read at ${i}`).to.equal(memory[ws.source[i]!]);
    }
  });

  it('rejects bad geometry and inputs of the wrong size', () => {
    const ok = { width: 32, height: 16, block: 8, searchRadius: 3, patchRadius: 1, coarseRadius: 7 };
    expect(() => new PixelMatcher({ ...ok, block: 6 })).to.throw(PixelMatchConfigError, /block of 4 or 8/);
    expect(() => new PixelMatcher({ ...ok, width: 40 })).to.throw(PixelMatchConfigError, /multiples of 16/);
    expect(() => new PixelMatcher({ ...ok, searchRadius: 17 })).to.throw(PixelMatchConfigError, /radii/);
    expect(() => new PixelMatcher({ ...ok, patchRadius: -1 })).to.throw(PixelMatchConfigError, /integer/);
    const m = new PixelMatcher(ok);
    const img = new Uint8Array(32 * 16);
    expect(() => m.run({ lumaNow: img, lumaPrev: new Uint8Array(10), memory: img })).to.throw(RangeError, /32×16/);
  });
});
