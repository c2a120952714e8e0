import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/inference/backend.js';
import type { TemporalMode } from '../../../src/inference/types.js';
import { FeatureRingBuffer } from '../../../src/temporal/ringBuffer.js';
import { createTemporalStage, PassThroughTemporal, TemporalConfigError } from '../../../src/temporal/temporalStage.js';

describe('temporal/temporalStage', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('PassThroughTemporal returns a new tensor equal to the logits and records the frame', () => {
    const base = tf.memory().numTensors;
    const ring = new FeatureRingBuffer({ capacity: 2, keyShape: [2, 2, 3], valueShape: [4, 4, 1] });
    const stage = new PassThroughTemporal();
    expect(stage.name).to.equal('none');
    for (let i = 0; i < 3; i++) {
      const logits = tf.randomNormal([4, 4, 1]) as tf.Tensor3D;
      const features = tf.fill([2, 2, 3], i) as tf.Tensor3D;
      const out = stage.process({ ring, logits, features });
      expect(out).to.not.equal(logits);
      expect(Array.from(out.dataSync())).to.deep.equal(Array.from(logits.dataSync()));
      const newest = ring.entries().at(-1)!;
      expect(Array.from(newest.value.dataSync())).to.deep.equal(Array.from(logits.dataSync()));
      expect(newest.key.dataSync()[0]).to.equal(i);
      tf.dispose([logits, features]);
      // The result outlives the inputs: the caller owns it.
      expect(out.isDisposed).to.equal(false);
      out.dispose();
    }
    expect(ring.size).to.equal(2);
    ring.dispose();
    expect(tf.memory().numTensors).to.equal(base);
  });

  it('createTemporalStage builds the configured mode and validates ringSize', () => {
    expect(createTemporalStage({ mode: 'none', ringSize: 8 })).to.be.instanceOf(PassThroughTemporal);
    expect(() => createTemporalStage({ mode: 'none', ringSize: 0 })).to.throw(TemporalConfigError, /ringSize/);
    expect(() => createTemporalStage({ mode: 'bogus' as TemporalMode, ringSize: 2 })).to.throw(TemporalConfigError, /unknown temporal mode "bogus"/);
  });
});
