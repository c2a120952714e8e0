/**
 * Resource hygiene of a live session: after 300 frames and after the session closes,
 * the inference worker's tensor count, the process's active handles (UDP sockets, timers,
 * TCP) and the session registry are back to their baseline.
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';
import { awaitAccounted, dropCounts, LOAD_DROP_REASONS, total } from '../helpers/frameAccounting.js';

function handleCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

describe('resource hygiene of a live session', function () {
  this.timeout(300_000);
  let server: RunningServer;
  const pubs: WeriftPublisher[] = [];

  before(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn' });
  });
  afterEach(async () => {
    // Also when an assertion failed midway: a publisher left open keeps the process alive.
    for (const p of pubs.splice(0)) await p.close();
  });
  after(async () => {
    await server?.close();
  });

  it('returns tensors, handles and sessions to baseline after 300 frames and close', async () => {
    const clip = await generateClip({ frames: 60, width: 320, height: 240, fps: 30, speedPxPerFrame: 3, seed: 3 });
    // Warm-up session: first use allocates lazily created state (kernels, caches) that stays.
    const warm = new WeriftPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30, totalFrames: 30 });
    pubs.push(warm);
    await warm.connect(LOADED_MS);
    await warm.run();
    await warm.close();
    await waitFor(() => server.registry.size === 0, LOADED_MS);
    await new Promise((r) => setTimeout(r, 500));

    const baseTensors = (await server.inference.memory()).numTensors;
    // Per worker, the backbone's ONNX Runtime session, the person detector's and the second model's, whatever the sessions do.
    expect((await server.inference.memory()).nativeSessions).to.equal(server.engineInfo.backend.startsWith('ort-') ? server.inference.workers * (1 + (server.engineInfo.detector ? 1 : 0) + (server.engineInfo.secondModel ? 1 : 0)) : 0);
    const baseHandles = handleCounts();

    const before = await dropCounts(server.url);
    const pub = new WeriftPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30, totalFrames: 300 });
    pubs.push(pub);
    await pub.connect(LOADED_MS);
    await pub.run();
    // Every frame a mask or a counted drop: then no frame is inside the pipeline any more.
    const drops = await awaitAccounted(server.url, before, pub.framesSent, () => pub.masks.length);
    const during = (await server.inference.memory()).numTensors;
    expect(pub.masks.length + total(drops), `masks + drops ${JSON.stringify(drops)} for ${pub.framesSent} frames`).to.equal(pub.framesSent);
    for (const reason of Object.keys(drops)) expect(LOAD_DROP_REASONS, `drop reason ${reason}`).to.include(reason);
    expect(pub.masks.at(-1)?.frameIndex, 'the last frame has a mask').to.equal(pub.framesSent - 1);
    await pub.close();
    expect(await waitFor(() => server.registry.size === 0, LOADED_MS)).to.equal(true);

    expect(await waitFor(async () => (await server.inference.memory()).numTensors === baseTensors, LOADED_MS, 100), `tensors (during session: ${during})`).to.equal(true);
    expect((await server.inference.memory()).nativeSessions).to.equal(server.engineInfo.backend.startsWith('ort-') ? server.inference.workers * (1 + (server.engineInfo.detector ? 1 : 0) + (server.engineInfo.secondModel ? 1 : 0)) : 0);

    await waitFor(() => {
      const now = handleCounts();
      return Object.keys({ ...baseHandles, ...now }).every((k) => (now[k] ?? 0) <= (baseHandles[k] ?? 0));
    }, LOADED_MS, 100);
    const after = handleCounts();
    for (const k of Object.keys({ ...baseHandles, ...after })) {
      expect(after[k] ?? 0, `active ${k} handles`).to.be.at.most(baseHandles[k] ?? 0);
    }
  });
});
