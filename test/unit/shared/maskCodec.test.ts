import { expect } from 'chai';
import { decodeMask, decodeRle, encodeMask, encodeRle, MaskCodecError, MaskEncoding, MASK_HEADER_BYTES, MASK_VERSION, MASK_VERSION_DETAILS, stampEncodeMs, stampSendTime } from '../../../src/shared/maskCodec.js';
import { composeMask, MaskComposeError } from '../../../src/shared/maskCompose.js';
import { resizeMaskBilinear } from '../../../src/shared/maskResize.js';

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

  it('version 2 carries detail layers (box in picture px, grid, alpha) after the mask; without details it stays version 1', () => {
    const alpha = sampleMask(32, 18);
    const d1 = { box: { x: 100, y: 40, width: 120, height: 160 }, width: 32, height: 18, alpha: sampleMask(32, 18) };
    const d2 = { box: { x: 400, y: 0, width: 240, height: 480 }, width: 32, height: 18, alpha: new Uint8Array(32 * 18).map((_, i) => (i * 31) & 255) };
    const v1 = encodeMask({ seq: 1, rtpTimestamp: 2, width: 32, height: 18, alpha, serverSendTime: 0, timings, droppedFrames: 0, details: [] });
    expect(v1[2]).to.equal(MASK_VERSION);
    expect(decodeMask(v1).details).to.deep.equal([]);
    const buf = encodeMask({ seq: 1, rtpTimestamp: 2, width: 32, height: 18, alpha, serverSendTime: 0, timings, droppedFrames: 0, details: [d1, d2], pictureWidth: 640, pictureHeight: 480 });
    expect(buf[2]).to.equal(MASK_VERSION_DETAILS);
    stampEncodeMs(buf, 0.625);
    const m = decodeMask(buf);
    expect(m.timings.encodeMs).to.equal(0.625);
    expect([m.pictureWidth, m.pictureHeight]).to.deep.equal([640, 480]);
    expect(Buffer.from(m.alpha).equals(Buffer.from(alpha))).to.equal(true);
    expect(m.details.map((d) => [d.box, d.width, d.height])).to.deep.equal([[d1.box, 32, 18], [d2.box, 32, 18]]);
    expect(Buffer.from(m.details[0]!.alpha).equals(Buffer.from(d1.alpha))).to.equal(true);
    expect(Buffer.from(m.details[1]!.alpha).equals(Buffer.from(d2.alpha))).to.equal(true);
  });

  it('refuses malformed detail layers, on both sides', () => {
    const d = { box: { x: 600, y: 0, width: 60, height: 10 }, width: 4, height: 4, alpha: new Uint8Array(16) };
    const base = { seq: 1, rtpTimestamp: 2, width: 4, height: 4, alpha: new Uint8Array(16), serverSendTime: 0, timings, droppedFrames: 0, pictureWidth: 640, pictureHeight: 480 };
    expect(() => encodeMask({ ...base, details: [d] }), 'box outside the picture').to.throw(MaskCodecError, /detail 0: bad box/);
    expect(() => encodeMask({ ...base, details: [{ ...d, box: { x: 0, y: 0, width: 10, height: 10 }, alpha: new Uint8Array(3) }] })).to.throw(MaskCodecError, /alpha has 3 bytes/);
    expect(() => encodeMask({ ...base, pictureWidth: 0, details: [{ ...d, box: { x: 0, y: 0, width: 10, height: 10 } }] })).to.throw(MaskCodecError, /picture size/);
    const good = encodeMask({ ...base, details: [{ ...d, box: { x: 0, y: 0, width: 10, height: 10 } }] });
    expect(decodeMask(good).details).to.have.length(1);
    const trailer = MASK_HEADER_BYTES + new DataView(good.buffer, good.byteOffset).getUint32(56, true);
    const patched = (at: number, v: number) => Uint8Array.from(good, (b, i) => (i === at ? v : b));
    const cases: [string, Uint8Array][] = [
      ['no trailer', good.subarray(0, trailer)],
      ['truncated detail', good.subarray(0, good.length - 3)],
      ['extra bytes', Uint8Array.from([...good, 0])],
      ['detail count 0', patched(trailer + 4, 0)],
      ['detail count 200', patched(trailer + 4, 200)],
      ['picture width 0', Uint8Array.from(good, (b, i) => (i === trailer || i === trailer + 1 ? 0 : b))],
      ['box past the picture', patched(trailer + 6, 3)],
      ['detail encoding', patched(trailer + 5 + 12, 9)],
    ];
    for (const [name, buf] of cases) expect(() => decodeMask(buf), name).to.throw(MaskCodecError);
  });

  it('composeMask: the mask stretched over the picture, each detail stretched over its box on top', () => {
    const coarse = sampleMask(32, 18);
    const detail = { box: { x: 40, y: 20, width: 60, height: 50 }, width: 12, height: 10, alpha: new Uint8Array(120).map((_, i) => (i % 12 < 6 ? 255 : 0)) };
    const out = composeMask({ width: 32, height: 18, alpha: coarse, details: [detail] }, 160, 90);
    const plain = resizeMaskBilinear(coarse, 32, 18, 160, 90);
    const patch = resizeMaskBilinear(detail.alpha, 12, 10, 60, 50);
    for (let y = 0; y < 90; y++) {
      for (let x = 0; x < 160; x++) {
        const inside = x >= 40 && x < 100 && y >= 20 && y < 70;
        expect(out[y * 160 + x], `(${x}, ${y})`).to.equal(inside ? patch[(y - 20) * 60 + (x - 40)] : plain[y * 160 + x]);
      }
    }
    expect(() => composeMask({ width: 32, height: 18, alpha: coarse, details: [{ ...detail, box: { x: 150, y: 0, width: 20, height: 10 } }] }, 160, 90)).to.throw(MaskComposeError);
  });

  it('refuses to encode a mask whose size does not match', () => {
    expect(() => encodeMask({ seq: 0, rtpTimestamp: 0, width: 4, height: 4, alpha: new Uint8Array(15), serverSendTime: 0, timings, droppedFrames: 0 })).to.throw(MaskCodecError);
  });
});
