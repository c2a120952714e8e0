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
import { grownHandles, openFds, settle, snapshot } from '../../src/reliability/resources.js';
import { metricValue } from '../helpers/signalClient.js';

const MEDIA_TIMEOUT_MS = 1500;

describe('a peer that vanishes (no bye, no DTLS close) is reaped and its resources released', function () {
  this.timeout(120_000);
  let server: RunningServer;

  before(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'error', mediaTimeoutMs: MEDIA_TIMEOUT_MS, admissionMaxLoad: 0 });
  });
  after(async () => {
    await server?.close();
  });

  it(`ends the session ${MEDIA_TIMEOUT_MS} ms after the media stops, says bye "timeout", and returns to the baseline`, async () => {
    const clip = await generateClip({ frames: 30, width: 320, height: 240, fps: 30, speedPxPerFrame: 3, seed: 4 });
    // Warm-up: lazily created state (kernels, caches, the first werift socket pool) stays.
    const warm = new FaultPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30 });
    await warm.connect();
    await warm.run(20);
    await warm.close();
    await settle(() => server.registry.size === 0, 5000);
    await new Promise((r) => setTimeout(r, 500));
    const base = snapshot();
    const baseTensors = (await server.inference.memory()).numTensors;

    const pub = new FaultPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: 30 });
    await pub.connect();
    await pub.run(30);
    expect(pub.masksReceived).to.be.greaterThan(10);
    expect(snapshot().handles.UDPWrap ?? 0, 'UDP sockets of the live session (server + publisher)').to.be.greaterThan(base.handles.UDPWrap ?? 0);
    const t0 = Date.now();
    await pub.vanish();
    const reaped = await settle(() => server.registry.size === 0, MEDIA_TIMEOUT_MS + 5000);
    const ms = Date.now() - t0;
    console.log(`      vanished peer reaped after ${ms} ms (mediaTimeoutMs ${MEDIA_TIMEOUT_MS}; the watchdog ticks every 100 ms)`);
    expect(reaped, 'session reaped').to.equal(true);
    expect(ms).to.be.at.least(MEDIA_TIMEOUT_MS - 150);
    expect(await settle(() => pub.byeReason !== undefined, 2000)).to.equal(true);
    expect(pub.byeReason, 'the open signaling socket is told why').to.equal('timeout');
    expect(await metricValue(server.url, 'maskstream_sessions_ended_total', 'reason="media_timeout"')).to.equal(1);
    await pub.close(); // what is left on the publisher's side (its peer connection object, the socket)

    expect(await settle(async () => (await server.inference.memory()).numTensors === baseTensors, 3000), 'tensors back to baseline').to.equal(true);
    const back = await settle(() => Object.keys(grownHandles(base.handles, snapshot().handles)).length === 0, 5000);
    expect(back, `handles back to baseline: ${JSON.stringify(grownHandles(base.handles, snapshot().handles))}`).to.equal(true);
    expect(openFds(), 'file descriptors').to.be.at.most(base.fds);
    expect(await metricValue(server.url, 'maskstream_sessions_active')).to.equal(0);
  });
});
