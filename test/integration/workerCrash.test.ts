/**
 * A live session survives its inference worker crashing: the pool starts a replacement, the
 * session's temporal state is reopened (counted), frames that were inside the dead worker are
 * counted as inference_error, and masks keep coming. Nothing is timed: the test waits for counts.
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { InferencePool } from '../../src/inference/inferencePool.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';


function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return Number(m?.[1] ?? NaN);
}

describe('inference worker crash during a live session', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let pub: WeriftPublisher | undefined;

  before(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', inferenceWorkers: 1 });
  });
  after(async () => {
    await pub?.close();
    await server?.close();
  });

  it('replaces the worker, counts the reset and the lost frames, and the masks continue', async () => {
    const clip = await generateClip({ frames: 60, width: 320, height: 240, fps: 30, speedPxPerFrame: 3, seed: 11 });
    pub = new WeriftPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30, totalFrames: 30 * 60 });
    await pub.connect(LOADED_MS);
    const running = pub.run();
    await waitFor(() => pub!.masks.length >= 20, LOADED_MS);
    expect(pub.masks.length).to.be.at.least(20);

    const pool = server.inference as InferencePool;
    expect(pool).to.be.instanceOf(InferencePool);
    const restarted = new Promise<void>((resolve) => pool.onRestart(() => resolve()));
    pool.crashForTesting(0);
    await restarted;
    const atRestart = pub.masks.length;
    await waitFor(() => pub!.masks.length >= atRestart + 20, LOADED_MS);
    expect(pub.masks.length, 'masks after the replacement started').to.be.at.least(atRestart + 20);

    const text = await (await fetch(server.url + '/metrics')).text();
    expect(metric(text, 'maskstream_inference_worker_restarts_total')).to.equal(1);
    expect(metric(text, 'maskstream_temporal_state_resets_total'), 'the session lost its temporal state once').to.equal(1);
    const lost = metric(text, 'maskstream_frames_dropped_total\\{reason="inference_error"\\}');
    // 0 or 1 frame was inside the worker when it died (one in flight per session at most).
    expect(lost).to.be.within(0, 1);
    expect(server.registry.size, 'the session is still open').to.equal(1);
    await pub.close();
    await running;
  });
});
