/**
 * Media faults against the real server, VP8 and H.264: a publisher that loses its first
 * keyframe and ignores the first keyframe request, sends garbage RTP payloads, truncated and
 * corrupt frames, jumps and wraps its RTP timestamp, changes resolution twice, pauses its
 * stream, and finally changes SSRC without renegotiating. After each fault the session must
 * recover (a keyframe is requested, masks flow again) and the counters must show what
 * happened; the process and the session survive every one of them.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startServer, type RunningServer } from '../../src/main.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { FaultPublisher, withPayload } from '../../src/reliability/faultPublisher.js';
import type { I420Picture } from '../../src/decode/types.js';
import { metricValue } from '../helpers/signalClient.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';

const FPS = 30;
const MEDIA_TIMEOUT_MS = 3000;

describe('media faults: the decoder error is contained, a keyframe is requested, masks resume', function () {
  this.timeout(300_000);
  let server: RunningServer;
  const clips: Record<string, I420Picture[]> = {};

  before(async () => {
    for (const [w, h] of [[320, 240], [160, 120], [480, 272]] as const) {
      clips[`${w}x${h}`] = (await generateClip({ frames: 60, width: w, height: h, fps: FPS, speedPxPerFrame: 3, seed: w })).frames;
    }
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'error', mediaTimeoutMs: MEDIA_TIMEOUT_MS, ipMaxSessions: 0, ipSessionsPerMinute: 0, admissionMaxLoad: 0 });
  });
  after(async () => {
    await server?.close();
  });

  /**
   * Frames the server's decoder may hold back while a stream goes on, by publisher: FFmpeg's
   * H.264 decoder keeps 2 of the x264 test encoder's clean stream, but its reorder delay grows
   * after damaged frames (up to 16, its maximum; seen > 2 after the pause); VP8 none.
   */
  const heldBack = new WeakMap<FaultPublisher, number>();

  /** Masks for frames sent from index `from` on. */
  const masksSince = (p: FaultPublisher, from: number) => [...p.maskAt.keys()].filter((i) => i >= from).length;

  /**
   * Runs `frames` more clean frames and checks that the stream recovered: the newest frame out of
   * the decoder (never superseded, however busy the machine) comes back as a mask.
   */
  async function recovers(p: FaultPublisher, what: string, frames = 60): Promise<void> {
    await p.run(frames);
    // The newest frame out of the decoder (it holds `heldBack` frames, maybe fewer) cannot be superseded.
    const newest = p.framesSent - 1 - (heldBack.get(p) ?? 0);
    const recovered = () => [...p.maskAt.keys()].some((i) => i >= newest);
    await waitFor(recovered, LOADED_MS);
    expect(recovered(), `${what}: one of the newest frames has a mask (${masksSince(p, p.framesSent - FPS)} of the last ${FPS} frames do)`).to.equal(true);
    expect(p.byeReason, `${what}: session still open`).to.equal(undefined);
  }

  /** The server's counters this test moves, read before and after. */
  async function faultCounters() {
    return {
      decoderErrors: await metricValue(server.url, 'maskstream_decoder_errors_total'),
      corrupt: await metricValue(server.url, 'maskstream_frames_dropped_total', 'reason="corrupt"'),
      kfTimeout: await metricValue(server.url, 'maskstream_keyframe_requests_total', 'reason="timeout"'),
      kfStart: await metricValue(server.url, 'maskstream_keyframe_requests_total', 'reason="start"'),
      jumps: await metricValue(server.url, 'maskstream_media_events_total', 'event="timestamp_jump"'),
      sizes: await metricValue(server.url, 'maskstream_media_events_total', 'event="resolution_change"'),
    };
  }

  for (const codec of ['vp8', 'h264'] as const) {
    it(`${codec.toUpperCase()}: lost first keyframe + ignored PLI, garbage payloads, truncated and corrupt frames, timestamp jump and wrap, two resolution changes, a pause`, async () => {
      const before = await faultCounters();
      // Starts 1 s before the 32-bit RTP timestamp wraps, so the wrap happens during the first phase.
      const pub = new FaultPublisher({ url: server.url, codec, frames: clips['320x240']!, fps: FPS, firstTimestamp: 2 ** 32 - 90_000 });
      heldBack.set(pub, codec === 'h264' ? 16 : 0);
      try {
        // 1. The first keyframe never arrives, the sender ignores the first keyframe request and
        //    sends no keyframe of its own accord: only the server's re-request brings one.
        pub.packetHook = (packets, f) => {
          if (f.index !== 0) return packets;
          pub.holdKeyframesUntilRequested = true; // from the next frame on
          return [];
        };
        pub.ignorePlis = 1;
        await pub.connect(LOADED_MS);
        await pub.run(2);
        pub.packetHook = undefined;
        await recovers(pub, 'missing first keyframe (and wrap)', 75);
        expect(pub.keyframesSent.length, 'a second keyframe was sent after the re-request').to.be.at.least(2);

        // 2. Garbage RTP payloads for 5 frames.
        let from = pub.framesSent;
        pub.packetHook = (packets, f) => (f.index < from + 5 ? packets.map((p) => withPayload(p, (b) => randomBytes(b.length))) : packets);
        await recovers(pub, 'garbage payloads');

        // 3. A truncated keyframe: its last packet cut to a third (sequence numbers intact).
        from = pub.framesSent;
        pub.requestKeyframe();
        pub.packetHook = (packets, f) => {
          if (f.index !== from) return packets;
          const last = packets.length - 1;
          return packets.map((p, i) => (i === last || packets.length === 1 ? withPayload(p, (b) => b.subarray(0, Math.max(12, Math.floor(b.length / 3)))) : p));
        };
        await recovers(pub, 'truncated keyframe');

        // 4. Corrupt frames: bytes flipped inside the bitstream (descriptors and headers intact).
        from = pub.framesSent;
        pub.packetHook = (packets, f) => (f.index < from + 3 ? packets.map((p) => withPayload(p, (b) => {
          for (let i = 16; i < b.length; i += 7) b[i] = b[i]! ^ 0xa5;
          return b;
        })) : packets);
        await recovers(pub, 'corrupt frames');
        pub.packetHook = undefined;

        // 5. An RTP timestamp jump of an hour.
        pub.jumpTimestamp(3600 * 90_000);
        await recovers(pub, 'timestamp jump');

        // 6. Resolution changes mid-stream (a new encoder, starting with a keyframe).
        pub.switchFrames(clips['160x120']!);
        await recovers(pub, 'resolution change to 160×120');
        pub.switchFrames(clips['480x272']!);
        await recovers(pub, 'resolution change to 480×272');

        // 7. The stream stops for 1.5 s (below the media timeout), then resumes.
        pub.paused = true;
        await pub.run(45);
        pub.paused = false;
        await recovers(pub, 'stream paused and resumed');
        expect(pub.errors).to.deep.equal([]);
      } finally {
        await pub.close();
      }
      const after = await faultCounters();
      const d = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
      console.log(`      ${codec}: ${pub.masksReceived} masks for ${pub.framesSent} frames; counters: ${JSON.stringify(d)}; keyframe requests seen by the publisher: ${pub.keyframeRequests}`);
      expect(d.kfStart, 'asked for a keyframe at the start').to.be.at.least(1);
      expect(d.kfTimeout, 're-asked when none came').to.be.at.least(1);
      expect(d.decoderErrors + d.corrupt, 'bad frames caught (depacketizer or decoder)').to.be.at.least(1);
      expect(d.jumps, 'timestamp jump counted').to.be.at.least(1);
      expect(d.sizes, 'both resolution changes counted').to.equal(2);
      await waitFor(() => server.registry.size === 0, LOADED_MS);
    });
  }

  it('an SSRC change without renegotiation: werift routes packets by the SSRCs of the SDP, so the stream looks stopped — the session is reaped after mediaTimeoutMs and a new one works', async () => {
    const pub = new FaultPublisher({ url: server.url, codec: 'vp8', frames: clips['320x240']!, fps: FPS });
    try {
      await pub.connect(LOADED_MS);
      await pub.run(30);
      expect(await waitFor(() => pub.maskAt.has(pub.framesSent - 1), LOADED_MS), 'streaming before the SSRC change').to.equal(true);
      pub.changeSsrc(0x12345678);
      const t0 = Date.now();
      const run = pub.run(FPS * 8);
      expect(await waitFor(() => pub.byeReason !== undefined, LOADED_MS)).to.equal(true);
      const ms = Date.now() - t0;
      expect(pub.byeReason).to.equal('timeout');
      // Not before the media timeout; the upper bound only says "by the watchdog, not by something
      // else much later" (generous: its 100 ms ticks come late on a busy machine).
      expect(ms, 'reaped after the media timeout').to.be.within(MEDIA_TIMEOUT_MS - 200, MEDIA_TIMEOUT_MS + 10_000);
      await pub.close();
      await run;
    } finally {
      await pub.close();
    }
    expect(await metricValue(server.url, 'maskstream_sessions_ended_total', 'reason="media_timeout"')).to.be.at.least(1);
    const again = new FaultPublisher({ url: server.url, codec: 'vp8', frames: clips['320x240']!, fps: FPS });
    try {
      await again.connect(LOADED_MS);
      await again.run(45);
      expect(await waitFor(() => again.maskAt.has(again.framesSent - 1), LOADED_MS), `the publisher reconnects and gets masks (${again.masksReceived})`).to.equal(true);
    } finally {
      await again.close();
    }
  });
});
