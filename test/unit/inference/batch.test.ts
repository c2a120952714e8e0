/**
 * Cross-session batching in the engine (in-process, no worker): the batch-size graph variants,
 * Backbone.runBatch against single runs, and SegmentationEngine.processBatch routing each
 * result to its session with that session's temporal state.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { BatchGraphError, withBatchSize } from '../../../src/inference/batchGraph.js';
import { ModelStore } from '../../../src/inference/modelStore.js';
import { TfjsBackbone } from '../../../src/inference/tfjsBackbone.js';
import { BatchSessionError, SegmentationEngine, type PreparedFrame } from '../../../src/inference/engine.js';
import { wholePicture } from '../../../src/roi/roiTracker.js';
import { selectBackend } from '../../../src/inference/backend.js';
import { grey, portrait, score } from './portrait.js';

/** Model-input RGB as one whole-picture view (what process() makes of it). */
function whole(rgb: Uint8Array): PreparedFrame {
  return { views: [{ rgb, view: { kind: 'whole', box: wholePicture(256, 144) } }], ms: 0 };
}

describe('inference batching', function () {
  this.timeout(120_000);

  before(async () => {
    await selectBackend('wasm');
  });

  describe('batchGraph withBatchSize', () => {
    it('sets the input and every batch-1 shape constant of meet to n, leaving the original untouched', async () => {
      const arts = await ModelStore.open().ioHandler('meet').load!();
      const before = new Uint8Array(arts.weightData as ArrayBuffer).slice();
      const { artifacts, patched } = withBatchSize(arts, 3);
      // The input, 12 squeeze-excite blocks × 2 reshapes, and the transposed convolution's output size.
      expect(patched.length).to.equal(1 + 24 + 1);
      expect(patched).to.include('conv2d_transpose/input_sizes');
      const input = (artifacts.modelTopology as { node: { op: string; attr: { shape: { shape: { dim: { size: string }[] } } } }[] }).node.find((n) => n.op === 'Placeholder')!;
      expect(input.attr.shape.shape.dim[0]!.size).to.equal('3');
      expect(Buffer.from(new Uint8Array(arts.weightData as ArrayBuffer)).equals(Buffer.from(before)), 'original weights unchanged').to.equal(true);
      expect(() => withBatchSize(arts, 0)).to.throw(BatchGraphError);
    });
  });

  describe('TfjsBackbone.runBatch', () => {
    let bb: TfjsBackbone;
    before(async () => {
      bb = await TfjsBackbone.load('meet', { maxBatch: 3 });
    });
    after(() => bb?.dispose());

    it('gives each frame of a batch what a single run gives it, and leaves no tensor behind', () => {
      expect(bb.batchSupport).to.deep.equal({ maxBatch: 3, graphSizes: [2, 3] });
      const img = portrait(256, 144, 0.75);
      const frames = [img.rgb, grey(256, 144), grey(256, 144, 40)];
      const singles = frames.map((f) => bb.run(f));
      const base = tf.memory().numTensors;
      const outs = bb.runBatch(frames);
      expect(tf.memory().numTensors).to.equal(base);
      outs.forEach((o, i) => {
        expect(o.logits.length).to.equal(144 * 256);
        expect(o.features.length).to.equal(18 * 32 * 24);
        const l = o.logits;
        const f = o.features;
        let d = 0;
        for (let j = 0; j < l.length; j++) d = Math.max(d, Math.abs(l[j]! - singles[i]!.logits[j]!));
        for (let j = 0; j < f.length; j++) d = Math.max(d, Math.abs(f[j]! - singles[i]!.features[j]!));
        expect(d, `frame ${i}`).to.be.below(1e-4);
        // A different frame really gives a different output (the comparison can fail).
        if (i > 0) expect(l.some((v, j) => v !== outs[0]!.logits[j])).to.equal(true);
      });
    });

    it('runs a batch larger than its variants back to back', () => {
      const outs = bb.runBatch([grey(256, 144), grey(256, 144), grey(256, 144), grey(256, 144)]);
      expect(outs).to.have.length(4);
      for (const o of outs) expect(o.logits.length).to.equal(144 * 256);
    });
  });

  describe('SegmentationEngine.processBatch', () => {
    let engine: SegmentationEngine;
    let reference: SegmentationEngine;
    before(async () => {
      engine = await SegmentationEngine.create({ model: 'meet', backend: 'wasm', temporal: { mode: 'attention', ringSize: 3 }, maxBatch: 2 });
      reference = await SegmentationEngine.create({ model: 'meet', backend: 'wasm', temporal: { mode: 'attention', ringSize: 3 } });
    });
    after(() => {
      engine?.close();
      reference?.close();
    });

    it('routes each result to its session, with that session’s own temporal state, and no tensor left behind', () => {
      const person = portrait(256, 144, 0.75);
      const empty = grey(256, 144);
      for (const e of [engine, reference]) {
        e.openSession('p');
        e.openSession('q');
      }
      const base = tf.memory().numTensors;
      for (let i = 0; i < 4; i++) {
        // p sees the person on even frames, q on odd ones: their memories differ.
        const [fp, fq] = i % 2 === 0 ? [person.rgb, empty] : [empty, person.rgb];
        // Order within the batch must not matter either: q first on odd frames.
        const batch = i % 2 === 0 ? [{ id: 'p', frame: whole(fp) }, { id: 'q', frame: whole(fq) }] : [{ id: 'q', frame: whole(fq) }, { id: 'p', frame: whole(fp) }];
        const results = engine.processBatch(batch, false);
        const byId = Object.fromEntries(batch.map((b, k) => [b.id, results[k]!]));
        expect(results.every((r) => r.batchSize === 2)).to.equal(true);
        const wantP = reference.process('p', fp);
        const wantQ = reference.process('q', fq);
        expect(Buffer.from(byId.p!.mask).equals(Buffer.from(wantP.mask)), `frame ${i} p`).to.equal(true);
        expect(Buffer.from(byId.q!.mask).equals(Buffer.from(wantQ.mask)), `frame ${i} q`).to.equal(true);
        const withPerson = fp === person.rgb ? byId.p! : byId.q!;
        expect(score(withPerson.mask, person, 255).face).to.be.at.least(0.9);
        expect(tf.memory().numTensors).to.equal(base);
      }
      expect(() => engine.processBatch([{ id: 'p', frame: whole(empty) }, { id: 'p', frame: whole(empty) }])).to.throw(BatchSessionError, /one after another/);
      for (const e of [engine, reference]) {
        e.closeSession('p');
        e.closeSession('q');
      }
    });
  });
});
