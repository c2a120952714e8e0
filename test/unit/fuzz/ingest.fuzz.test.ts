/**
 * Property-based fuzzing of the ingest stages (fast-check, fixed seed): the VP8 and H.264
 * depacketizers, the SPS parser, the reorder buffer and the frame assembler take arbitrary
 * bytes and packet streams without throwing anything but their own DepacketizeError, keep
 * their bounds, and round-trip what the packetizers produce.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { depacketizeVp8, DepacketizeError, parseVp8Descriptor } from '../../../src/ingest/vp8Depacketizer.js';
import { depacketizeH264, h264NalUnits, parseSpsSize } from '../../../src/ingest/h264Depacketizer.js';
import { packetizeH264, packetizeVp8 } from '../../../src/ingest/rtpPacketizer.js';
import { RtpReorderBuffer, type ReorderOutput } from '../../../src/ingest/rtpReorder.js';
import { FrameAssembler } from '../../../src/ingest/frameAssembler.js';
import type { AssemblerOutput, RtpIn } from '../../../src/ingest/types.js';
import { fuzzParams } from './fuzzParams.js';

/** Runs f; only DepacketizeError may escape. */
function onlyDepacketizeError<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof DepacketizeError)) throw e;
    return undefined;
  }
}

const bytes = (max = 64) => fc.uint8Array({ minLength: 0, maxLength: max });

/**
 * A NAL unit as an encoder writes it: header byte, emulation-prevented body, non-zero last
 * byte. Not an SPS (7): the depacketizer parses those for the picture size and refuses
 * access units whose SPS does not parse (fail closed: the size limit must hold), which random
 * bodies never do; real SPS units are in depacketizers.test.ts. Not an access unit delimiter
 * (9): the packetizer leaves those out, as RTP senders do.
 */
const nalUnit = fc.tuple(fc.integer({ min: 1, max: 23 }).filter((t) => t !== 9 && t !== 7), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 1, maxLength: 3000 })).map(([type, nri, body]) => {
  const out: number[] = [(nri << 5) | type];
  let zeros = 0;
  for (const b of body) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  if (out[out.length - 1] === 0) out.push(0x80); // rbsp_stop_one_bit
  return Uint8Array.from(out);
});

function annexB(nals: readonly Uint8Array[]): Buffer {
  return Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), Buffer.from(n)]));
}

function rtp(seq: number, ts: number, marker: boolean, payload: Uint8Array, arrivalMs: number, ssrc = 1): RtpIn {
  return { seq: seq & 0xffff, timestamp: ts >>> 0, marker, ssrc, payloadType: 96, payload: Buffer.from(payload), arrivalMs };
}

describe('fuzz: ingest (depacketizers, SPS, reorder buffer, frame assembler)', function () {
  this.timeout(120_000);

  it('VP8: arbitrary payloads give a frame or DepacketizeError; keyframe sizes are 1..16383', () => {
    fc.assert(fc.property(fc.array(bytes(40), { maxLength: 6 }), (payloads) => {
      onlyDepacketizeError(() => parseVp8Descriptor(payloads[0] ?? new Uint8Array()));
      const f = onlyDepacketizeError(() => depacketizeVp8(payloads));
      if (f?.keyframe) {
        expect(f.width).to.be.within(1, 16383);
        expect(f.height).to.be.within(1, 16383);
      }
    }), fuzzParams());
  });

  it('VP8: packetize → depacketize returns the frame, whatever the MTU and picture id', () => {
    const frame = fc.oneof(
      // delta frame: bit 0 of the first byte set
      fc.uint8Array({ minLength: 3, maxLength: 5000 }).map((d) => { d[0]! |= 1; return d; }),
      // keyframe: tag, start code, non-zero size
      fc.tuple(fc.integer({ min: 1, max: 16383 }), fc.integer({ min: 1, max: 16383 }), fc.uint8Array({ maxLength: 5000 })).map(([w, h, rest]) =>
        Uint8Array.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8, ...rest])),
    );
    fc.assert(fc.property(frame, fc.integer({ min: 5, max: 1400 }), fc.integer({ min: 0, max: 0x7fff }), (data, mtu, pictureId) => {
      const payloads = packetizeVp8(data, { maxPayload: mtu, pictureId });
      const f = depacketizeVp8(payloads);
      expect(Buffer.compare(f.data, Buffer.from(data))).to.equal(0);
      expect(f.keyframe).to.equal((data[0]! & 1) === 0);
    }), fuzzParams());
  });

  it('H.264: arbitrary payloads give an access unit or DepacketizeError; SPS sizes are positive', () => {
    fc.assert(fc.property(fc.array(bytes(80), { maxLength: 6 }), (payloads) => {
      const f = onlyDepacketizeError(() => depacketizeH264(payloads));
      if (f && f.width !== undefined) {
        expect(Number.isInteger(f.width) && f.width > 0, `width ${f.width}`).to.equal(true);
        expect(Number.isInteger(f.height) && f.height! > 0, `height ${f.height}`).to.equal(true);
      }
    }), fuzzParams());
    fc.assert(fc.property(bytes(64), (sps) => {
      const s = onlyDepacketizeError(() => parseSpsSize(Uint8Array.from([0x67, ...sps])));
      if (s) expect(s.width > 0 && s.height > 0 && Number.isInteger(s.width) && Number.isInteger(s.height), JSON.stringify(s)).to.equal(true);
    }), fuzzParams(500));
  });

  it('H.264: packetize (single NAL / FU-A) → depacketize returns the same NAL units, whatever the MTU', () => {
    fc.assert(fc.property(fc.array(nalUnit, { minLength: 1, maxLength: 5 }), fc.integer({ min: 3, max: 1400 }), (nals, mtu) => {
      const payloads = packetizeH264(annexB(nals), { maxPayload: mtu });
      const got = h264NalUnits(payloads);
      expect(got.map((n) => Buffer.from(n).toString('hex'))).to.deep.equal(nals.map((n) => Buffer.from(n).toString('hex')));
      expect(Buffer.compare(depacketizeH264(payloads).data, annexB(nals))).to.equal(0);
    }), fuzzParams());
  });

  it('reorder buffer: any arrival order, loss and duplicates — each packet out at most once, in order, held ≤ capacity', () => {
    const arrivals = fc.array(fc.record({ seq: fc.integer({ min: 0, max: 0xffff }), dt: fc.integer({ min: 0, max: 80 }) }), { maxLength: 300 });
    fc.assert(fc.property(arrivals, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 50 }), (list, base, capacity) => {
      const buf = new RtpReorderBuffer({ maxWaitMs: 60, capacity, maxJump: 3000 });
      const out: ReorderOutput[] = [];
      let now = 0;
      for (const a of list) {
        now += a.dt;
        out.push(...buf.push(rtp(base + a.seq, 0, false, new Uint8Array(1), now), now));
        expect(buf.size).to.be.at.most(capacity);
      }
      out.push(...buf.flush(now + 1000));
      expect(buf.size).to.equal(0);
      const emitted = out.filter((o) => o.kind === 'packet');
      const stats = buf.toJSON();
      expect(emitted.length).to.equal(stats.emitted);
      expect(stats.emitted + stats.duplicates + stats.late).to.be.at.most(list.length);
      // Between resyncs, emitted packets are strictly consecutive or separated by a gap report.
      let prev: number | undefined;
      for (const o of out) {
        if (o.kind === 'gap') {
          prev = undefined;
          continue;
        }
        if (prev !== undefined) expect(o.packet.seq, 'in order without a gap').to.equal((prev + 1) & 0xffff);
        prev = o.packet.seq;
      }
    }), fuzzParams());
  });

  it('reorder buffer: a lossless stream displaced by ≤ capacity comes out complete and in order', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 0xffff }), fc.array(fc.nat(), { maxLength: 200 }), (n, base, swaps) => {
      const order = Array.from({ length: n }, (_, i) => i);
      for (let k = 0; k < swaps.length; k++) {
        const i = swaps[k]! % n;
        const j = Math.min(n - 1, i + 1 + (swaps[k]! % 5));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const buf = new RtpReorderBuffer({ maxWaitMs: 60 });
      // The first packet defines the start: put the lowest first, as a stream's first packet is.
      const first = order.indexOf(0);
      [order[0], order[first]] = [order[first]!, order[0]!];
      const seqs: number[] = [];
      for (const i of order) for (const o of buf.push(rtp(base + i, 0, false, new Uint8Array(1), 0), 0)) if (o.kind === 'packet') seqs.push(o.packet.seq);
      expect(seqs).to.deep.equal(Array.from({ length: n }, (_, i) => (base + i) & 0xffff));
    }), fuzzParams());
  });

  it('frame assembler: arbitrary RTP streams (garbage, SSRC and timestamp jumps) never throw; frames stay within the limits', () => {
    const maxFramePixels = 640 * 480;
    const maxFrameBytes = 20_000;
    const packet = fc.record({
      seqStep: fc.oneof(fc.constant(1), fc.constant(1), fc.constant(1), fc.integer({ min: -3, max: 5 }), fc.integer({ min: 0, max: 0xffff })),
      newFrame: fc.boolean(),
      tsStep: fc.oneof(fc.constant(3000), fc.integer({ min: -0x7fffffff, max: 0x7fffffff })),
      marker: fc.boolean(),
      ssrc: fc.constantFrom(1, 1, 1, 2),
      payload: fc.oneof(bytes(30), fc.constant(Uint8Array.from([0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01])), fc.uint8Array({ minLength: 1000, maxLength: 4000 })),
      dt: fc.integer({ min: 0, max: 120 }),
    });
    fc.assert(fc.property(fc.constantFrom<'vp8' | 'h264'>('vp8', 'h264'), fc.array(packet, { maxLength: 120 }), (codec, list) => {
      const asm = new FrameAssembler(codec, { maxFramePixels, maxFrameBytes, keyframeRetryMs: 500 });
      const reorder = new RtpReorderBuffer({ maxWaitMs: 60, capacity: 50 });
      let seq = 100;
      let ts = 0;
      let now = 0;
      const outs: AssemblerOutput[] = [];
      for (const p of list) {
        seq += p.seqStep;
        if (p.newFrame) ts += p.tsStep;
        now += p.dt;
        for (const o of reorder.push(rtp(seq, ts, p.marker, p.payload, now, p.ssrc), now)) outs.push(...asm.push(o, now));
        outs.push(...asm.tick(now));
      }
      for (const o of reorder.flush(now + 1000)) outs.push(...asm.push(o, now + 1000));
      let waiting = true;
      for (const o of outs) {
        if (o.kind === 'keyframe_needed') waiting = true;
        if (o.kind !== 'frame') continue;
        const f = o.frame;
        expect(f.data.length).to.be.at.most(maxFrameBytes);
        if (f.width !== undefined) expect(f.width * f.height!).to.be.within(1, maxFramePixels);
        if (waiting) expect(f.keyframe, 'after a keyframe request the next frame out is a keyframe').to.equal(true);
        if (f.keyframe) waiting = false;
      }
    }), fuzzParams());
  });
});
