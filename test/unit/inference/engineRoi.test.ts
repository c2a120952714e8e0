import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { SegmentationEngine } from '../../../src/inference/engine.js';
import { DEFAULT_ROI } from '../../../src/roi/roiTracker.js';
import { rgbToI420 } from '../../../src/decode/yuvToRgb.js';
import { resizeMaskBilinear } from '../../../src/shared/maskResize.js';
import { composeMask } from '../../../src/shared/maskCompose.js';
import { portrait, score } from './portrait.js';
import { openOrtSessions } from '../../../src/inference/onnx/ortSession.js';

describe('inference/engine with a region of interest (real model, real photo)', () => {
  const PW = 640;
  const PH = 480;
  let engine: SegmentationEngine;
  let baseline: number;

  before(async () => {
    engine = await SegmentationEngine.create({ model: 'meet', backend: 'auto', temporal: { mode: 'attention-learned', ringSize: 4 }, roi: { ...DEFAULT_ROI, refreshFrames: 10 } });
    baseline = tf.memory().numTensors;
  });
  after(() => engine?.close());

  it('segments the first frame whole, then crops around the person it found, and still masks the person', () => {
    const img = portrait(PW, PH, 0.5); // head and shoulders, 240 px tall, bottom centre
    const pic = rgbToI420(img.rgb, PW, PH);
    engine.openSession('roi');
    try {
      const first = engine.prepare('roi', pic);
      expect(first.views.map((v) => v.view)).to.deep.equal([{ kind: 'whole', box: { x: 0, y: 0, width: PW, height: PH, pictureWidth: PW, pictureHeight: PH } }]);
      const r0 = engine.processBatch([{ id: 'roi', frame: first }])[0]!;
      expect(r0.roiMs).to.be.a('number');
      expect(r0.details, 'no detail layer without a crop').to.equal(undefined);
      const s0 = score(resizeMaskBilinear(r0.mask, r0.width, r0.height, PW, PH), img, 255);
      expect(s0.face, JSON.stringify(s0)).to.be.at.least(0.9);

      const second = engine.prepare('roi', pic);
      expect(second.views.map((v) => v.view.kind)).to.deep.equal(['crop']);
      const b = second.views[0]!.view.box;
      // A crop: much smaller than the picture, around the person (x 204..436, y 240..480 here).
      expect(b.width * b.height).to.be.below(0.6 * PW * PH);
      expect(b.x).to.be.below(220);
      expect(b.x + b.width).to.be.above(420);
      expect(b.y + b.height).to.equal(PH);
      const r1 = engine.processBatch([{ id: 'roi', frame: second }])[0]!;
      const full = resizeMaskBilinear(r1.mask, r1.width, r1.height, PW, PH);
      // The crop's detail layer: its box, the model's grid, and the person's face in it.
      expect(r1.details).to.have.length(1);
      const d = r1.details![0]!;
      expect(d.box).to.deep.equal(b);
      expect([d.width, d.height, d.alpha.length]).to.deep.equal([256, 144, 256 * 144]);
      const shown = composeMask({ width: r1.width, height: r1.height, alpha: r1.mask, details: r1.details! }, PW, PH);
      const sd = score(shown, img, 255);
      expect(sd.face, JSON.stringify(sd)).to.be.at.least(0.9);
      expect(sd.precision, JSON.stringify(sd)).to.be.at.least(0.85);
      const s1 = score(full, img, 255);
      expect(s1.face, JSON.stringify(s1)).to.be.at.least(0.9);
      expect(s1.precision, JSON.stringify(s1)).to.be.at.least(0.85);
      expect(s1.recall, JSON.stringify(s1)).to.be.at.least(0.6);
      // Nothing is person far outside the crop (the backbone did not look there).
      let outside = 0;
      for (let y = 0; y < PH; y++) for (let x = 0; x < PW; x++) {
        const far = x < b.x - 16 || x >= b.x + b.width + 16 || y < b.y - 16;
        if (far && full[y * PW + x]! >= 128) outside++;
      }
      expect(outside).to.equal(0);
    } finally {
      engine.closeSession('roi');
    }
  });

  it('counts crops and whole-picture refreshes, and leaves no tensor behind over 40 frames', () => {
    const img = portrait(PW, PH, 0.5);
    const pic = rgbToI420(img.rgb, PW, PH);
    engine.openSession('count');
    const second: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = engine.segment('count', pic);
      // Frame 0 whole; then a crop, and the whole picture besides it every 10th frame (refreshFrames 10).
      expect((r.views ?? 1) - (r.secondViews ?? 0), `frame ${i}`).to.equal(i === 0 ? 1 : i % 10 === 0 ? 2 : 1);
      second.push(r.secondViews ?? 0);
      expect(tf.memory().numTensors).to.equal(baseline);
    }
    // The detected portrait is no doubt once the mask holds them (torso zone ≥ doubtCover or box ≥ doubtFill;
    // box ≥ FILL_MIN); a doubt selfie adds nothing to would rest after SETTLE_RUNS runs: no second runs
    // from frame 10 on either way.
    expect(second.slice(10).every((n) => n === 0), `second-model runs per frame: ${second.join(',')}`).to.equal(true);
    expect(engine.roiCounts('count')).to.deep.equal({ cropped: 39, whole: 1 });
    engine.closeSession('count');
    expect(tf.memory().numTensors).to.equal(baseline);
    expect(engine.roiCounts('count')).to.equal(null);
  });

  it('runs the person detector between frames: not in the due frame, once per picture, its people and time reach the next frame', () => {
    const pic = rgbToI420(portrait(PW, PH, 0.5).rgb, PW, PH);
    engine.openSession('det');
    engine.openSession('gone');
    try {
      const f0 = engine.prepare('det', pic);
      expect(f0.detect, 'the first frame is due for the detector').to.not.equal(undefined);
      const r0 = engine.processBatch([{ id: 'det', frame: f0 }])[0]!;
      expect(r0.detectMs, 'the due frame did not wait for it').to.equal(undefined);
      expect(engine.detectionPending).to.equal(true);
      // A closed session's waiting picture goes with it.
      engine.processBatch([{ id: 'gone', frame: engine.prepare('gone', pic) }]);
      engine.closeSession('gone');
      expect(engine.detectPending()).to.equal(1);
      expect(engine.detectionPending).to.equal(false);
      expect(engine.detectPending(), 'nothing left').to.equal(0);
      const f1 = engine.prepare('det', pic);
      expect(f1.detect, 'not due again on the next frame').to.equal(undefined);
      const r1 = engine.processBatch([{ id: 'det', frame: f1 }])[0]!;
      expect(r1.detectMs, 'the detection of the frame before').to.be.a('number').and.above(0);
      const r2 = engine.processBatch([{ id: 'det', frame: engine.prepare('det', pic) }])[0]!;
      expect(r2.detectMs, 'delivered once').to.equal(undefined);
      // segment(): the one-picture entry runs it itself, so an offline caller sees what the server does.
      engine.openSession('offline');
      engine.segment('offline', pic);
      expect(engine.detectionPending).to.equal(false);
      expect(engine.segment('offline', pic).detectMs).to.be.a('number');
    } finally {
      engine.closeSession('det');
      engine.closeSession('offline');
    }
  });

  it('second model: a person the detector sees and the mask leaves out gets a selfie run on a crop of their own; its native session goes with close()', async () => {
    const img = portrait(PW, PH, 0.5);
    const pic = rgbToI420(img.rgb, PW, PH);
    const before = openOrtSessions();
    // doubtCover 1, doubtFill 1: a detected person is a doubt unless the mask covers all of their
    // torso (the defaults leave this well-segmented portrait alone, so no second run would happen).
    const two = await SegmentationEngine.create({ model: 'meet', backend: 'ort-cpu', temporal: { mode: 'attention-fine', ringSize: 1 }, roi: { ...DEFAULT_ROI, secondModel: 'selfie', doubtCover: 1, doubtFill: 1 } });
    try {
      expect(two.info.secondModel).to.equal('selfie');
      expect(openOrtSessions() - before, 'meet, the detector and selfie').to.equal(3);
      two.openSession('s');
      const runs: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = two.segment('s', pic);
        runs.push(r.secondViews ?? 0);
        const sc = score(composeMask({ width: r.width, height: r.height, alpha: r.mask, details: r.details ?? [] }, PW, PH), img, 255);
        expect(sc.face, `frame ${i}: ${JSON.stringify(sc)}`).to.be.at.least(0.9);
        expect(sc.precision, `frame ${i}: ${JSON.stringify(sc)}`).to.be.at.least(0.85);
      }
      expect(runs[0], 'no doubt before the detector has looked').to.equal(0);
      expect(runs.slice(1).some((n) => n > 0), `second runs per frame ${runs.join(',')}`).to.equal(true);
      two.closeSession('s');
    } finally {
      two.close();
    }
    expect(openOrtSessions()).to.equal(before);
  });

  it('second model: a person at the picture\'s edge gets a crop centred on them that reaches past the edge (black there), and stays in the mask', async () => {
    // The portrait moved right until a third of it is outside the picture.
    const img = portrait(PW, PH, 0.5);
    const shift = 300;
    const rgb = new Uint8Array(PW * PH * 3).fill(128);
    for (let y = 0; y < PH; y++) rgb.set(img.rgb.subarray(y * PW * 3, (y * PW + PW - shift) * 3), (y * PW + shift) * 3);
    const pic = rgbToI420(rgb, PW, PH);
    const two = await SegmentationEngine.create({ model: 'meet', backend: 'ort-cpu', temporal: { mode: 'attention-fine', ringSize: 1 }, roi: { ...DEFAULT_ROI, secondModel: 'selfie', doubtCover: 1, doubtFill: 1 } });
    try {
      two.openSession('edge');
      let past = 0;
      let runs = 0;
      for (let i = 0; i < 12; i++) {
        const frame = two.prepare('edge', pic);
        for (const s of frame.seconds ?? []) {
          expect(s.rgb.length, 'selfie\'s input').to.equal(256 * 256 * 3);
          expect(s.crop.region.x1, 'the region stays inside').to.be.at.most(PW);
          if (s.crop.box.x1 > PW) past++;
        }
        const r = two.processBatch([{ id: 'edge', frame }])[0]!;
        two.detectPending();
        runs += r.secondViews ?? 0;
        // The visible part of the person stays in the mask: most of the mask lies right of the shift.
        const m = composeMask({ width: r.width, height: r.height, alpha: r.mask, details: r.details ?? [] }, PW, PH);
        let right = 0;
        let all = 0;
        for (let k = 0; k < m.length; k++) if (m[k]! >= 128) (all++, (k % PW >= shift - 16 ? right++ : 0));
        if (i > 0) expect(right / Math.max(1, all), `frame ${i}`).to.be.at.least(0.9);
      }
      expect(runs, 'selfie ran').to.be.above(0);
      expect(past, 'crops past the right edge').to.be.above(0);
    } finally {
      two.close();
    }
  });

  it('RGB handed in without prepare() is segmented whole and not tracked', () => {
    const img = portrait(256, 144, 0.75);
    engine.openSession('plain');
    try {
      const r = engine.process('plain', img.rgb);
      expect(r.mask.length).to.equal(256 * 144);
      expect(engine.roiCounts('plain')).to.deep.equal({ cropped: 0, whole: 0 });
    } finally {
      engine.closeSession('plain');
    }
  });

  it('gives the same masks through the tensor-op temporal path (GPU backends) as through the array path, with crops', async () => {
    const img = portrait(PW, PH, 0.5);
    const pic = rgbToI420(img.rgb, PW, PH);
    const make = (implementation: 'fused' | 'tensor') => SegmentationEngine.create({ model: 'meet', backend: 'auto', temporal: { mode: 'attention', ringSize: 4, implementation }, roi: DEFAULT_ROI });
    const fused = await make('fused');
    const tensor = await make('tensor');
    try {
      fused.openSession('s');
      tensor.openSession('s');
      let steady = -1;
      for (let i = 0; i < 8; i++) {
        const a = fused.prepare('s', pic);
        const b = tensor.prepare('s', pic);
        expect(b.views.map((v) => v.view), `frame ${i}: same views`).to.deep.equal(a.views.map((v) => v.view));
        const ma = fused.processBatch([{ id: 's', frame: a }])[0]!.mask;
        const mb = tensor.processBatch([{ id: 's', frame: b }])[0]!.mask;
        let worst = 0;
        for (let k = 0; k < ma.length; k++) worst = Math.max(worst, Math.abs(ma[k]! - mb[k]!));
        expect(worst, `frame ${i}: largest difference in mask steps`).to.be.at.most(2);
        if (i > 0) expect(a.views[0]!.view.box.width).to.be.below(PW);
        // The tensor read builds its lookup tables once per memory size (1..4 frames, frames 1..4);
        // after that the count must not move (the uncropped inputs made for the tensor path are freed).
        if (i === 4) steady = tf.memory().numTensors;
        if (i > 4) expect(tf.memory().numTensors, `frame ${i}`).to.equal(steady);
      }
    } finally {
      fused.close();
      tensor.close();
    }
  });
});
