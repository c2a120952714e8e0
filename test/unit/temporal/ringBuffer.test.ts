import { expect } from 'chai';
import { FrameRing, RingBufferError } from '../../../src/temporal/ringBuffer.js';

const OPTS = { capacity: 3, cells: 6, channels: 4, pixels: 30 };

/** Pushes frame n: every key element n + 0.5, every value byte n. */
function push(ring: FrameRing, n: number): void {
  ring.push(new Float32Array(OPTS.cells * OPTS.channels).fill(n + 0.5), new Uint8Array(OPTS.pixels).fill(n));
}

/** Frame numbers held, by slot, read back from both arrays (they must agree). */
function held(ring: FrameRing): number[] {
  const kn = ring.cells * ring.channels;
  return Array.from({ length: ring.size }, (_, s) => {
    const k = ring.keys[s * kn]! - 0.5;
    expect(ring.value(s)[0]).to.equal(k);
    return k;
  });
}

describe('temporal/ringBuffer FrameRing', () => {
  it('preallocates its slots and reports their bytes', () => {
    const ring = new FrameRing(OPTS);
    expect(ring.capacity).to.equal(3);
    expect(ring.size).to.equal(0);
    expect(ring.bytes).to.equal(3 * 6 * 4 * 4 + 3 * 30);
    expect(ring.keys.length).to.equal(3 * 24);
    expect(ring.values.length).to.equal(3 * 30);
    expect(ring.newest()).to.equal(-1);
  });

  it('wraps around keeping the newest `capacity` frames, overwriting the oldest slot, without reallocating', () => {
    const ring = new FrameRing(OPTS);
    const keys = ring.keys;
    const values = ring.values;
    push(ring, 1);
    push(ring, 2);
    expect(ring.size).to.equal(2);
    expect(held(ring)).to.deep.equal([1, 2]);
    expect(ring.newest()).to.equal(1);
    push(ring, 3);
    push(ring, 4); // overwrites slot 0 (frame 1)
    expect(held(ring)).to.deep.equal([4, 2, 3]);
    expect(ring.newest()).to.equal(0);
    push(ring, 5);
    push(ring, 6);
    expect(held(ring)).to.deep.equal([4, 5, 6]);
    expect(ring.size).to.equal(3);
    expect(ring.keys).to.equal(keys);
    expect(ring.values).to.equal(values);
  });

  it('reset() forgets frames but keeps its memory; pushing starts over at slot 0', () => {
    const ring = new FrameRing(OPTS);
    for (const n of [1, 2, 3, 4]) push(ring, n);
    ring.reset();
    expect(ring.size).to.equal(0);
    push(ring, 10);
    expect(held(ring)).to.deep.equal([10]);
    expect(ring.newest()).to.equal(0);
  });

  it('dispose() is idempotent and the ring refuses use afterwards', () => {
    const ring = new FrameRing(OPTS);
    push(ring, 1);
    ring.dispose();
    ring.dispose();
    expect(ring.isDisposed).to.equal(true);
    expect(ring.size).to.equal(0);
    expect(() => push(ring, 2)).to.throw(RingBufferError, /after dispose/);
  });

  it('rejects wrong sizes and capacities with the expected size in the message', () => {
    expect(() => new FrameRing({ ...OPTS, capacity: 0 })).to.throw(RingBufferError, /capacity/);
    expect(() => new FrameRing({ ...OPTS, capacity: 65 })).to.throw(RingBufferError, /limit of 64/);
    expect(() => new FrameRing({ ...OPTS, pixels: 1.5 })).to.throw(RingBufferError, /pixels/);
    const ring = new FrameRing(OPTS);
    expect(() => ring.push(new Float32Array(23), new Uint8Array(30))).to.throw(RingBufferError, /6 cells × 4 channels = 24/);
    expect(() => ring.push(new Float32Array(24), new Uint8Array(31))).to.throw(RingBufferError, /built for 30/);
    expect(() => ring.value(0)).to.throw(RingBufferError, /not valid/);
    expect(ring.size).to.equal(0);
  });
});
