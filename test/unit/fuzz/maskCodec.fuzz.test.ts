/**
 * Property-based fuzzing of the mask message codec (fast-check, fixed seed), which the
 * browser client runs on whatever arrives on its data channel: encode → decode round-trips
 * every field, and arbitrary or corrupted bytes decode or throw MaskCodecError — never
 * anything else, and never a large allocation for a small hostile message.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeMask, decodeRle, encodeMask, encodeRle, MASK_HEADER_BYTES, MaskCodecError, MaskEncoding, type MaskTimings } from '../../../src/shared/maskCodec.js';
import { fuzzParams } from './fuzzParams.js';

function codecOutcome<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(MaskCodecError);
    return undefined;
  }
}

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround);
const timings: fc.Arbitrary<MaskTimings> = fc.record({
  receiveMs: f32, decodeMs: f32, preprocessMs: f32, inferenceMs: f32, temporalMs: f32, encodeMs: f32, serverMs: f32,
});
/** Masks as models make them (long runs of 0/255, soft edges) and pure noise. */
const alpha = (n: number) => fc.oneof(
  fc.uint8Array({ minLength: n, maxLength: n }),
  fc.array(fc.tuple(fc.integer({ min: 1, max: 600 }), fc.constantFrom(0, 255, 128)), { minLength: 1, maxLength: 20 }).map((runs) => {
    const a = new Uint8Array(n);
    let o = 0;
    for (const [len, v] of runs) {
      a.fill(v, o, Math.min(n, o + len));
      o += len;
    }
    return a;
  }),
);
const mask = fc.tuple(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 80 })).chain(([w, h]) => fc.record({
  seq: fc.nat({ max: 0xffffffff }),
  rtpTimestamp: fc.nat({ max: 0xffffffff }),
  width: fc.constant(w),
  height: fc.constant(h),
  alpha: alpha(w * h),
  serverSendTime: fc.double({ noNaN: true, noDefaultInfinity: true }),
  timings,
  droppedFrames: fc.nat({ max: 0xffffffff }),
  encoding: fc.constantFrom(MaskEncoding.Raw, MaskEncoding.Rle),
})).chain((m) => fc.oneof(
  fc.constant({ ...m, details: [] as { box: { x: number; y: number; width: number; height: number }; width: number; height: number; alpha: Uint8Array }[] }),
  // Version 2: crops' detail layers, boxes inside a 640 × 480 picture.
  fc.array(
    fc.tuple(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 440 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }))
      .chain(([x, y, bw, bh, w, h]) => alpha(w * h).map((a) => ({ box: { x, y, width: bw, height: bh }, width: w, height: h, alpha: a }))),
    { minLength: 1, maxLength: 4 },
  ).map((details) => ({ ...m, details, pictureWidth: 640, pictureHeight: 480 })),
));

/** Largest `new Uint8Array(n)` made while `f` runs (the global constructor is swapped for a spy). */
function largestAllocation(f: () => unknown): number {
  const Original = globalThis.Uint8Array;
  let largest = 0;
  class Spy extends Original {
    constructor(...args: unknown[]) {
      if (typeof args[0] === 'number') largest = Math.max(largest, args[0]);
      super(...(args as [number]));
    }
  }
  globalThis.Uint8Array = Spy as unknown as Uint8ArrayConstructor;
  try {
    f();
  } finally {
    globalThis.Uint8Array = Original;
  }
  return largest;
}

describe('fuzz: mask codec', function () {
  this.timeout(120_000);

  it('encode → decode returns every field (raw and run-length)', () => {
    fc.assert(fc.property(mask, (m) => {
      const d = decodeMask(encodeMask(m));
      expect(d.alpha).to.deep.equal(m.alpha);
      expect(d.details.map((x) => ({ ...x, alpha: [...x.alpha] }))).to.deep.equal(m.details.map((x) => ({ ...x, alpha: [...x.alpha] })));
      expect({ ...d, alpha: undefined, encoding: undefined, details: undefined }).to.deep.equal({ ...m, alpha: undefined, encoding: undefined, details: undefined });
      if (m.encoding === MaskEncoding.Raw) expect(d.encoding).to.equal(MaskEncoding.Raw);
    }), fuzzParams());
  });

  it('decodes arbitrary bytes, and valid messages with bytes flipped, truncated or appended, to a mask or MaskCodecError', () => {
    const corrupted = fc.tuple(mask, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.integer({ min: -20, max: 20 })).map(([m, flips, cut]) => {
      let b = Buffer.from(encodeMask(m));
      for (const [pos, v] of flips) b[pos % b.length] = v;
      b = cut < 0 ? b.subarray(0, Math.max(0, b.length + cut)) : Buffer.concat([b, Buffer.alloc(cut, 7)]);
      return new Uint8Array(b);
    });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), corrupted), (bytes) => {
      const d = codecOutcome(() => decodeMask(bytes));
      if (d) expect(d.alpha.length).to.equal(d.width * d.height);
    }), fuzzParams(1000));
  });

  it('a small hostile message never makes the decoder allocate the declared size (regression: 64 bytes claimed 4096×4096 RLE → 16 MiB)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 4096 }), fc.uint8Array({ maxLength: 64 }).map((p) => p.subarray(0, p.length & ~1)), (w, h, payload) => {
      const b = new Uint8Array(MASK_HEADER_BYTES + payload.length);
      const dv = new DataView(b.buffer);
      b.set([0x4d, 0x53, 1, MaskEncoding.Rle]);
      dv.setUint16(12, w, true);
      dv.setUint16(14, h, true);
      dv.setUint32(56, payload.length, true);
      b.set(payload, MASK_HEADER_BYTES);
      const largest = largestAllocation(() => codecOutcome(() => decodeMask(b)));
      const d = codecOutcome(() => decodeMask(b));
      if (d) expect(w * h, 'only payloads that can cover the picture decode').to.be.at.most((payload.length / 2) * 255);
      expect(largest, 'largest typed array allocated, bytes').to.be.at.most(Math.max(MASK_HEADER_BYTES + 64, (payload.length / 2) * 255));
    }), fuzzParams());
    const e = codecOutcome(() => decodeRle(Uint8Array.from([1, 0]), 4096 * 4096));
    expect(e).to.equal(undefined);
  });

  it('encodeRle → decodeRle is the identity; decodeRle of arbitrary bytes is exact or MaskCodecError', () => {
    fc.assert(fc.property(alpha(3000), (a) => {
      expect(decodeRle(encodeRle(a), a.length)).to.deep.equal(a);
    }), fuzzParams());
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 5000 }), (rle, n) => {
      const d = codecOutcome(() => decodeRle(rle, n));
      if (d) expect(d.length).to.equal(n);
    }), fuzzParams());
  });
});
