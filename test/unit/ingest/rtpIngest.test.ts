import { expect } from 'chai';
import { RtpIngest, type IngestOutput } from '../../../src/ingest/rtpIngest.js';
import { packetizeH264, packetizeVp8 } from '../../../src/ingest/rtpPacketizer.js';
import type { RtpIn } from '../../../src/ingest/types.js';
import { baselineSps, vp8Delta, vp8Keyframe } from './depacketizers.test.js';

const CODECS = new Map([[96, 'vp8' as const], [102, 'h264' as const]]);
const ingest = () => new RtpIngest({ codecs: CODECS, maxFramePixels: 1920 * 1080, reorderWaitMs: 50 });

/** VP8 frames at 30 fps (90 kHz), frame i a keyframe when keys has i; packets of frame i arrive at i·33 ms. */
function vp8Frames(n: number, keys: Set<number>, o: { ssrc?: number; firstSeq?: number; t0?: number } = {}): RtpIn[][] {
  let seq = o.firstSeq ?? 100;
  return Array.from({ length: n }, (_, i) => {
    const payloads = packetizeVp8(keys.has(i) ? vp8Keyframe(320, 240, 3000) : vp8Delta(1500), { pictureId: i, maxPayload: 1000 });
    return payloads.map((payload, k) => ({
      seq: seq++ & 0xffff, timestamp: i * 3000, marker: k === payloads.length - 1, ssrc: o.ssrc ?? 7, payloadType: 96, payload, arrivalMs: (o.t0 ?? 0) + i * 33,
    }));
  });
}

function feed(ing: RtpIngest, packets: readonly RtpIn[]): IngestOutput[] {
  return packets.flatMap((p) => ing.push(p, p.arrivalMs));
}
const kinds = (outs: readonly IngestOutput[]) => outs.map((o) => (o.kind === 'frame' ? `frame${o.frame.keyframe ? ':key' : ''}` : o.kind === 'stream_event' ? o.event : o.kind === 'keyframe_needed' ? `keyframe_needed:${o.reason}` : `dropped:${o.reason}`));

describe('ingest/rtpIngest RtpIngest (payload type → reorder → assemble, time passed in)', () => {
  it('turns a clean VP8 stream into one frame per RTP timestamp, and remembers the SSRC for keyframe requests', () => {
    const ing = ingest();
    expect(ing.ssrc).to.equal(undefined);
    const outs = feed(ing, vp8Frames(5, new Set([0])).flat());
    expect(kinds(outs)).to.deep.equal(['frame:key', 'frame', 'frame', 'frame', 'frame']);
    expect(ing.ssrc).to.equal(7);
    expect(ing.codec).to.equal('vp8');
  });

  it('a packet of no negotiated payload type is an event and changes nothing', () => {
    const ing = ingest();
    const [p] = vp8Frames(1, new Set([0]))[0]!;
    expect(kinds(ing.push({ ...p!, payloadType: 111, ssrc: 99 }, 0))).to.deep.equal(['unknown_payload_type']);
    expect(ing.ssrc).to.equal(undefined);
    expect(ing.tick(1000)).to.deep.equal([]);
    expect(ing.requestKeyframe('decoder_error', 1000)).to.deep.equal([]);
  });

  it('a lost packet: nothing until tick() passes the reorder wait, then the frame is dropped and a keyframe asked for', () => {
    const ing = ingest();
    const frames = vp8Frames(4, new Set([0, 2]));
    const lostFrame = frames[2]!;
    expect(lostFrame.length).to.be.above(2);
    const packets = [...frames[0]!, ...frames[1]!, lostFrame[0]!, ...lostFrame.slice(2)];
    expect(kinds(feed(ing, packets))).to.deep.equal(['frame:key', 'frame']);
    const t = lostFrame[2]!.arrivalMs;
    expect(ing.tick(t + 10), 'within the wait').to.deep.equal([]);
    const late = kinds(ing.tick(t + 60));
    expect(late, JSON.stringify(late)).to.include('dropped:incomplete');
    expect(late).to.include('keyframe_needed:loss');
  });

  it('packets out of order within the wait come out as whole frames in order', () => {
    const ing = ingest();
    const [f0, f1] = vp8Frames(2, new Set([0]));
    const swapped = [...f0!, f1![1]!, f1![0]!, ...f1!.slice(2)].map((p) => ({ ...p, arrivalMs: 0 }));
    const outs = feed(ing, swapped);
    expect(kinds(outs)).to.deep.equal(['frame:key', 'frame']);
  });

  it('a new SSRC starts over: event, keyframe request, then frames from the new source', () => {
    const ing = ingest();
    feed(ing, vp8Frames(2, new Set([0]), { ssrc: 1 }).flat());
    const outs = feed(ing, vp8Frames(2, new Set([0]), { ssrc: 2, firstSeq: 9000, t0: 500 }).flat());
    expect(kinds(outs)).to.include('ssrc_change');
    expect(outs.filter((o) => o.kind === 'frame').map((o) => (o.kind === 'frame' ? o.frame.ssrc : 0))).to.deep.equal([2, 2]);
    expect(ing.ssrc).to.equal(2);
  });

  it('the decoder losing its chain: requestKeyframe() waits for the next keyframe and says why', () => {
    const ing = ingest();
    const frames = vp8Frames(4, new Set([0, 3]));
    feed(ing, [...frames[0]!, ...frames[1]!]);
    expect(kinds(ing.requestKeyframe('decoder_error', 70))).to.deep.equal(['keyframe_needed:decoder_error']);
    expect(kinds(feed(ing, [...frames[2]!, ...frames[3]!]))).to.deep.equal(['dropped:waiting_keyframe', 'frame:key']);
  });

  it('a switch of payload type to another negotiated codec starts a new assembler for it', () => {
    const ing = ingest();
    const vp8 = vp8Frames(1, new Set([0])).flat();
    feed(ing, vp8);
    const seq0 = vp8[vp8.length - 1]!.seq + 1;
    const idr = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from(baselineSps(320, 240)), Buffer.from([0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]), Buffer.from([0, 0, 0, 1, 0x65]), Buffer.alloc(2000, 0x11)]);
    const payloads = packetizeH264(idr, { maxPayload: 1000 });
    const h264 = payloads.map((payload, k) => ({ seq: seq0 + k, timestamp: 3000, marker: k === payloads.length - 1, ssrc: 7, payloadType: 102, payload, arrivalMs: 40 }));
    const outs = feed(ing, h264);
    expect(ing.codec).to.equal('h264');
    const f = outs.flatMap((o) => (o.kind === 'frame' ? [o.frame] : []));
    expect(f.map((x) => [x.codec, x.keyframe])).to.deep.equal([['h264', true]]);
  });

  it('refuses to be built without a video codec', () => {
    expect(() => new RtpIngest({ codecs: new Map(), maxFramePixels: 1, reorderWaitMs: 50 })).to.throw(RangeError, /no video codec/);
  });
});
