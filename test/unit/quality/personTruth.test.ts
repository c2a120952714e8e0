import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderFrame, type OccluderLayer, type PersonLayer, type SceneAssets, type SceneSpec } from '../../../src/quality/clips/composite.js';
import { spriteFromRgba } from '../../../src/quality/clips/sprite.js';
import { alphaBox, personAlphaFrame, personTruthMeta, readPeopleRaw, writePeopleRaw } from '../../../src/quality/clips/personTruth.js';
import type { PersonTruth } from '../../../src/quality/clips/types.js';

const W = 64, H = 48;

/** Soft-edged ellipse cut-out, straight RGBA (≈ 2 px soft edge), opaque inside. */
function ellipse(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = (x + 0.5 - w / 2) / (w / 2 - 1);
      const v = (y + 0.5 - h / 2) / (h / 2 - 1);
      const a = Math.max(0, Math.min(1, (1 - Math.sqrt(u * u + v * v)) * (Math.min(w, h) / 4)));
      out.set([...rgb, Math.round(a * 255)], (y * w + x) * 4);
    }
  }
  return out;
}

function assets(): SceneAssets {
  const bg = new Uint8Array((W + 8) * (H + 8) * 3);
  for (let i = 0; i < bg.length; i++) bg[i] = (i * 37) % 200;
  return {
    images: new Map([['bg', { width: W + 8, height: H + 8, data: bg }]]),
    sprites: new Map([
      ['back', spriteFromRgba(ellipse(20, 30, [200, 120, 90]), 20, 30)],
      ['front', spriteFromRgba(ellipse(24, 18, [60, 90, 220]), 24, 18)],
    ]),
  };
}

// Back: x 14–34, y 8–38. Front: x 26–50, y 16–34 (overlaps the back one's right half). Occluder: x 40–44, all rows.
const BACK: PersonLayer = { sprite: 'back', anchor: [0, 0], height: 30, x: 14, y: 8 };
const FRONT: PersonLayer = { sprite: 'front', anchor: [0, 0], height: 18, x: { base: 26, rate: 0.5 }, y: 16 };
const BAR: OccluderLayer = { shape: 'rect', w: 4, h: 60, x: 42, y: 24, fill: [0, 250, 0] };

function scene(people: readonly PersonLayer[], over: Partial<SceneSpec> = {}): SceneSpec {
  return { width: W, height: H, frames: 4, fps: 30, seed: 3, background: { image: 'bg', x: 0, y: 0 }, people, occluders: [BAR], ...over };
}

/** Is `a` zero within r px (square) of pixel k? */
function clearAround(a: Uint8Array, k: number, r: number): boolean {
  const x0 = k % W, y0 = Math.floor(k / W);
  for (let y = Math.max(0, y0 - r); y <= Math.min(H - 1, y0 + r); y++) for (let x = Math.max(0, x0 - r); x <= Math.min(W - 1, x0 + r); x++) if (a[y * W + x]) return false;
  return true;
}

const EFFECTS: Record<string, Partial<SceneSpec>> = {
  sharp: {},
  'motion blur': { blur: { samples: 5, shutter: 0.8 } },
  'blur + defocus': { blur: { samples: 3, shutter: 0.5 }, defocus: { radius: 1 } },
};

describe('quality/clips per-person truth (render)', () => {
  for (const [label, fx] of Object.entries(EFFECTS)) {
    it(`${label}: picture and combined GT are byte-identical with and without it; people sum to the GT; exact where one person covers a pixel`, () => {
      const spec = scene([BACK, FRONT], fx);
      for (const i of [0, 3]) {
        const plain = renderFrame(spec, assets(), i);
        const f = renderFrame(spec, assets(), i, { people: true });
        expect(Buffer.from(f.rgb).equals(Buffer.from(plain.rgb)), 'rgb').to.equal(true);
        expect(Buffer.from(f.alpha).equals(Buffer.from(plain.alpha)), 'alpha').to.equal(true);
        expect(plain.people).to.equal(undefined);
        const [back, front] = f.people!;
        // Each person rendered alone (with the occluder): what they would cover without the other.
        const backAlone = renderFrame(scene([BACK], fx), assets(), i).alpha;
        const frontAlone = renderFrame(scene([FRONT], fx), assets(), i).alpha;
        let overlap = 0, single = 0;
        for (let k = 0; k < W * H; k++) {
          expect(Math.abs(back![k]! + front![k]! - f.alpha[k]!), `sum at px ${k}`).to.be.at.most(1);
          // Nothing but the occluder is in front of the front person: their visible coverage is their coverage alone.
          expect(front![k], `front at px ${k}`).to.equal(frontAlone[k]);
          // "Only the back person": the front one's coverage is 0 here and around (a defocused or resampled fringe below ½ level still adds to the GT's float).
          if (clearAround(frontAlone, k, 2)) {
            expect(back![k], `back alone at px ${k}`).to.equal(f.alpha[k]);
            if (back![k]! > 0) single++;
          } else if (backAlone[k]! > 0) {
            overlap++;
            expect(back![k]!, `back under front at px ${k}`).to.be.at.most(backAlone[k]!);
            // Per instant the back one keeps a·(1 − front); averaging and blurring a product is not the product of the averages, so only without them.
            if (label === 'sharp') expect(Math.abs(back![k]! - (backAlone[k]! * (255 - frontAlone[k]!)) / 255), `back × (1 − front) at px ${k}`).to.be.at.most(1.5);
          }
          if (frontAlone[k] === 255) expect(back![k], `hidden at px ${k}`).to.equal(0);
        }
        expect(overlap, 'pixels where both are').to.be.above(30);
        expect(single, 'pixels where only the back one is').to.be.above(100);
      }
    });
  }

  it('the occluder hides both people; the part of the back person behind the front one is gone', () => {
    const f = renderFrame(scene([BACK, FRONT]), assets(), 0, { people: true });
    const [back, front] = f.people!;
    const at = (a: Uint8Array, x: number, y: number) => a[y * W + x]!;
    // Under the bar (x 40–44): no one, though the front ellipse spans x 26–50.
    for (let y = 18; y < 32; y++) for (let x = 40; x < 44; x++) expect(at(front!, x, y) + at(back!, x, y), `(${x}, ${y})`).to.equal(0);
    expect(at(front!, 38, 25)).to.equal(255);
    expect(at(front!, 46, 25)).to.equal(255);
    // The back ellipse's middle (x 24, y 23) is clear of the front one; x 30 is under it.
    expect(at(back!, 20, 23)).to.equal(255);
    expect(at(back!, 30, 25)).to.equal(0);
    expect(at(f.alpha, 30, 25)).to.equal(255);
  });

  it('in-frame share: ≈ 1 wholly inside, ≈ ½ half outside, 0 outside, whatever is in front', () => {
    const half: PersonLayer = { ...BACK, x: -10 }; // 20 px wide, 10 of them left of the frame
    const out: PersonLayer = { ...BACK, x: W + 5 };
    const f = renderFrame(scene([BACK, half, out, FRONT], { blur: { samples: 3, shutter: 0.5 } }), assets(), 1, { people: true });
    const [inside, halfIn, outside, front] = f.inFrame!;
    expect(inside).to.be.within(0.98, 1.02);
    expect(halfIn).to.be.within(0.45, 0.55);
    expect(outside).to.equal(0);
    expect(front).to.be.within(0.98, 1.02);
    expect(f.people![2]!.every((v) => v === 0)).to.equal(true);
  });
});

describe('quality/clips per-person truth (storage)', () => {
  it('alphaBox crops to the non-zero pixels and personAlphaFrame puts them back', () => {
    const a = new Uint8Array(W * H);
    a[5 * W + 7] = 9;
    a[11 * W + 3] = 200;
    a[8 * W + 20] = 1;
    const b = alphaBox(a, W, H);
    expect([b.x, b.y, b.width, b.height]).to.deep.equal([3, 5, 18, 7]);
    expect(Buffer.from(personAlphaFrame(b, W, H)).equals(Buffer.from(a))).to.equal(true);
    const empty = alphaBox(new Uint8Array(W * H), W, H);
    expect([empty.width, empty.height, empty.alpha.length]).to.deep.equal([0, 0, 0]);
    expect(personAlphaFrame(empty, W, H).every((v) => v === 0)).to.equal(true);
    expect(() => personAlphaFrame({ ...b, x: W - 2 }, W, H)).to.throw(/leaves/);
  });

  it('people.raw + meta round-trip every box, and a short file is an error', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'people-'));
    try {
      const spec = scene([BACK, FRONT], { frames: 3 });
      const frames = [0, 1, 2].map((i) => renderFrame(spec, assets(), i, { people: true }));
      const people: PersonTruth[] = ['back', 'front'].map((name, k) => ({
        name,
        role: 'stays',
        alpha: frames.map((f) => alphaBox(f.people![k]!, W, H)),
        inFrame: frames.map((f) => f.inFrame![k]!),
      }));
      people[0] = { ...people[0]!, alpha: [alphaBox(new Uint8Array(W * H), W, H), ...people[0]!.alpha.slice(1)] };
      const file = path.join(dir, 'people.raw');
      writePeopleRaw(file, people);
      const meta = JSON.parse(JSON.stringify(people.map(personTruthMeta)));
      const back = readPeopleRaw(file, meta);
      expect(back.map((p) => [p.name, p.role, p.inFrame])).to.deep.equal(people.map((p) => [p.name, p.role, p.inFrame]));
      for (let k = 0; k < 2; k++) {
        for (let i = 0; i < 3; i++) {
          expect(Buffer.from(personAlphaFrame(back[k]!.alpha[i]!, W, H)).equals(Buffer.from(personAlphaFrame(people[k]!.alpha[i]!, W, H))), `person ${k} frame ${i}`).to.equal(true);
        }
      }
      meta[1].boxes[2][2] += 1;
      expect(() => readPeopleRaw(file, meta)).to.throw(/ends at byte|account for/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
