import { expect } from 'chai';
import { depacketizeVp8, parseVp8Descriptor, DepacketizeError } from '../../../src/ingest/vp8Depacketizer.js';
import { depacketizeH264, h264NalUnits, parseSpsSize } from '../../../src/ingest/h264Depacketizer.js';
import { packetizeH264, packetizeVp8, splitAnnexB } from '../../../src/ingest/rtpPacketizer.js';

/** A VP8 keyframe-shaped byte string: frame tag (key), start code, 14-bit width/height, filler. */
export function vp8Keyframe(width: number, height: number, bytes = 3000): Buffer {
  const b = Buffer.alloc(bytes, 0x5a);
  b[0] = 0x10; // bit 0 = 0: keyframe
  b[1] = 0x02;
  b[2] = 0x00;
  b.set([0x9d, 0x01, 0x2a], 3);
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b;
}

export function vp8Delta(bytes = 900): Buffer {
  const b = Buffer.alloc(bytes, 0x33);
  b[0] = 0x11; // bit 0 = 1: interframe
  return b;
}

/** Exp-Golomb writer, to craft SPS NAL units of any size. */
class BitWriter {
  private bits: number[] = [];
  u(n: number, v: number) {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) & 1);
  }
  ue(v: number) {
    const x = v + 1;
    const len = Math.floor(Math.log2(x));
    this.u(len, 0);
    this.u(len + 1, x);
  }
  bytes(): Uint8Array {
    this.bits.push(1); // rbsp stop bit
    while (this.bits.length % 8) this.bits.push(0);
    const out = new Uint8Array(this.bits.length / 8);
    for (let i = 0; i < this.bits.length; i++) out[i >> 3]! |= this.bits[i]! << (7 - (i & 7));
    return out;
  }
}

/** Constrained-baseline SPS (profile 66) for width × height, with frame cropping when needed. */
export function baselineSps(width: number, height: number): Uint8Array {
  const w = new BitWriter();
  w.u(8, 66);
  w.u(8, 0xc0);
  w.u(8, 31);
  w.ue(0); // sps id
  w.ue(0); // log2_max_frame_num_minus4
  w.ue(2); // poc type 2
  w.ue(1); // max refs
  w.u(1, 0);
  const mbW = Math.ceil(width / 16);
  const mbH = Math.ceil(height / 16);
  w.ue(mbW - 1);
  w.ue(mbH - 1);
  w.u(1, 1); // frame_mbs_only
  w.u(1, 1); // direct_8x8
  const cropR = (mbW * 16 - width) / 2;
  const cropB = (mbH * 16 - height) / 2;
  if (cropR || cropB) {
    w.u(1, 1);
    w.ue(0);
    w.ue(cropR);
    w.ue(0);
    w.ue(cropB);
  } else {
    w.u(1, 0);
  }
  w.u(1, 0); // vui
  return Uint8Array.from([0x67, ...w.bytes()]);
}

const annexB = (...nals: Uint8Array[]) => Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), Buffer.from(n)]));

describe('ingest/vp8Depacketizer', () => {
  it('round-trips a keyframe through packetizeVp8 and reads its size', () => {
    const frame = vp8Keyframe(640, 480, 5000);
    const payloads = packetizeVp8(frame, { pictureId: 1234, maxPayload: 1200 });
    expect(payloads.length).to.equal(5);
    expect(parseVp8Descriptor(payloads[0]!)).to.include({ start: true, partition: 0, pictureId: 1234, headerBytes: 4 });
    expect(parseVp8Descriptor(payloads[1]!).start).to.equal(false);
    const d = depacketizeVp8(payloads);
    expect(d).to.include({ keyframe: true, width: 640, height: 480 });
    expect(Buffer.compare(d.data, frame)).to.equal(0);
  });

  it('recognises delta frames', () => {
    const d = depacketizeVp8(packetizeVp8(vp8Delta(), { pictureId: 5 }));
    expect(d.keyframe).to.equal(false);
    expect(d.width).to.equal(undefined);
  });

  it('parses the short (7-bit) picture id and optional TL0PICIDX/TID bytes', () => {
    const p = Uint8Array.from([0x90, 0xe0, 0x05, 0x07, 0x40, 0x11, 0x22]);
    expect(parseVp8Descriptor(p)).to.include({ start: true, pictureId: 5, headerBytes: 5 });
  });

  it('refuses a frame whose first packet was lost, and truncated descriptors', () => {
    const payloads = packetizeVp8(vp8Keyframe(320, 240), { pictureId: 1, maxPayload: 1000 });
    expect(() => depacketizeVp8(payloads.slice(1))).to.throw(DepacketizeError, /head was lost/);
    expect(() => parseVp8Descriptor(Uint8Array.from([0x80]))).to.throw(DepacketizeError);
    expect(() => parseVp8Descriptor(Uint8Array.from([0x80, 0x80, 0x80]))).to.throw(DepacketizeError);
    const badStart = vp8Keyframe(320, 240);
    badStart[3] = 0;
    expect(() => depacketizeVp8(packetizeVp8(badStart, { pictureId: 1 }))).to.throw(DepacketizeError, /start code/);
  });
});

describe('ingest/h264Depacketizer', () => {
  it('reads the size of real x264 SPS units (High profile, with cropping)', () => {
    const cases: [string, number, number][] = [
      ['6764001eacb40501ed08000003000800000301e478b175', 640, 480],
      ['6764001facb402802dd080000003008000001e478c1950', 1280, 720],
      ['6764000dacb40a843c444420000003002000000791e28554', 322, 242],
    ];
    for (const [hex, w, h] of cases) expect(parseSpsSize(Buffer.from(hex, 'hex'))).to.deep.equal({ width: w, height: h });
  });

  it('reads the size of constrained-baseline SPS units', () => {
    for (const [w, h] of [[640, 480], [1920, 1080], [176, 144], [1280, 720]] as const) {
      expect(parseSpsSize(baselineSps(w, h))).to.deep.equal({ width: w, height: h });
    }
  });

  it('round-trips an IDR access unit through packetizeH264 (single NAL + FU-A)', () => {
    const sps = baselineSps(640, 480);
    const pps = Uint8Array.from([0x68, 0xce, 0x3c, 0x80]);
    const idr = Buffer.alloc(5000, 0x42);
    idr[0] = 0x65;
    const au = annexB(sps, pps, idr);
    const payloads = packetizeH264(au, { maxPayload: 1200 });
    expect(payloads.length).to.equal(2 + 5); // SPS, PPS, then 5 FU-A fragments
    expect(payloads[2]![0]! & 0x1f).to.equal(28);
    const d = depacketizeH264(payloads);
    expect(d).to.include({ keyframe: true, width: 640, height: 480 });
    expect(Buffer.compare(d.data, au)).to.equal(0);
  });

  it('unpacks STAP-A aggregates', () => {
    const sps = baselineSps(320, 240);
    const pps = Uint8Array.from([0x68, 0xce, 0x3c, 0x80]);
    const stap = Buffer.concat([Buffer.from([0x78]), Buffer.from([0, sps.length]), sps, Buffer.from([0, pps.length]), pps]);
    const slice = Uint8Array.from([0x65, 1, 2, 3]);
    const nals = h264NalUnits([stap, slice]);
    expect(nals.map((n) => n[0]! & 0x1f)).to.deep.equal([7, 8, 5]);
    expect(depacketizeH264([stap, slice])).to.include({ keyframe: true, width: 320, height: 240 });
  });

  it('treats a frame without an IDR slice as a delta frame', () => {
    const d = depacketizeH264([Uint8Array.from([0x41, 9, 9, 9])]);
    expect(d.keyframe).to.equal(false);
  });

  it('refuses broken fragmentation and unsupported packet types', () => {
    const idr = Buffer.alloc(3000, 1);
    idr[0] = 0x65;
    const frags = packetizeH264(annexB(idr), { maxPayload: 1000 });
    expect(() => depacketizeH264(frags.slice(1))).to.throw(DepacketizeError, /without its start/);
    expect(() => depacketizeH264(frags.slice(0, -1))).to.throw(DepacketizeError, /not terminated/);
    expect(() => depacketizeH264([Uint8Array.from([0x79, 0, 1])])).to.throw(DepacketizeError, /unsupported H.264 packet type 25/);
    expect(() => depacketizeH264([Uint8Array.from([0x78, 0, 9, 1])])).to.throw(DepacketizeError, /overruns/);
    expect(() => depacketizeH264([Uint8Array.from([0xe5, 1])])).to.throw(DepacketizeError, /forbidden/);
    expect(() => parseSpsSize(Uint8Array.from([0x67, 66]))).to.throw(DepacketizeError, /truncated/);
  });

  it('splits Annex-B streams with 3- and 4-byte start codes', () => {
    const s = Buffer.from([0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5]);
    expect(splitAnnexB(s).map((n) => Buffer.from(n).toString('hex'))).to.deep.equal(['670102', '6803', '650405']);
  });
});
