/**
 * Session churn: 200 sessions opened and closed — 80 werift publishers that stream a few
 * frames and say bye, 60 that stream and then drop their signaling socket (no bye), 6 at a
 * time; meanwhile 60 signaling-only clients whose offers' ICE never completes (reaped by
 * connectTimeoutMs), 12 at a time. Afterwards: no session, the same tensors in the inference worker(s), no
 * more UDP sockets or other handles, file descriptors or worker threads than before, no
 * worker restart, the V8 heap within HEAP_MARGIN_MIB of the baseline (after a full GC), and
 * RSS: within RSS_MARGIN_MIB of the baseline, and within RSS_SECOND_HALF_MIB of where it stood
 * after the first 100 sessions. The first 100 fill allocator arenas and native pools to their
 * working size (ONNX Runtime's per-shape arenas, FFmpeg's and libuv's threads); a leak keeps
 * growing in the second 100.
 */
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../src/main.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { FaultPublisher } from '../../src/reliability/faultPublisher.js';
import { fullGc, grownHandles, snapshot } from '../../src/reliability/resources.js';
import { deadOffer, metricValue, SignalClient } from '../helpers/signalClient.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';
import type { I420Picture } from '../../src/decode/types.js';

/** RSS growth allowed after 200 sessions, MiB (documented in docs/reliability.md; measured +38 to +75 on ort-cpu). */
export const RSS_MARGIN_MIB = 112;
/**
 * RSS growth allowed over the second 100 sessions, MiB. A leaked session (peer connection,
 * decoder, buffers: several MiB) would add hundreds here.
 */
export const RSS_SECOND_HALF_MIB = 32;
/**
 * V8 heap growth allowed after 200 sessions and a full GC, MiB (measured +2). Before the
 * decoder-callback fix (videoDecoder.ts, DecoderLink) every session leaked ~140 kB: +22 MiB.
 */
export const HEAP_MARGIN_MIB = 8;
/** Publishing sessions (bye, socket drop) at a time. */
const PARALLEL = 6;
/** Signaling-only sessions whose ICE never completes, at a time (cheap: each waits out the connect timeout). */
const ICE_NEVER_PARALLEL = 12;
/**
 * The server's connectTimeoutMs: how long an ICE-never session lives. Long enough that a real
 * publisher's ICE + DTLS never runs into it on a busy machine (1 s did, with two busy loops on
 * 2 cores: its data channel never opened), short enough to reap 60 sessions in half a minute.
 */
const CONNECT_TIMEOUT_MS = 5000;
const MiB = 1024 * 1024;

type Kind = 'bye' | 'socket_drop' | 'ice_never';

describe('churn: 200 sessions (bye, socket drop, ICE never completing) leave nothing behind', function () {
  this.timeout(600_000);
  let server: RunningServer;
  let frames: I420Picture[];
  let offer: string;
  /** Offer → data channel open of each publishing session, ms. */
  const connectMs: number[] = [];

  before(async () => {
    frames = (await generateClip({ frames: 10, width: 160, height: 120, fps: 30, speedPxPerFrame: 2, seed: 2 })).frames;
    offer = await deadOffer();
    server = await startServer({
      port: 0, host: '127.0.0.1', logLevel: 'error', maxSessions: 2 * (PARALLEL + ICE_NEVER_PARALLEL), connectTimeoutMs: CONNECT_TIMEOUT_MS,
      ipMaxSessions: 0, ipSessionsPerMinute: 0, admissionMaxLoad: 0,
    });
  });
  after(async () => {
    await server?.close();
  });

  async function one(kind: Kind): Promise<void> {
    if (kind === 'ice_never') {
      const c = await SignalClient.open(server.url);
      try {
        c.send({ type: 'offer', sdp: offer });
        await c.next((m) => m.type === 'answer', LOADED_MS);
        const bye = await c.next((m) => m.type === 'bye', CONNECT_TIMEOUT_MS + LOADED_MS);
        expect(bye).to.deep.equal({ type: 'bye', reason: 'timeout' });
      } finally {
        c.close();
      }
      return;
    }
    const p = new FaultPublisher({ url: server.url, codec: 'vp8', frames, fps: 30 });
    try {
      const t0 = performance.now();
      await p.connect(LOADED_MS);
      connectMs.push(performance.now() - t0);
      await p.run(8);
      if (kind === 'socket_drop') p.dropSignaling();
    } finally {
      await p.close();
    }
  }

  it('returns sessions, tensors, handles, fds, workers and RSS to the baseline', async () => {
    // Warm-up: the first sessions create lasting state (kernels, werift's pools, JIT, and each
    // inference worker's wasm memory on its first frames): as many publishing sessions at once as
    // there are workers (a new session goes to the worker with the fewest), then each kind.
    await Promise.all(Array.from({ length: server.inference.workers }, () => one('bye')));
    for (const k of ['bye', 'socket_drop', 'ice_never'] as Kind[]) await one(k);
    await waitFor(() => server.registry.size === 0, LOADED_MS);
    await new Promise((r) => setTimeout(r, 500));
    fullGc();
    const base = snapshot();
    const baseTensors = (await server.inference.memory()).numTensors;
    const baseWorkers = server.inference.workers;
    const baseRestarts = server.inference.restarts;
    const t0 = Date.now();

    // Two lanes at once: publishing sessions (bye and socket drop interleaved, so every stretch
    // of the run mixes them) and ICE-never sessions.
    // Each half: 40 byes, 30 socket drops, 30 ICE-never.
    const media: Kind[] = [...Array<Kind>(40).fill('bye'), ...Array<Kind>(30).fill('socket_drop')];
    const mediaOrder = media.map((k, i) => ({ k, key: (i * 7919) % media.length })).sort((a, b) => a.key - b.key).map((x) => x.k);
    const iceOrder = Array<Kind>(30).fill('ice_never');
    const failures: string[] = [];
    const lane = (order: Kind[], parallel: number) => {
      let next = 0;
      return Promise.all(Array.from({ length: parallel }, async () => {
        while (next < order.length) {
          const k = order[next++]!;
          try {
            await one(k);
          } catch (e) {
            failures.push(`${k}: ${(e as Error).message}`);
          }
        }
      }));
    };
    await Promise.all([lane(mediaOrder, PARALLEL), lane(iceOrder, ICE_NEVER_PARALLEL)]);
    await waitFor(() => server.registry.size === 0, LOADED_MS);
    await new Promise((r) => setTimeout(r, 500));
    fullGc();
    const mid = snapshot();
    await Promise.all([lane(mediaOrder, PARALLEL), lane(iceOrder, ICE_NEVER_PARALLEL)]);
    const elapsed = (Date.now() - t0) / 1000;
    expect(failures, 'every session ran as planned').to.deep.equal([]);

    expect(await waitFor(() => server.registry.size === 0, LOADED_MS), 'no session left').to.equal(true);
    expect(await waitFor(async () => (await server.inference.memory()).numTensors === baseTensors, LOADED_MS, 100), 'tensors back to baseline').to.equal(true);
    await waitFor(() => Object.keys(grownHandles(base.handles, snapshot().handles)).length === 0, LOADED_MS, 100);
    fullGc();
    await new Promise((r) => setTimeout(r, 200));
    fullGc();
    const end = snapshot();
    const text = await (await fetch(server.url + '/metrics')).text();
    const ended = Object.fromEntries([...text.matchAll(/^maskstream_sessions_ended_total\{reason="([a-z_]+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
    const rssDelta = (end.rssBytes - base.rssBytes) / MiB;
    const rssSecond = (end.rssBytes - mid.rssBytes) / MiB;
    const sorted = [...connectMs].sort((a, b) => a - b);
    console.log(`      200 sessions in ${elapsed.toFixed(0)} s (${PARALLEL} publishing + ${ICE_NEVER_PARALLEL} ICE-never at a time); ended by reason ${JSON.stringify(ended)}; publisher connect median ${sorted[sorted.length >> 1]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (connectTimeoutMs ${CONNECT_TIMEOUT_MS})`);
    console.log(`      baseline → after 100 → after 200: RSS ${(base.rssBytes / MiB).toFixed(0)} → ${(mid.rssBytes / MiB).toFixed(0)} → ${(end.rssBytes / MiB).toFixed(0)} MiB (${rssDelta >= 0 ? '+' : ''}${rssDelta.toFixed(1)}; second 100: ${rssSecond >= 0 ? '+' : ''}${rssSecond.toFixed(1)}), heap ${(base.heapUsedBytes / MiB).toFixed(0)} → ${(end.heapUsedBytes / MiB).toFixed(0)} MiB, fds ${base.fds} → ${end.fds}, UDP sockets ${base.handles.UDPWrap ?? 0} → ${end.handles.UDPWrap ?? 0}, handles ${JSON.stringify(base.handles)} → ${JSON.stringify(end.handles)}, tensors ${baseTensors} → ${(await server.inference.memory()).numTensors}, workers ${baseWorkers} → ${server.inference.workers}`);

    expect(ended.bye, 'clean byes').to.be.at.least(80);
    expect(ended.socket_closed, 'socket drops').to.be.at.least(60);
    expect(ended.connect_timeout, 'ICE never completed').to.be.at.least(60);
    expect(await metricValue(server.url, 'maskstream_sessions_active')).to.equal(0);
    expect(grownHandles(base.handles, end.handles), 'handles that grew (UDPWrap = UDP sockets)').to.deep.equal({});
    expect(end.fds, 'open file descriptors').to.be.at.most(base.fds);
    expect(server.inference.workers, 'worker threads').to.equal(baseWorkers);
    expect(server.inference.restarts, 'no worker restarted').to.equal(baseRestarts);
    expect(rssDelta, `RSS growth, MiB (margin ${RSS_MARGIN_MIB})`).to.be.at.most(RSS_MARGIN_MIB);
    expect(rssSecond, `RSS growth over the second 100 sessions, MiB (margin ${RSS_SECOND_HALF_MIB})`).to.be.at.most(RSS_SECOND_HALF_MIB);
    expect((end.heapUsedBytes - base.heapUsedBytes) / MiB, `heap growth, MiB (margin ${HEAP_MARGIN_MIB})`).to.be.at.most(HEAP_MARGIN_MIB);
  });
});
