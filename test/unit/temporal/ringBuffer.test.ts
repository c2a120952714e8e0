import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/inference/backend.js';
import { FeatureRingBuffer, RingBufferError } from '../../../src/temporal/ringBuffer.js';

/** A frame whose every key/value element equals n, so order can be read back. */
function frame(n: number): { key: tf.Tensor3D; value: tf.Tensor3D } {
  return { key: tf.fill([2, 3, 4], n) as tf.Tensor3D, value: tf.fill([6, 5, 1], n) as tf.Tensor3D };
}

function pushFrame(ring: FeatureRingBuffer, n: number): void {
  const f = frame(n);
  ring.push(f.key, f.value);
  tf.dispose([f.key, f.value]); // the caller keeps ownership of what it pushes
}

function order(ring: FeatureRingBuffer): number[][] {
  return ring.entries().map((e) => [e.key.dataSync()[0]!, e.value.dataSync()[0]!]);
}

describe('temporal/ringBuffer FeatureRingBuffer', () => {
  let baseline: number;
  before(async () => {
    await selectBackend('wasm');
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });

  it('preallocates its slots and reports their bytes', () => {
    const ring = new FeatureRingBuffer({ capacity: 3, keyShape: [2, 3, 4], valueShape: [6, 5, 1] });
    expect(ring.capacity).to.equal(3);
    expect(ring.size).to.equal(0);
    expect(ring.bytes).to.equal(3 * (24 + 30) * 4);
    expect(tf.memory().numTensors).to.equal(baseline + 6);
    ring.dispose();
    expect(tf.memory().numTensors).to.equal(baseline);
  });

  it('wraps around keeping the newest `capacity` frames, oldest first, without growing', () => {
    const ring = new FeatureRingBuffer({ capacity: 3, keyShape: [2, 3, 4], valueShape: [6, 5, 1] });
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    pushFrame(ring, 1);
    pushFrame(ring, 2);
    expect(ring.size).to.equal(2);
    expect(order(ring)).to.deep.equal([[1, 1], [2, 2]]);
    pushFrame(ring, 3);
    pushFrame(ring, 4);
    pushFrame(ring, 5);
    expect(ring.size).to.equal(3);
    expect(order(ring)).to.deep.equal([[3, 3], [4, 4], [5, 5]]);
    expect(tf.memory().numTensors).to.equal(tensors);
    expect(tf.memory().numBytes).to.equal(bytes);
    ring.dispose();
    expect(tf.memory().numTensors).to.equal(baseline);
  });

  it('stacks the valid entries in order into tensors the caller owns', () => {
    const ring = new FeatureRingBuffer({ capacity: 2, keyShape: [2, 3, 4], valueShape: [6, 5, 1] });
    expect(ring.stacked()).to.equal(null);
    for (const n of [7, 8, 9]) pushFrame(ring, n);
    const s = ring.stacked()!;
    expect(s.keys.shape).to.deep.equal([2, 2, 3, 4]);
    expect(s.values.shape).to.deep.equal([2, 6, 5, 1]);
    expect(Array.from(s.values.dataSync().filter((_, i) => i % 30 === 0))).to.deep.equal([8, 9]);
    tf.dispose([s.keys, s.values]);
    ring.dispose();
    expect(tf.memory().numTensors).to.equal(baseline);
  });

  it('reset() forgets entries but keeps its memory; pushing starts over', () => {
    const ring = new FeatureRingBuffer({ capacity: 3, keyShape: [2, 3, 4], valueShape: [6, 5, 1] });
    for (const n of [1, 2, 3, 4]) pushFrame(ring, n);
    const tensors = tf.memory().numTensors;
    ring.reset();
    expect(ring.size).to.equal(0);
    expect(ring.entries()).to.deep.equal([]);
    expect(tf.memory().numTensors).to.equal(tensors);
    pushFrame(ring, 10);
    expect(order(ring)).to.deep.equal([[10, 10]]);
    ring.dispose();
    expect(tf.memory().numTensors).to.equal(baseline);
  });

  it('dispose() runs once and the buffer refuses use afterwards', () => {
    const ring = new FeatureRingBuffer({ capacity: 2, keyShape: [2, 3, 4], valueShape: [6, 5, 1] });
    pushFrame(ring, 1);
    ring.dispose();
    ring.dispose();
    expect(ring.isDisposed).to.equal(true);
    expect(tf.memory().numTensors).to.equal(baseline);
    const f = frame(2);
    expect(() => ring.push(f.key, f.value)).to.throw(RingBufferError, /after dispose/);
    tf.dispose([f.key, f.value]);
  });

  it('rejects wrong shapes, dtypes and capacities with the expected shape in the message', () => {
    expect(() => new FeatureRingBuffer({ capacity: 0, keyShape: [1, 1, 1], valueShape: [1, 1, 1] })).to.throw(RingBufferError, /capacity/);
    const ring = new FeatureRingBuffer({ capacity: 2, keyShape: [2, 3, 4], valueShape: [6, 5, 1] });
    const key = tf.zeros([2, 3, 5]) as tf.Tensor3D;
    const value = tf.zeros([6, 5, 1]) as tf.Tensor3D;
    const intKey = tf.zeros([2, 3, 4], 'int32') as tf.Tensor3D;
    expect(() => ring.push(key, value)).to.throw(RingBufferError, /\[2,3,5\].*\[2,3,4\]/);
    expect(() => ring.push(intKey, value)).to.throw(RingBufferError, /int32/);
    expect(ring.size).to.equal(0);
    tf.dispose([key, value, intKey]);
    ring.dispose();
    expect(tf.memory().numTensors).to.equal(baseline);
  });
});
