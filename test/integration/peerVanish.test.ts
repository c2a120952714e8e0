/**
 * A peer that vanishes — its UDP sockets closed at once, no bye, no DTLS close_notify, its
 * signaling socket left open and silent (a frozen tab, a pulled cable) — is reaped after the
 * documented mediaTimeoutMs (small here), the client is told `bye timeout` if it still
 * listens, and everything the session held is released: sessions, tensors in the inference
 * worker, UDP sockets and other handles, file descriptors.
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { FaultPublisher } from '../../src/reliability/faultPublisher.js';
import { grownHandles, openFds, snapshot } from '../../src/reliability/resources.js';
import { metricValue } from '../helpers/signalClient.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';

const MEDIA_TIMEOUT_MS = 1500;

describe('a peer that vanishes (no bye, no DTLS close) is reaped and its resources released', function () {
  this.timeout(300_000);
  let server: RunningServer;
  const pubs: FaultPublisher[] = [];

  before(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'error', mediaTimeoutMs: MEDIA_TIMEOUT_MS, admissionMaxLoad: 0 });
  });
  afterEach(async () => {
    // Also when an assertion failed midway: an open publisher keeps the process alive.
    for (const p of pubs.splice(0)) await p.close();
  });
  after(async () => {
    await server?.close();
  });

  it(`ends the session ${MEDIA_TIMEOUT_MS} ms after the media stops, says bye "timeout", and returns to the baseline`, async () => {
    const clip = await generateClip({ frames: 30, width: 320, height: 240, fps: 30, speedPxPerFrame: 3, seed: 4 });
    // Warm-up: lazily created state (kernels, caches, the first werift socket pool) stays.
    const warm = new FaultPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30 });
    pubs.push(warm);
    await warm.connect(LOADED_MS);
    await warm.run(20);
    await warm.close();
    await waitFor(() => server.registry.size === 0, LOADED_MS);
    await new Promise((r) => setTimeout(r, 500));
    const base = snapshot();
    const baseTensors = (await server.inference.memory()).numTensors;

    const pub = new FaultPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30 });
    pubs.push(pub);
    await pub.connect(LOADED_MS);
    await pub.run(30);
    // Live and producing masks: the last frame sent (never superseded) comes back.
    await waitFor(() => pub.maskAt.has(pub.framesSent - 1), LOADED_MS);
    expect(pub.maskAt.has(pub.framesSent - 1), `mask of the last frame (${pub.masksReceived} masks for ${pub.framesSent} frames)`).to.equal(true);
    expect(snapshot().handles.UDPWrap ?? 0, 'UDP sockets of the live session (server + publisher)').to.be.greaterThan(base.handles.UDPWrap ?? 0);
    const t0 = Date.now();
    await pub.vanish();
    const reaped = await waitFor(() => server.registry.size === 0, LOADED_MS);
    const ms = Date.now() - t0;
    console.log(`      vanished peer reaped after ${ms} ms (mediaTimeoutMs ${MEDIA_TIMEOUT_MS}; the watchdog ticks every 100 ms)`);
    expect(reaped, 'session reaped').to.equal(true);
    expect(ms).to.be.at.least(MEDIA_TIMEOUT_MS - 150);
    expect(await waitFor(() => pub.byeReason !== undefined, LOADED_MS)).to.equal(true);
    expect(pub.byeReason, 'the open signaling socket is told why').to.equal('timeout');
    expect(await metricValue(server.url, 'maskstream_sessions_ended_total', 'reason="media_timeout"')).to.equal(1);
    await pub.close(); // what is left on the publisher's side (its peer connection object, the socket)

    expect(await waitFor(async () => (await server.inference.memory()).numTensors === baseTensors, LOADED_MS, 100), 'tensors back to baseline').to.equal(true);
    const back = await waitFor(() => Object.keys(grownHandles(base.handles, snapshot().handles)).length === 0, LOADED_MS, 100);
    expect(back, `handles back to baseline: ${JSON.stringify(grownHandles(base.handles, snapshot().handles))}`).to.equal(true);
    expect(openFds(), 'file descriptors').to.be.at.most(base.fds);
    expect(await metricValue(server.url, 'maskstream_sessions_active')).to.equal(0);
  });
});
