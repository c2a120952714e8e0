import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { BackboneDisposedError, FrameSizeError } from '../../../src/inference/backbone.js';
import { TfjsBackbone } from '../../../src/inference/tfjsBackbone.js';
import { selectBackend } from '../../../src/inference/backend.js';
import type { ModelName } from '../../../src/inference/types.js';
import { grey, portrait, score } from './portrait.js';

function probabilities(logits: Float32Array): Float32Array {
  return logits.map((l) => 1 / (1 + Math.exp(-l)));
}

for (const name of ['meet', 'selfie'] as ModelName[]) {
  describe(`inference/tfjsBackbone TfjsBackbone (${name})`, () => {
    let bb: TfjsBackbone;

    before(async () => {
      await selectBackend('wasm');
      bb = await TfjsBackbone.load(name);
    });
    after(() => bb?.dispose());

    it('reports sizes from the model and the manifest', () => {
      const i = bb.info;
      expect(i.model).to.equal(name);
      expect([i.inputWidth, i.inputHeight]).to.deep.equal(name === 'meet' ? [256, 144] : [256, 256]);
      expect([i.maskWidth, i.maskHeight]).to.deep.equal([i.inputWidth, i.inputHeight]);
      expect(i.featureShape).to.deep.equal(name === 'meet' ? [18, 32, 24] : [32, 32, 24]);
    });

    it('segments the person in a real portrait (mask inside the rough person region, face covered)', () => {
      const img = portrait(bb.info.inputWidth, bb.info.inputHeight, 0.75);
      const { logits, features } = bb.run(img.rgb);
      expect(logits.length).to.equal(bb.info.maskHeight * bb.info.maskWidth);
      expect(features.length).to.equal(bb.info.featureShape[0] * bb.info.featureShape[1] * bb.info.featureShape[2]);
      const s = score(probabilities(logits), img);
      // Measured here: precision 1.00, recall ≈ 0.66 (the region is generous), face ≥ 0.96.
      // Controls, measured: an inverted mask (wrong meet channel) scores precision 0.09–0.19 and
      // face ≈ 0.03; an all-foreground mask precision 0.23–0.42.
      expect(s.precision, JSON.stringify(s)).to.be.at.least(0.9);
      expect(s.recall, JSON.stringify(s)).to.be.at.least(0.5);
      expect(s.face, JSON.stringify(s)).to.be.at.least(0.9);
    });

    it('a uniform grey frame is (almost) all background', () => {
      const { logits } = bb.run(grey(bb.info.inputWidth, bb.info.inputHeight));
      const p = probabilities(logits);
      const fg = p.reduce((n, v) => n + (v >= 0.5 ? 1 : 0), 0) / p.length;
      expect(fg).to.be.below(0.02);
    });

    it('leaves no tensor behind (outputs are read back to arrays)', () => {
      const before = tf.memory().numTensors;
      bb.run(grey(bb.info.inputWidth, bb.info.inputHeight, 90));
      bb.runBatch([grey(bb.info.inputWidth, bb.info.inputHeight, 90), grey(bb.info.inputWidth, bb.info.inputHeight, 30)]);
      expect(tf.memory().numTensors).to.equal(before);
    });

    it('rejects a frame of the wrong size with an actionable error', () => {
      expect(() => bb.run(new Uint8Array(10))).to.throw(FrameSizeError, /resize to the engine's inputWidth × inputHeight/);
    });
  });
}

describe('inference/tfjsBackbone dispose', () => {
  it('frees the weights once and refuses to run afterwards', async () => {
    await selectBackend('wasm');
    const before = tf.memory().numTensors;
    const bb = await TfjsBackbone.load('meet');
    expect(tf.memory().numTensors).to.be.greaterThan(before);
    bb.dispose();
    bb.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    expect(() => bb.run(grey(256, 144))).to.throw(BackboneDisposedError);
  });
});
