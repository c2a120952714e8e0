import { expect } from 'chai';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../../src/paths.js';
import { AFFINITY_WASM_BASE64 } from '../../../src/temporal/attention/affinityWasm.js';
import { WasmAffinity } from '../../../src/temporal/attention/wasmAffinity.js';
import { FusedAttention } from '../../../src/temporal/attention/fusedKernel.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function unit(n: number, c: number, rand: () => number): Float32Array {
  const a = Float32Array.from({ length: n * c }, () => rand() - 0.5);
  for (let p = 0; p < n; p++) {
    let s = 0;
    for (let i = 0; i < c; i++) s += a[p * c + i]! ** 2;
    for (let i = 0; i < c; i++) a[p * c + i]! /= Math.sqrt(s);
  }
  return a;
}

describe('temporal/attention WebAssembly affinities', () => {
  it('the committed module is affinity.wat assembled (npm run build:wasm)', async () => {
    const script = pathToFileURL(path.join(projectRoot(), 'scripts', 'build-wasm.mjs')).href;
    const { assemble } = (await import(script)) as { assemble(file: string): Promise<Buffer> };
    const fresh = await assemble(path.join(projectRoot(), 'src', 'temporal', 'attention', 'affinity.wat'));
    expect(fresh.toString('base64')).to.equal(AFFINITY_WASM_BASE64);
  });

  it('computes every active cell\'s window affinities, in candidate order, clipped at the grid edges', () => {
    const rand = rng(9);
    const [h, w, c, n, r] = [5, 7, 8, 3, 2];
    const P = h * w;
    const q = unit(P, c, rand);
    const k = unit(n * P, c, rand);
    const active = Uint8Array.from({ length: P }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const wasm = WasmAffinity.create();
    expect(wasm, 'WebAssembly SIMD in Node 20').to.not.equal(undefined);
    const got = wasm!.run(q, k, active, h, w, c, n, r).slice();
    const want: number[] = [];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!active[y * w + x]) continue;
        for (let f = 0; f < n; f++) {
          for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
            for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
              let a = 0;
              for (let i = 0; i < c; i++) a += q[(y * w + x) * c + i]! * k[(f * P + yy * w + xx) * c + i]!;
              want.push(a);
            }
          }
        }
      }
    }
    expect(got.length).to.equal(want.length);
    want.forEach((v, i) => expect(got[i]).to.be.closeTo(v, 1e-6));
    // A larger problem afterwards grows the module's memory and still agrees.
    const big = wasm!.run(unit(18 * 32, 24, rand), unit(8 * 18 * 32, 24, rand), new Uint8Array(18 * 32).fill(1), 18, 32, 24, 8, 3);
    expect(big.length).to.be.greaterThan(18 * 32 * 8 * 16);
    expect(() => wasm!.run(q, k, active, h, w, 6, n, r)).to.throw(RangeError, /multiples of 4/);
  });

  it('the fused kernel gives the same read with and without WebAssembly, and uses it only for channels in multiples of 4', () => {
    const rand = rng(21);
    for (const c of [8, 24, 6]) {
      const g = { h: 6, w: 9, c, stride: 4 };
      const n = 3;
      const P = g.h * g.w;
      const query = unit(P, c, rand);
      const keys = unit(n * P, c, rand);
      const values = Float32Array.from({ length: n * P * 16 }, () => (rand() < 0.4 ? 0 : rand()));
      const params = { radius: 2, topK: 5, temperature: 0.1 };
      const a = new FusedAttention(params, g, true);
      const b = new FusedAttention(params, g, false);
      expect(a.accelerated).to.equal(c % 4 === 0);
      expect(b.accelerated).to.equal(false);
      const ra = a.run({ query, keys, values, frames: n });
      const read = ra.read.slice();
      const conf = ra.confidence.slice();
      const rb = b.run({ query, keys, values, frames: n });
      read.forEach((v, i) => expect(v).to.be.closeTo(rb.read[i]!, 1e-5));
      conf.forEach((v, i) => expect(v).to.be.closeTo(rb.confidence[i]!, 1e-6));
      expect(read.some((v) => v > 0.05)).to.equal(true);
    }
  });
});
