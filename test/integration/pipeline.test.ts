/**
 * The whole server with real parts: a werift publisher sends a clip with a known person
 * region, encoded live (VP8, then H.264) and packetized into RTP on 127.0.0.1; the server
 * depacketizes, decodes with WebCodecs, segments with the real pretrained model in its
 * inference worker and sends masks back on the data channel.
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip, type Box } from '../../src/testing/synthClip.js';
import type { I420Picture } from '../../src/decode/types.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';
import { maskOverlap } from '../helpers/maskOverlap.js';
import { awaitAccounted, dropCounts, dropsSince, LOAD_DROP_REASONS, total } from '../helpers/frameAccounting.js';

const FRAMES = 90;
const FPS = 30;

describe('live pipeline (werift publisher → server → masks)', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let frames: I420Picture[];
  let boxes: Box[];
  /** Masks the publishers of the tests below received (the metrics test compares). */
  let masksReceived = 0;

  before(async () => {
    const clip = await generateClip({ frames: FRAMES, width: 640, height: 480, fps: FPS, speedPxPerFrame: 4, seed: 7 });
    frames = clip.frames;
    boxes = clip.boxes;
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn' });
  });

  after(async () => {
    await server?.close();
  });

  for (const codec of ['vp8', 'h264'] as const) {
    it(`returns a mask for every ${codec.toUpperCase()} frame not superseded by a newer one, the first and the newest always; accounts for every frame; in order, with latency fields, over the person`, async () => {
      // FFmpeg's H.264 decoder (for the x264 test encoder's stream) holds 2 frames back until
      // the stream ends; they are counted as dropped (`closed`) when the session closes.
      const held = codec === 'h264' ? 2 : 0;
      const before = await dropCounts(server.url);
      const pub = new WeriftPublisher({ url: server.url, codec, frames, fps: FPS, totalFrames: FRAMES });
      try {
        await pub.connect(LOADED_MS);
        expect(pub.answer?.sessionId).to.be.a('string');
        await pub.run();
        // Every frame that can come out of the decoder has become a mask or a counted drop.
        await awaitAccounted(server.url, before, pub.framesSent - held, () => pub.masks.length);
      } finally {
        await pub.close();
      }
      expect(await waitFor(() => server.registry.size === 0, LOADED_MS), 'session closed after bye').to.equal(true);
      const drops = dropsSince(before, await dropCounts(server.url));
      const masks = pub.masks;
      masksReceived += masks.length;
      console.log(`      ${codec}: ${masks.length} masks for ${pub.framesSent} frames; drops ${JSON.stringify(drops)}`);
      expect(pub.errors).to.deep.equal([]);
      expect(pub.framesSent, 'frames sent (the encoder skipped none)').to.equal(FRAMES);
      // Each frame is a mask or a drop the server counted with its reason; none may vanish.
      expect(masks.length + total(drops), `masks ${masks.length} + counted drops ${JSON.stringify(drops)} vs ${pub.framesSent} frames sent`).to.equal(pub.framesSent);
      // A live stream prefers the newest frame: on a busy machine many frames may be superseded
      // while the worker is busy, but no frame may be lost to anything else.
      for (const reason of Object.keys(drops)) expect(LOAD_DROP_REASONS, `drop reason ${reason}`).to.include(reason);
      expect(drops.closed ?? 0, 'frames still inside the decoder when the session closed').to.be.at.most(held);
      // Nothing is newer than the first frame when it reaches the idle worker, nor than the last
      // frame out of the decoder: those two always become masks, whatever the load.
      expect(masks[0]?.frameIndex, 'the first frame has a mask').to.equal(0);
      // (The H.264 decoder holds at most `held` frames back: the newest out of it is at least this.)
      expect(masks.at(-1)?.frameIndex, 'the newest frame out of the decoder has a mask').to.be.at.least(pub.framesSent - 1 - held);

      // In order: sequence numbers and source frames strictly increase.
      for (let i = 1; i < masks.length; i++) {
        expect(masks[i]!.msg.seq).to.be.greaterThan(masks[i - 1]!.msg.seq);
        expect(masks[i]!.frameIndex).to.be.greaterThan(masks[i - 1]!.frameIndex);
      }
      const info = server.engineInfo;
      for (const m of masks) {
        expect(m.frameIndex, 'mask matches a sent frame by RTP timestamp').to.be.at.least(0);
        expect(m.msg.width).to.equal(info.maskWidth);
        expect(m.msg.height).to.equal(info.maskHeight);
        const t = m.msg.timings;
        for (const [k, v] of Object.entries(t)) expect(Number.isFinite(v) && v >= 0, `${k}=${v}`).to.equal(true);
        expect(t.inferenceMs).to.be.greaterThan(0);
        expect(t.decodeMs).to.be.greaterThan(0);
        expect(t.serverMs).to.be.at.least(t.inferenceMs);
        expect(m.msg.serverSendTime).to.be.closeTo(Date.now(), 60_000);
        expect(m.e2eMs).to.be.greaterThan(0);
      }

      // The mask is over the person: most foreground lies in the pasted portrait's box.
      const ov = masks.map((m) => maskOverlap(m.msg, boxes[m.frameIndex]!, 640, 480));
      const meanPrecision = ov.reduce((a, o) => a + o.precision, 0) / ov.length;
      const meanCoverage = ov.reduce((a, o) => a + o.coverage, 0) / ov.length;
      expect(meanPrecision, 'foreground inside the person box').to.be.at.least(0.7);
      expect(meanCoverage, 'person box covered by foreground').to.be.at.least(0.25);
    });
  }

  it('reports backend, stage histograms and frame counters on /healthz and /metrics', async () => {
    const health = (await (await fetch(server.url + '/healthz')).json()) as { backend: string; model: string; sessions: number };
    expect(health.backend).to.equal(server.engineInfo.backend);
    expect(health.model).to.equal(server.engineInfo.model);
    const text = await (await fetch(server.url + '/metrics')).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    const processed = value(/^maskstream_frames_processed_total (\S+)$/m);
    // Every mask the two streams above received was a processed frame (sent to its data channel).
    expect(masksReceived, 'masks received above').to.be.greaterThan(0);
    expect(processed, 'frames processed by the two streams above').to.equal(masksReceived);
    expect(value(/^maskstream_frames_received_total (\S+)$/m)).to.be.at.least(processed);
    for (const stage of ['receive', 'decode', 'preprocess', 'inference', 'temporal', 'encode', 'queue', 'server']) {
      expect(value(new RegExp(`^maskstream_stage_duration_seconds_count\\{stage="${stage}"\\} (\\S+)$`, 'm')), stage).to.be.greaterThan(0);
    }
    expect(value(/^maskstream_stage_duration_seconds_bucket\{le="0.001",stage="decode"\} (\S+)$/m)).to.be.at.least(0);
    expect(value(/^maskstream_end_to_end_latency_seconds_count (\S+)$/m), 'acks recorded').to.be.greaterThan(0);
    expect(text).to.match(new RegExp(`^maskstream_backend_info\\{backend="${server.engineInfo.backend}",model="${server.engineInfo.model}"\\} 1$`, 'm'));
    expect(value(/^maskstream_sessions_active (\S+)$/m)).to.equal(0);
    expect(text).not.to.match(/session(_id)?="/);
  });
});
