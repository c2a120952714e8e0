import { expect } from 'chai';
import { FrameAssembler } from '../../../src/ingest/frameAssembler.js';
import { RtpReorderBuffer } from '../../../src/ingest/rtpReorder.js';
import { packetizeH264, packetizeVp8 } from '../../../src/ingest/rtpPacketizer.js';
import type { AssemblerOutput, RtpIn } from '../../../src/ingest/types.js';
import { baselineSps, vp8Delta, vp8Keyframe } from './depacketizers.test.js';

/** Crafted VP8 stream: frame i is a keyframe when `keys` has i; 90 kHz timestamps at 30 fps. */
function vp8Stream(n: number, keys: Set<number>, opts: { ssrc?: number; firstSeq?: number; firstTs?: number; size?: [number, number] } = {}): RtpIn[][] {
  let seq = opts.firstSeq ?? 100;
  const [w, h] = opts.size ?? [640, 480];
  const frames: RtpIn[][] = [];
  for (let i = 0; i < n; i++) {
    const data = keys.has(i) ? vp8Keyframe(w, h, 4000) : vp8Delta(1500);
    const payloads = packetizeVp8(data, { pictureId: i, maxPayload: 1200 });
    const ts = ((opts.firstTs ?? 0) + i * 3000) >>> 0;
    frames.push(payloads.map((payload, k) => ({
      seq: seq++ & 0xffff, timestamp: ts, marker: k === payloads.length - 1, ssrc: opts.ssrc ?? 7, payloadType: 96, payload, arrivalMs: i * 33,
    })));
  }
  return frames;
}

/** Runs packets (in the given arrival order) through reorder + assembler; returns all outputs. */
function run(packets: RtpIn[], asm: FrameAssembler, maxWaitMs = 50): AssemblerOutput[] {
  const r = new RtpReorderBuffer({ maxWaitMs });
  const out: AssemblerOutput[] = [];
  for (const p of packets) for (const o of r.push(p, p.arrivalMs)) out.push(...asm.push(o, p.arrivalMs));
  for (const o of r.flush(1e9)) out.push(...asm.push(o, 1e9));
  return out;
}

const frames = (outs: AssemblerOutput[]) => outs.flatMap((o) => (o.kind === 'frame' ? [o.frame] : []));
const drops = (outs: AssemblerOutput[]) => outs.flatMap((o) => (o.kind === 'frame_dropped' ? [o.reason] : []));
const requests = (outs: AssemblerOutput[]) => outs.flatMap((o) => (o.kind === 'keyframe_needed' ? [o.reason] : []));

describe('ingest/frameAssembler FrameAssembler', () => {
  it('assembles a clean VP8 stream into whole frames, keyframe first, with timing', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080 });
    const outs = run(vp8Stream(10, new Set([0])).flat(), asm);
    const f = frames(outs);
    expect(f.length).to.equal(10);
    expect(f[0]).to.include({ keyframe: true, width: 640, height: 480, codec: 'vp8', rtpTimestamp: 0 });
    expect(f.slice(1).every((x) => !x.keyframe)).to.equal(true);
    expect(f.map((x) => x.extTimestamp)).to.deep.equal(Array.from({ length: 10 }, (_, i) => i * 3000));
    expect(f[3]!.data.length).to.equal(1500);
    expect(requests(outs)).to.deep.equal([]);
  });

  it('asks for a keyframe at start when the stream begins with a delta frame, and drops until it comes', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080 });
    const outs = run(vp8Stream(6, new Set([3])).flat(), asm);
    expect(requests(outs)).to.deep.equal(['start']);
    expect(drops(outs)).to.deep.equal(['waiting_keyframe', 'waiting_keyframe', 'waiting_keyframe']);
    expect(frames(outs).map((f) => f.keyframe)).to.deep.equal([true, false, false]);
  });

  it('a lost packet breaks the frame and the chain: incomplete, keyframe request (loss), drops until the keyframe', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080 });
    const stream = vp8Stream(8, new Set([0, 5]));
    stream[2]!.splice(1, 1); // frame 2 loses its middle packet
    const outs = run(stream.flat(), asm);
    expect(drops(outs)).to.deep.equal(['incomplete', 'waiting_keyframe', 'waiting_keyframe']);
    expect(requests(outs)).to.deep.equal(['loss']);
    expect(frames(outs).map((f) => f.rtpTimestamp / 3000)).to.deep.equal([0, 1, 5, 6, 7]);
  });

  it('recovers a reordered packet (e.g. an RTX retransmission) without loss', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080 });
    const stream = vp8Stream(5, new Set([0]));
    const late = stream[1]!.splice(0, 1)[0]!; // frame 1's first packet arrives after frame 2
    stream[2]!.push({ ...late, arrivalMs: late.arrivalMs + 20 });
    const outs = run(stream.flat(), asm);
    expect(frames(outs).length).to.equal(5);
    expect(drops(outs)).to.deep.equal([]);
  });

  it('handles duplicated packets and 16-bit sequence wraparound', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080 });
    const stream = vp8Stream(12, new Set([0]), { firstSeq: 65530 }).flat();
    const withDups = stream.flatMap((p, i) => (i % 3 === 0 ? [p, p] : [p]));
    const outs = run(withDups, asm);
    expect(frames(outs).length).to.equal(12);
    expect(drops(outs)).to.deep.equal([]);
  });

  it('unwraps the 32-bit RTP timestamp', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080 });
    const outs = run(vp8Stream(4, new Set([0]), { firstTs: 0xffffffff - 4000 }).flat(), asm);
    const ext = frames(outs).map((f) => f.extTimestamp);
    expect(ext).to.deep.equal([0xffffffff - 4000, 0xffffffff - 1000, 0xffffffff + 2000, 0xffffffff + 5000]);
  });

  it('a new SSRC must start with a keyframe', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080 });
    const a = vp8Stream(3, new Set([0]), { ssrc: 1 }).flat();
    const b = vp8Stream(3, new Set([2]), { ssrc: 2, firstSeq: 5000 }).flat().map((p) => ({ ...p, arrivalMs: p.arrivalMs + 200 }));
    const asm2 = asm;
    const out: AssemblerOutput[] = [];
    out.push(...run(a, asm2));
    out.push(...run(b, asm2));
    expect(requests(out)).to.deep.equal(['ssrc_change']);
    expect(frames(out).map((f) => f.ssrc)).to.deep.equal([1, 1, 1, 2]);
  });

  it('refuses frames larger than the pixel limit before decoding', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 640 * 480 });
    const outs = run(vp8Stream(2, new Set([0]), { size: [4000, 3000] }).flat(), asm);
    expect(drops(outs)).to.deep.equal(['too_large', 'waiting_keyframe']);
    expect(frames(outs)).to.deep.equal([]);
  });

  it('refuses frames larger than the byte limit without keeping their bytes', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080, maxFrameBytes: 2000 });
    const outs = run(vp8Stream(1, new Set([0])).flat(), asm);
    expect(drops(outs)).to.deep.equal(['too_large']);
  });

  it('marks a corrupt payload as corrupt and asks for a keyframe', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080 });
    const stream = vp8Stream(3, new Set([0]));
    stream[1]![0] = { ...stream[1]![0]!, payload: Buffer.from([0x80]) }; // truncated descriptor
    const outs = run(stream.flat(), asm);
    expect(drops(outs)).to.deep.equal(['corrupt', 'waiting_keyframe']);
    expect(requests(outs)).to.deep.equal(['loss']);
  });

  it('re-asks for a keyframe every keyframeRetryMs while none comes (a PLI can be lost)', () => {
    const asm = new FrameAssembler('vp8', { maxFramePixels: 1920 * 1080, keyframeRetryMs: 500 });
    const first = asm.requestKeyframe('decoder_error', 0);
    expect(requests(first)).to.deep.equal(['decoder_error']);
    expect(requests(asm.requestKeyframe('decoder_error', 100))).to.deep.equal([]);
    expect(requests(asm.tick(499))).to.deep.equal([]);
    expect(requests(asm.tick(500))).to.deep.equal(['timeout']);
    expect(asm.isWaitingForKeyframe).to.equal(true);
  });

  it('assembles H.264 access units (SPS+PPS+IDR, then non-IDR)', () => {
    const asm = new FrameAssembler('h264', { maxFramePixels: 1920 * 1080 });
    let seq = 1;
    const packets: RtpIn[] = [];
    for (let i = 0; i < 4; i++) {
      const slice = Buffer.alloc(i === 0 ? 4000 : 800, 7);
      slice[0] = i === 0 ? 0x65 : 0x41;
      const nals = i === 0 ? [baselineSps(640, 480), Uint8Array.from([0x68, 0xce, 0x3c, 0x80]), slice] : [slice];
      const au = Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), Buffer.from(n)]));
      const payloads = packetizeH264(au, { maxPayload: 1200 });
      payloads.forEach((payload, k) => packets.push({ seq: seq++, timestamp: i * 3000, marker: k === payloads.length - 1, ssrc: 3, payloadType: 102, payload, arrivalMs: i * 33 }));
    }
    const f = frames(run(packets, asm));
    expect(f.map((x) => x.keyframe)).to.deep.equal([true, false, false, false]);
    expect(f[0]).to.include({ width: 640, height: 480, codec: 'h264' });
    expect([...f[1]!.data.subarray(0, 5)]).to.deep.equal([0, 0, 0, 1, 0x41]);
  });
});
