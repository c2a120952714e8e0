/**
 * Packet loss and reordering on the media path: a werift publisher's ICE goes through a seeded
 * UDP relay on loopback (LossyUdpProxy) that drops 5 % of RTP/RTCP packets in each direction
 * and holds back 5 % by up to 15 ms. Masks must keep flowing (≥ 80 % of frames, NACK/RTX
 * repairing most losses; frames superseded because the shared CPU was busy are not counted
 * against the network), and after every packet of a keyframe is dropped (retransmissions
 * too) the next mask must come within 1 s (the reorder buffer gives up, the assembler asks
 * for a keyframe with PLI, the publisher sends one).
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { FaultPublisher } from '../../src/reliability/faultPublisher.js';
import { LossyUdpProxy } from '../../src/reliability/lossyUdpProxy.js';
import type { I420Picture } from '../../src/decode/types.js';
import { LOADED_MS } from '../helpers/waitFor.js';
import { awaitAccounted, dropCounts } from '../helpers/frameAccounting.js';

const FPS = 30;
const LOSS = 0.05;
const REORDER = 0.05;
const SEED = 20261125;

async function metric(server: RunningServer, re: RegExp): Promise<number> {
  const text = await (await fetch(server.url + '/metrics')).text();
  return Number(re.exec(text)?.[1] ?? NaN);
}

describe('packet loss and reordering on the media path (UDP relay, 5 % loss, 5 % reordered)', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let proxy: LossyUdpProxy;
  let pub: FaultPublisher;
  let frames: I420Picture[];

  before(async () => {
    frames = (await generateClip({ frames: 90, width: 640, height: 480, fps: FPS, speedPxPerFrame: 4, seed: 13 })).frames;
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn' });
    proxy = await LossyUdpProxy.start({ lossRate: LOSS, reorderRate: REORDER, reorderMaxDelayMs: 15, seed: SEED });
    pub = new FaultPublisher({
      url: server.url, codec: 'vp8', frames, fps: FPS,
      rewriteOffer: (sdp) => proxy.rewriteOffer(sdp),
      rewriteAnswer: (sdp) => proxy.rewriteAnswer(sdp),
    });
    await pub.connect(LOADED_MS);
  });

  after(async () => {
    await pub?.close();
    proxy?.close();
    await server?.close();
  });

  it('routes ICE through the relay (no direct path)', () => {
    expect(proxy.toServer.control, 'STUN/DTLS through the relay').to.be.greaterThan(0);
    expect(proxy.toPublisher.control).to.be.greaterThan(0);
  });

  it('keeps ≥ 80 % of frames producing masks over 10 s of 5 % loss and reordering', async () => {
    const first = pub.framesSent;
    // Frames replaced by a newer one while inference was busy (latest frame wins) are CPU
    // contention — other processes share these two cores — not loss: left out of the ratio.
    const supersededBefore = await metric(server, /^maskstream_frames_dropped_total\{reason="superseded"\} (\S+)$/m);
    const dropsBefore = await dropCounts(server.url);
    const masksBefore = pub.masksReceived;
    await pub.run(10 * FPS);
    // Until every frame is a mask or a counted drop (lost ones too: incomplete, waiting for a
    // keyframe), however long a busy machine takes, rather than for a fixed second.
    await awaitAccounted(server.url, dropsBefore, pub.framesSent - first, () => pub.masksReceived - masksBefore);
    let masked = 0;
    for (let i = first; i < pub.framesSent; i++) if (pub.maskAt.has(i)) masked++;
    const sent = pub.framesSent - first;
    const superseded = (await metric(server, /^maskstream_frames_dropped_total\{reason="superseded"\} (\S+)$/m)) - supersededBefore;
    const ratio = masked / Math.max(1, sent - superseded);
    const s = proxy.toServer;
    const lossPct = (100 * s.dropped) / (s.dropped + s.forwarded);
    const nackKf = await metric(server, /^maskstream_keyframe_requests_total\{reason="loss"\} (\S+)$/m);
    const incomplete = await metric(server, /^maskstream_frames_dropped_total\{reason="incomplete"\} (\S+)$/m);
    const waiting = await metric(server, /^maskstream_frames_dropped_total\{reason="waiting_keyframe"\} (\S+)$/m);
    const text = await (await fetch(server.url + '/metrics')).text();
    const drops = [...text.matchAll(/^maskstream_frames_dropped_total\{reason="([a-z_]+)"\} (\S+)$/gm)].filter((m) => Number(m[2]) > 0).map((m) => `${m[1]} ${m[2]}`).join(', ');
    console.log(`      media → server: ${s.forwarded} RTP/RTCP forwarded, ${s.dropped} dropped (${lossPct.toFixed(1)} %), ${s.reordered} reordered; feedback → publisher: ${proxy.toPublisher.dropped} of ${proxy.toPublisher.dropped + proxy.toPublisher.forwarded} dropped`);
    console.log(`      masks for ${masked}/${sent} frames (${((100 * masked) / sent).toFixed(1)} % of all; ${(100 * ratio).toFixed(1)} % of the ${sent - superseded} not superseded for CPU); server: ${incomplete} frames incomplete, ${waiting} waiting for a keyframe, ${nackKf} PLIs for loss; all drops: ${drops || 'none'}; publisher saw ${pub.keyframeRequests} keyframe requests`);
    expect(lossPct, 'the relay really dropped ~5 %').to.be.within(3, 7.5);
    expect(ratio, `masks for ${masked}/${sent} frames, ${superseded} superseded`).to.be.at.least(0.8);
    expect(pub.errors).to.deep.equal([]);
  });

  it('recovers from a keyframe lost entirely (retransmissions too) in < 1 s, three times', async () => {
    const recoveries: number[] = [];
    for (let k = 0; k < 3; k++) {
      let dropped: number | undefined;
      pub.packetHook = (packets, f) => {
        if (dropped === undefined && f.keyframe) {
          dropped = f.index;
          proxy.dropTimestamp(f.rtpTimestamp);
          // The test encoder also makes a keyframe every 10 frames; hold those back so the
          // recovery measured is the server's: gap → PLI → requested keyframe.
          pub.holdKeyframesUntilRequested = true;
        }
        return packets;
      };
      pub.requestKeyframe();
      await pub.run(2 * FPS);
      pub.packetHook = undefined;
      expect(dropped, 'a keyframe was sent and dropped').to.not.equal(undefined);
      const next = [...pub.maskAt.keys()].filter((i) => i > dropped!).sort((a, b) => a - b)[0];
      expect(next, 'a mask after the lost keyframe').to.not.equal(undefined);
      const ms = pub.maskAt.get(next!)! - pub.sentAt.get(dropped!)!;
      recoveries.push(ms);
      expect(pub.maskAt.has(dropped!), 'no mask for the dropped keyframe').to.equal(false);
    }
    console.log(`      lost keyframe → next mask: ${recoveries.map((r) => r.toFixed(0)).join(', ')} ms (${proxy.toServer.droppedByTimestamp} packets of the lost keyframes dropped, retransmissions included; ${pub.keyframesHeld} unrequested keyframes held back)`);
    for (const r of recoveries) expect(r, 'recovery after a lost keyframe, ms').to.be.below(1000);
  });
});
