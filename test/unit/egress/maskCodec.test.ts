import { expect } from 'chai';
import { decodeMask, decodeRle, encodeMask, encodeRle, MaskCodecError, MaskEncoding, MASK_HEADER_BYTES, stampSendTime } from '../../../src/egress/maskCodec.js';

const timings = { receiveMs: 1.5, decodeMs: 2.25, preprocessMs: 0.5, inferenceMs: 16, temporalMs: 0.75, encodeMs: 0.125, serverMs: 21 };

function sampleMask(w: number, h: number): Uint8Array {
  const a = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) a[y * w + x] = x > w / 3 && x < (2 * w) / 3 ? (y % 7 === 0 ? 200 : 255) : 0;
  return a;
}

describe('mask codec', () => {
  it('round-trips header fields and RLE alpha exactly', () => {
    const alpha = sampleMask(256, 144);
    const buf = encodeMask({ seq: 4_000_000_000, rtpTimestamp: 0xfffffff0, width: 256, height: 144, alpha, serverSendTime: 1763939000123.25, timings, droppedFrames: 17 });
    expect(buf[3]).to.equal(MaskEncoding.Rle);
    expect(buf.length).to.be.lessThan(alpha.length / 4);
    const m = decodeMask(buf);
    expect(m.seq).to.equal(4_000_000_000);
    expect(m.rtpTimestamp).to.equal(0xfffffff0);
    expect([m.width, m.height]).to.deep.equal([256, 144]);
    expect(m.serverSendTime).to.equal(1763939000123.25);
    expect(m.timings).to.deep.equal(timings);
    expect(m.droppedFrames).to.equal(17);
    expect(Buffer.from(m.alpha).equals(Buffer.from(alpha))).to.equal(true);
  });

  it('falls back to raw when RLE would be larger, and raw round-trips', () => {
    const alpha = new Uint8Array(64 * 64).map((_, i) => (i * 37) & 0xff); // no runs
    const buf = encodeMask({ seq: 1, rtpTimestamp: 2, width: 64, height: 64, alpha, serverSendTime: 0, timings, droppedFrames: 0 });
    expect(buf[3]).to.equal(MaskEncoding.Raw);
    expect(buf.length).to.equal(MASK_HEADER_BYTES + alpha.length);
    expect(Buffer.from(decodeMask(buf).alpha).equals(Buffer.from(alpha))).to.equal(true);
  });

  it('stampSendTime patches send time and server latency in place', () => {
    const buf = encodeMask({ seq: 1, rtpTimestamp: 2, width: 2, height: 2, alpha: new Uint8Array(4), serverSendTime: 0, timings, droppedFrames: 0 });
    stampSendTime(buf, 12345.5, 33.5);
    const m = decodeMask(buf);
    expect(m.serverSendTime).to.equal(12345.5);
    expect(m.timings.serverMs).to.equal(33.5);
  });

  it('RLE handles runs longer than 255 and single bytes', () => {
    const src = new Uint8Array(1000).fill(9);
    src[500] = 1;
    const enc = encodeRle(src);
    expect(enc.length).to.equal(2 * (2 + 1 + 2)); // 255+245, 1, 255+244
    expect(Buffer.from(decodeRle(enc, 1000)).equals(Buffer.from(src))).to.equal(true);
  });

  it('rejects malformed messages with MaskCodecError', () => {
    const good = encodeMask({ seq: 1, rtpTimestamp: 2, width: 16, height: 16, alpha: new Uint8Array(256), serverSendTime: 0, timings, droppedFrames: 0 });
    const cases: [string, Uint8Array][] = [
      ['short', good.subarray(0, 10)],
      ['magic', Uint8Array.from(good, (b, i) => (i === 0 ? 0 : b))],
      ['version', Uint8Array.from(good, (b, i) => (i === 2 ? 9 : b))],
      ['encoding', Uint8Array.from(good, (b, i) => (i === 3 ? 7 : b))],
      ['truncated payload', good.subarray(0, good.length - 1)],
      ['zero width', Uint8Array.from(good, (b, i) => (i === 12 || i === 13 ? 0 : b))],
    ];
    for (const [name, buf] of cases) expect(() => decodeMask(buf), name).to.throw(MaskCodecError);
    expect(() => decodeRle(Uint8Array.of(0, 5), 4)).to.throw(MaskCodecError);
    expect(() => decodeRle(Uint8Array.of(5, 5), 4)).to.throw(MaskCodecError);
    expect(() => decodeRle(Uint8Array.of(2, 5), 4)).to.throw(MaskCodecError);
  });

  it('refuses to encode a mask whose size does not match', () => {
    expect(() => encodeMask({ seq: 0, rtpTimestamp: 0, width: 4, height: 4, alpha: new Uint8Array(15), serverSendTime: 0, timings, droppedFrames: 0 })).to.throw(MaskCodecError);
  });
});
