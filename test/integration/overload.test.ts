/**
 * Overload: at capacity, new sessions are refused with a retry hint — WebSocket `server_full`
 * with retryAfterMs, WHIP 503 with Retry-After, /readyz 503 — both by the session limit
 * (maxSessions) and by the measured inference load (admissionMaxLoad) — while the sessions
 * already admitted keep their frame rate (compared loosely: the refusals must not cost them
 * more than a third of their masks/s on this 2-core machine).
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { FaultPublisher } from '../../src/reliability/faultPublisher.js';
import { deadOffer, metricValue, SignalClient, waitFor } from '../helpers/signalClient.js';
import type { I420Picture } from '../../src/decode/types.js';

const FPS = 30;

/** Masks per second each publisher got over the next `ms`. */
async function rates(pubs: FaultPublisher[], ms: number, during?: () => Promise<void>): Promise<number[]> {
  const before = pubs.map((p) => p.masksReceived);
  const t0 = Date.now();
  await Promise.all([new Promise((r) => setTimeout(r, ms)), during?.()]);
  const s = (Date.now() - t0) / 1000;
  return pubs.map((p, i) => (p.masksReceived - before[i]!) / s);
}

describe('overload: beyond capacity new sessions are refused with a retry hint, existing ones keep their rate', function () {
  this.timeout(180_000);
  let frames: I420Picture[];
  let offer: string;

  before(async () => {
    frames = (await generateClip({ frames: 30, width: 320, height: 240, fps: FPS, speedPxPerFrame: 3, seed: 9 })).frames;
    offer = await deadOffer();
  });

  async function hammer(server: RunningServer, n: number): Promise<{ ws: { code: string; retryAfterMs?: number }[]; whip: { status: number; retryAfter: string | null }[] }> {
    const ws: { code: string; retryAfterMs?: number }[] = [];
    const whip: { status: number; retryAfter: string | null }[] = [];
    for (let i = 0; i < n; i++) {
      const c = await SignalClient.open(server.url);
      c.send({ type: 'offer', sdp: offer });
      const m = await c.next((x) => x.type === 'error' || x.type === 'answer');
      ws.push(m.type === 'error' ? { code: m.code, ...(m.retryAfterMs !== undefined ? { retryAfterMs: m.retryAfterMs } : {}) } : { code: 'admitted' });
      c.close();
      const r = await fetch(server.url + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
      whip.push({ status: r.status, retryAfter: r.headers.get('retry-after') });
      await r.text();
      await new Promise((res) => setTimeout(res, 50));
    }
    return { ws, whip };
  }

  for (const signal of ['maxSessions', 'admissionMaxLoad'] as const) {
    it(`refuses by ${signal} and keeps the two live sessions at their rate`, async () => {
      // maxSessions: 2 admitted, the 3rd refused by count. admissionMaxLoad: a limit so low that
      // any measured load refuses the next session (the count limit is far away).
      const server = await startServer(signal === 'maxSessions'
        ? { port: 0, host: '127.0.0.1', logLevel: 'error', maxSessions: 2, admissionMaxLoad: 0, ipMaxSessions: 0, ipSessionsPerMinute: 0 }
        : { port: 0, host: '127.0.0.1', logLevel: 'error', maxSessions: 50, admissionMaxLoad: 0.01, ipMaxSessions: 0, ipSessionsPerMinute: 0 });
      const pubs: FaultPublisher[] = [];
      const runs: Promise<void>[] = [];
      try {
        // Both connect before either streams: load-based admission admits while nothing is measured yet.
        for (let i = 0; i < 2; i++) {
          const p = new FaultPublisher({ url: server.url, codec: 'vp8', frames, fps: FPS });
          await p.connect();
          pubs.push(p);
        }
        for (const p of pubs) runs.push(p.run(FPS * 60)); // stopped by close()
        await waitFor(() => pubs.every((p) => p.masksReceived > 30), 15_000);
        const base = await rates(pubs, 3000);
        let refusals: Awaited<ReturnType<typeof hammer>> | undefined;
        const loaded = await rates(pubs, 3000, async () => {
          refusals = await hammer(server, 15);
        });
        console.log(`      ${signal}: masks/s before ${base.map((r) => r.toFixed(1)).join(', ')}; while refusing ${refusals!.ws.length + refusals!.whip.length} requests ${loaded.map((r) => r.toFixed(1)).join(', ')}`);
        for (const r of refusals!.ws) {
          expect(r.code).to.equal('server_full');
          expect(r.retryAfterMs).to.be.at.least(500);
        }
        for (const r of refusals!.whip) {
          expect(r.status).to.equal(503);
          expect(Number(r.retryAfter)).to.be.at.least(1);
        }
        expect((await fetch(server.url + '/readyz')).status, '/readyz while full').to.equal(503);
        expect(server.registry.size).to.equal(2);
        for (let i = 0; i < 2; i++) {
          expect(base[i], `session ${i} rate before`).to.be.greaterThan(5);
          expect(loaded[i], `session ${i} masks/s while refusing (before: ${base[i]!.toFixed(1)})`).to.be.at.least(base[i]! * 0.67);
        }
        expect(await metricValue(server.url, 'maskstream_sessions_refused_total', 'reason="server_full"')).to.equal(30);
      } finally {
        for (const p of pubs) await p.close();
        await Promise.all(runs);
        await server.close();
      }
    });
  }
});
