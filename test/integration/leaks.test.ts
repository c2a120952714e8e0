/**
 * Resource hygiene of a live session: after 300 frames and after the session closes,
 * the inference worker's tensor count, the process's active handles (UDP sockets, timers,
 * TCP) and the session registry are back to their baseline.
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip } from '../../src/testing/synthClip.js';

function handleCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

async function settle(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('resource hygiene of a live session', function () {
  this.timeout(120_000);
  let server: RunningServer;

  before(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn' });
  });
  after(async () => {
    await server?.close();
  });

  it('returns tensors, handles and sessions to baseline after 300 frames and close', async () => {
    const clip = await generateClip({ frames: 60, width: 320, height: 240, fps: 30, speedPxPerFrame: 3, seed: 3 });
    // Warm-up session: first use allocates lazily created state (kernels, caches) that stays.
    const warm = new WeriftPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30, totalFrames: 30 });
    await warm.connect();
    await warm.run();
    await warm.close();
    await settle(() => server.registry.size === 0, 5000);
    await new Promise((r) => setTimeout(r, 500));

    const baseTensors = (await server.inference.memory()).numTensors;
    // Per worker, the backbone's ONNX Runtime session and the person detector's, whatever the sessions do.
    expect((await server.inference.memory()).nativeSessions).to.equal(server.engineInfo.backend.startsWith('ort-') ? server.inference.workers * (server.engineInfo.detector ? 2 : 1) : 0);
    const baseHandles = handleCounts();

    const pub = new WeriftPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30, totalFrames: 300 });
    await pub.connect();
    await pub.run();
    await settle(() => pub.masks.length >= 270, 3000);
    const during = (await server.inference.memory()).numTensors;
    expect(pub.masks.length, 'masks received for 300 frames').to.be.at.least(270);
    await pub.close();
    await settle(() => server.registry.size === 0, 5000);
    expect(server.registry.size).to.equal(0);

    await settle(async () => (await server.inference.memory()).numTensors === baseTensors, 3000);
    expect((await server.inference.memory()).numTensors, `tensors (during session: ${during})`).to.equal(baseTensors);
    expect((await server.inference.memory()).nativeSessions).to.equal(server.engineInfo.backend.startsWith('ort-') ? server.inference.workers * (server.engineInfo.detector ? 2 : 1) : 0);

    await settle(() => {
      const now = handleCounts();
      return Object.keys({ ...baseHandles, ...now }).every((k) => (now[k] ?? 0) <= (baseHandles[k] ?? 0));
    }, 5000);
    const after = handleCounts();
    for (const k of Object.keys({ ...baseHandles, ...after })) {
      expect(after[k] ?? 0, `active ${k} handles`).to.be.at.most(baseHandles[k] ?? 0);
    }
  });
});
