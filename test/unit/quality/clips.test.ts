import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { rgbToI420 } from '../../../src/decode/yuvToRgb.js';
import type { I420Picture, RgbImage } from '../../../src/decode/types.js';
import { renderFrame, type PersonLayer, type SceneAssets, type SceneSpec } from '../../../src/quality/clips/composite.js';
import { spriteFromRgba } from '../../../src/quality/clips/sprite.js';
import { vp8RoundTrip, psnrY } from '../../../src/quality/clips/codec.js';
import { cleanAlpha, cutSides, trimToAlpha } from '../../../src/quality/clips/cutouts.js';
import { visibleCutEdges } from '../../../src/quality/clips/checks.js';
import { readGtRaw, readY4m, writeClip, writeGtRaw, writeY4m } from '../../../src/quality/clips/clipFiles.js';
import { decodeRgb, decodePngGray } from '../../../src/quality/clips/imageIo.js';
import { EVAL_SEED_BASE } from '../../../src/quality/clips/evalClips.js';
import { evalClipDefinitions } from '../../../src/quality/clips/catalog.js';
import { trainingDefinition } from '../../../src/quality/clips/training.js';
import { maxStep } from '../../../src/quality/clips/motion.js';
import { BACKGROUNDS, PEOPLE, isHeldOut, photoPath } from '../../../src/quality/clips/sources.js';
import { RvmMatter } from '../../../src/quality/clips/rvm.js';

/** A soft-edged ellipse cut-out (RGBA, straight alpha): the person stand-in, ≈ 2 px soft edge. */
function ellipseRgba(w: number, h: number, rgb: [number, number, number] = [220, 180, 140]): Uint8Array {
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = (x + 0.5 - w / 2) / (w / 2 - 1);
      const v = (y + 0.5 - h / 2) / (h / 2 - 1);
      const d = (1 - Math.sqrt(u * u + v * v)) * (Math.min(w, h) / 4);
      const a = Math.max(0, Math.min(1, d));
      out.set([...rgb, Math.round(a * 255)], (y * w + x) * 4);
    }
  }
  return out;
}

/** A smooth coloured background (gradient + gentle waves). */
function gradient(w: number, h: number, phase = 0): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3;
      out[p] = 40 + (150 * x) / w;
      out[p + 1] = 60 + (120 * y) / h + 20 * Math.sin((x + phase) / 17);
      out[p + 2] = 120 + 40 * Math.cos((y + x) / 23);
    }
  }
  return out;
}

const SW = 20, SH = 16;
const W = 64, H = 48;

function assets(spriteRgba = ellipseRgba(SW, SH), bg: RgbImage = { width: W + 8, height: H + 8, data: gradient(W + 8, H + 8) }): SceneAssets {
  return { images: new Map([['bg', bg]]), sprites: new Map([['p', spriteFromRgba(spriteRgba, SW, SH)]]) };
}

function scene(over: Partial<SceneSpec> = {}, person: Partial<PersonLayer> = {}): SceneSpec {
  return {
    width: W,
    height: H,
    frames: 6,
    fps: 30,
    seed: 7,
    background: { image: 'bg', x: 0, y: 0 },
    people: [{ sprite: 'p', anchor: [0, 0], height: SH, x: { base: 10, rate: 3 }, y: 12, ...person }],
    ...over,
  };
}

/** The sprite's own alpha at integer sprite px (u, v), 0 outside. */
function spriteAlpha(rgba: Uint8Array, u: number, v: number): number {
  return u < 0 || v < 0 || u >= SW || v >= SH ? 0 : rgba[(v * SW + u) * 4 + 3]!;
}

describe('quality/clips composite (synthetic cut-out)', () => {
  it('renders the same bytes for the same seed; another seed changes the noise, not the GT', () => {
    const spec = scene({ noise: { sigma: 6 }, flicker: { amp: 0.05, period: 7, jitter: 0.03 }, blur: { samples: 4, shutter: 0.7 } }, { rotation: { base: 0, waves: [{ amp: 10, period: 5 }] } });
    for (const i of [0, 3, 5]) {
      const a = renderFrame(spec, assets(), i);
      const b = renderFrame(spec, assets(), i);
      expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb)), `rgb of frame ${i}`).to.equal(true);
      expect(Buffer.from(a.alpha).equals(Buffer.from(b.alpha)), `gt of frame ${i}`).to.equal(true);
      const c = renderFrame({ ...spec, seed: 8 }, assets(), i);
      expect(Buffer.from(c.rgb).equals(Buffer.from(a.rgb))).to.equal(false);
      expect(Buffer.from(c.alpha).equals(Buffer.from(a.alpha))).to.equal(true);
    }
  });

  it('GT under an integer translation is the cut-out alpha moved by exactly that many px', () => {
    const rgba = ellipseRgba(SW, SH);
    const spec = scene();
    for (let i = 0; i < spec.frames; i++) {
      const { alpha } = renderFrame(spec, assets(rgba), i);
      const dx = 10 + 3 * i, dy = 12;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          expect(alpha[y * W + x], `frame ${i} px (${x}, ${y})`).to.equal(spriteAlpha(rgba, x - dx, y - dy));
        }
      }
    }
  });

  it('motion blur averages the alpha along the path: fractional GT on the streak, coverage preserved', () => {
    const still = renderFrame(scene({}, { x: 24 }), assets(), 2).alpha;
    const spec = scene({ blur: { samples: 8, shutter: 1 } }, { x: { base: 8, rate: 8 } });
    const { alpha } = renderFrame(spec, assets(), 2);
    // At frame 2 the ellipse sweeps x = 20 … 28 (left edge) during the open shutter.
    const row = 12 + SH / 2;
    const fractional = [...alpha.subarray(row * W, (row + 1) * W)].filter((v) => v > 10 && v < 245);
    expect(fractional.length, 'pixels with partial coverage on the centre row').to.be.at.least(8);
    const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
    expect(sum(alpha) / sum(still)).to.be.within(0.99, 1.01);
  });

  it('picture and GT agree under rotation, zoom, warp and blur (white cut-out on black: R = GT)', () => {
    const white = ellipseRgba(SW, SH, [255, 255, 255]);
    const black: RgbImage = { width: W + 8, height: H + 8, data: new Uint8Array((W + 8) * (H + 8) * 3) };
    const spec = scene({ blur: { samples: 5, shutter: 0.8 } }, {
      anchor: [0.5, 1],
      x: { base: 30, rate: 2 },
      y: 40,
      scale: { base: 1.3, waves: [{ amp: 0.2, period: 4 }] },
      rotation: { base: 0, waves: [{ amp: 25, period: 6 }] },
      warp: { ampX: 3, ampY: 1, wavelength: 20, speed: 1, pinned: true },
    });
    for (let i = 0; i < spec.frames; i++) {
      const f = renderFrame(spec, assets(white, black), i);
      for (let k = 0; k < W * H; k++) expect(Math.abs(f.rgb[k * 3]! - f.alpha[k]!), `frame ${i} px ${k}`).to.be.at.most(1);
      expect(f.alpha.some((v) => v > 0 && v < 255), 'soft edges').to.equal(true);
    }
  });

  it('an opaque occluder zeroes the GT where it covers the person and shows its own colour', () => {
    const spec = scene({ occluders: [{ shape: 'rect', w: 6, h: 40, x: { base: 22, rate: 0 }, y: 24, fill: [250, 0, 0] }] }, { x: 14 });
    const base = renderFrame(scene({}, { x: 14 }), assets(), 0);
    const { rgb, alpha } = renderFrame(spec, assets(), 0);
    // The rectangle spans x = 19 … 25, y = 4 … 44; the ellipse spans x = 14 … 34, y = 12 … 28.
    for (let y = 12; y < 28; y++) {
      for (let x = 14; x < 34; x++) {
        const k = y * W + x;
        if (x >= 19 && x < 25) {
          expect(alpha[k], `covered (${x}, ${y})`).to.equal(0);
          expect([rgb[k * 3], rgb[k * 3 + 1]]).to.deep.equal([250, 0]);
        } else {
          expect(alpha[k], `uncovered (${x}, ${y})`).to.equal(base.alpha[k]);
        }
      }
    }
    expect(base.alpha.slice(16 * W + 19, 16 * W + 25).every((v) => v === 255), 'the person was there').to.equal(true);
  });
});

describe('quality/clips cut-out helpers', () => {
  it('drops specks and faint noise, trims to the alpha with a margin, reports cut sides', () => {
    const w = 30, h = 20;
    const alpha = new Uint8Array(w * h);
    for (let y = 5; y < h; y++) for (let x = 8; x < 20; x++) alpha[y * w + x] = 255; // body touching the bottom
    alpha[1 * w + 27] = 200; // speck
    alpha[3 * w + 2] = 3; // noise floor
    const clean = cleanAlpha(alpha, w, h);
    expect(clean[1 * w + 27]).to.equal(0);
    expect(clean[3 * w + 2]).to.equal(0);
    expect(cutSides(clean, w, h)).to.deep.equal({ top: 0, bottom: 12, left: 0, right: 0 });
    const rgba = new Uint8Array(w * h * 4);
    clean.forEach((a, i) => (rgba[i * 4 + 3] = a));
    const t = trimToAlpha(rgba, w, h, 2);
    expect([t.width, t.height]).to.deep.equal([12 + 4, 15 + 4]);
    expect(t.rgba[(2 * t.width + 2) * 4 + 3]).to.equal(255);
    expect(t.rgba[(1 * t.width + 2) * 4 + 3]).to.equal(0);
  });

  it('flags a bust whose cut edge rises into the frame', () => {
    const w = 10, h = 10;
    const rgba = new Uint8Array(w * h * 4).fill(255);
    const cut = new Map([['p', { width: w, height: h, rgba, cut: { top: 0, bottom: 10, left: 0, right: 0 } }]]);
    const bust = (y: number) => scene({ frames: 3 }, { anchor: [0.5, 1], height: 10, x: 30, y });
    expect(visibleCutEdges(bust(H + 3), cut)).to.deep.equal([]);
    expect(visibleCutEdges(bust(H - 5), cut)).to.deep.equal([{ person: 'p', side: 'bottom', frames: [0, 1, 2] }]);
  });
});

describe('quality/clips catalogue', () => {
  const defs = evalClipDefinitions();

  it('has ≥ 6 named, described 640×480×90 @ 30 fps evaluation clips, moving and static, at WebRTC bitrates', () => {
    expect(defs.length).to.be.at.least(7);
    expect(new Set(defs.map((d) => d.name)).size).to.equal(defs.length);
    for (const d of defs) {
      expect([d.scene.width, d.scene.height, d.scene.frames, d.scene.fps], d.name).to.deep.equal([640, 480, 90, 30]);
      expect(d.description.length, d.name).to.be.above(20);
      expect(d.bitrate, d.name).to.be.within(250_000, 800_000);
    }
    expect(defs.filter((d) => d.kind === 'static').length).to.be.at.least(1);
    const fast = defs.find((d) => d.name === 'fast-translation-blur')!;
    expect(maxStep(fast.scene.people[0]!.x, 90)).to.be.at.least(30);
    expect(fast.scene.blur?.samples).to.be.at.least(4);
  });

  it('the independent clip uses only scikit-image photos and is optional; the others use none', () => {
    const ind = defs.find((d) => d.name === 'skimage-independent')!;
    expect(ind.optional).to.equal(true);
    expect(ind.people.every((p) => isHeldOut(PEOPLE[p].photo)) && ind.backgrounds.every((b) => isHeldOut(BACKGROUNDS[b]))).to.equal(true);
    for (const d of defs.filter((x) => x !== ind)) {
      expect(d.people.some((p) => isHeldOut(PEOPLE[p].photo)) || d.backgrounds.some((b) => isHeldOut(BACKGROUNDS[b])), d.name).to.equal(false);
    }
  });

  it('training definitions are deterministic, never use held-out photos, never reuse an evaluation seed', () => {
    const dims = { width: 320, height: 240, frames: 30, fps: 30 };
    const evalSeeds = new Set(defs.map((d) => d.scene.seed));
    expect([...evalSeeds].every((s) => s >= EVAL_SEED_BASE)).to.equal(true);
    const kinds = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const d = trainingDefinition(3, i, dims);
      expect(trainingDefinition(3, i, dims)).to.deep.equal(d);
      expect(d.people.some((p) => isHeldOut(PEOPLE[p].photo)) || d.backgrounds.some((b) => isHeldOut(BACKGROUNDS[b])), d.name).to.equal(false);
      expect(evalSeeds.has(d.scene.seed)).to.equal(false);
      expect(d.bitrate).to.be.within(250_000, 800_000);
      kinds.add(d.description.split(' ')[0]!);
    }
    expect(kinds.size, [...kinds].join()).to.equal(5);
    expect(trainingDefinition(4, 0, dims)).to.not.deep.equal(trainingDefinition(3, 0, dims));
  });
});

function smoothFrames(w: number, h: number, n: number): I420Picture[] {
  return Array.from({ length: n }, (_, i) => rgbToI420(gradient(w, h, 2 * i), w, h));
}

describe('quality/clips VP8 round trip and files', () => {
  it('returns every frame at the same size with PSNR > 25 dB at 800 kbit/s on a smooth image', async () => {
    const src = smoothFrames(320, 240, 12);
    const rt = await vp8RoundTrip(src, { bitrate: 800_000, fps: 30 });
    expect(rt.frames.length).to.equal(12);
    expect(rt.keyframes[0]).to.equal(0);
    rt.frames.forEach((f, i) => {
      expect([f.width, f.height]).to.deep.equal([320, 240]);
      expect(psnrY(f, src[i]!), `frame ${i}`).to.be.above(25);
    });
  });

  it('writes and reads back .y4m and raw GT; writeClip writes the header and 8-bit grayscale PNGs', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clips-'));
    try {
      const frames = smoothFrames(32, 24, 3);
      writeY4m(path.join(dir, 'a.y4m'), frames, 30);
      const back = readY4m(path.join(dir, 'a.y4m'));
      expect(back.frames.length).to.equal(3);
      expect(Buffer.from(back.frames[2]!.v).equals(Buffer.from(frames[2]!.v))).to.equal(true);
      const gt = [0, 1, 2].map((i) => new Uint8Array(32 * 24).fill(i * 100));
      writeGtRaw(path.join(dir, 'gt.raw'), gt);
      expect(readGtRaw(path.join(dir, 'gt.raw'), 32, 24, 3)[2]![5]).to.equal(200);
      writeClip({ name: 'x', description: 'd', kind: 'moving', width: 32, height: 24, fps: 30, frames, gt, bitrate: 500_000, actualBitrate: 1 }, path.join(dir, 'out'));
      const y4m = readFileSync(path.join(dir, 'out', 'clip.y4m'));
      expect(y4m.subarray(0, 47).toString()).to.equal('YUV4MPEG2 W32 H24 F30:1 Ip A1:1 C420jpeg\nFRAME\n');
      const png = readFileSync(path.join(dir, 'out', 'gt', '000002.png'));
      expect(png[25], 'PNG colour type').to.equal(0);
      expect(decodePngGray(png).gray[7]).to.equal(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('quality/clips rvm (slow: runs the RVM matting model on messi5.jpg)', () => {
  it('the alpha covers the player’s torso and not the image corners, and leaves no tensors', async () => {
    const w = 274, h = 171; // messi5.jpg (548×342) at half size
    const rgb = decodeRgb(photoPath(PEOPLE.messi.photo), { width: w, height: h });
    const matter = await RvmMatter.load();
    try {
      const before = tf.memory().numTensors;
      const m = await matter.matte(rgb, w, h, { iterations: 3, downsampleRatio: 0.5 });
      expect(tf.memory().numTensors).to.equal(before);
      const mean = (x0: number, y0: number, bw: number, bh: number) => {
        let s = 0;
        for (let y = y0; y < y0 + bh; y++) for (let x = x0; x < x0 + bw; x++) s += m.alpha[y * w + x]!;
        return s / (bw * bh * 255);
      };
      // His jersey, read off the photo: x ≈ 200–270, y ≈ 120–200 at full size.
      expect(mean(100, 60, 35, 40), 'torso').to.be.above(0.9);
      for (const [x, y] of [[0, 0], [w - 12, 0], [0, h - 12], [w - 12, h - 12]] as const) expect(mean(x, y, 12, 12), `corner ${x},${y}`).to.be.below(0.05);
    } finally {
      matter.dispose();
    }
  });
});
