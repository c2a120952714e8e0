/**
 * Local scale-out rehearsal: two real server instances ("pods" A and B, maxSessions 2 each) in
 * this process, each behind its own public name on a tiny path-prefix ingress
 * (http://127.0.0.1:<ingress>/pod-a, …/pod-b — the per-pod Ingress host of docs/operations.md
 * "Sessions are pinned to the pod that answered", as a path) that is also its `publicUrl`.
 * A round-robin balancer in the test places 3 publishers (werift, WHIP and WebSocket): A, B, A.
 * While they stream, each pod's /metrics (parsed with @platformatic/promotel, as metrics.test.ts
 * does) shows its own sessions — sessions_active 2 / 1, load_ratio 1 / ≥ ½ — and /readyz says
 * A is full (503) and B is not (200). WHIP `Location` names the pod that answered (its publicUrl,
 * not the URL the offer was posted to), and DELETE through it reaches that pod. A 4th session
 * offered to A is refused (WHIP 503 + Retry-After, WebSocket server_full + retryAfterMs) and the
 * balancer's retry lands on B. After every publisher has left, both pods are back to 0 sessions
 * and their load ratio falls back to the inference utilization, then to 0.
 *
 * Load-based admission is off (admissionMaxLoad 0) so that on this 2-core machine only the
 * session limit decides who is full: what is rehearsed is the spread, not the load estimate.
 */
import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { parse } from '@platformatic/promotel';
import { startServer, type RunningServer } from '../../src/main.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { deadOffer, SignalClient } from '../helpers/signalClient.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';
import type { I420Picture } from '../../src/decode/types.js';

const FPS = 15;
const WIDTH = 320;
const HEIGHT = 240;
const MAX_SESSIONS = 2;
/** Masks each publisher must have received before the metrics are checked. */
const MIN_MASKS = 30;

// ---------------------------------------------------------------------------------------------
// A minimal ingress: /pod-a/… → pod A, /pod-b/… → pod B (prefix stripped), HTTP and WebSocket.
// ---------------------------------------------------------------------------------------------

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

class PrefixIngress {
  readonly routes = new Map<string, { host: string; port: number }>();
  /** Requests forwarded, by prefix (POST/PATCH/DELETE/GET and WebSocket upgrades). */
  readonly forwarded = new Map<string, number>();
  private readonly server = http.createServer((req, res) => this.forward(req, res));
  private readonly sockets = new Set<net.Socket>();
  url = '';

  async listen(): Promise<void> {
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head));
    this.server.on('connection', (s) => this.track(s));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private route(url: string | undefined): { target: { host: string; port: number }; path: string } | undefined {
    const m = /^\/(pod-[a-z])(\/.*)?$/.exec(url ?? '');
    const target = m ? this.routes.get(m[1]!) : undefined;
    if (!m || !target) return undefined;
    this.forwarded.set(m[1]!, (this.forwarded.get(m[1]!) ?? 0) + 1);
    return { target, path: m[2] ?? '/' };
  }

  private static headers(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
    return Object.fromEntries(Object.entries(h).filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase())));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const r = this.route(req.url);
    if (!r) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such pod\n');
      return;
    }
    const up = http.request({ host: r.target.host, port: r.target.port, path: r.path, method: req.method, headers: PrefixIngress.headers(req.headers) }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, PrefixIngress.headers(ures.headers));
      ures.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const r = this.route(req.url);
    if (!r) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const up = http.request({ host: r.target.host, port: r.target.port, path: r.path, method: req.method, headers: req.headers });
    const statusLine = (code: number | undefined, msg: string | undefined, raw: string[]) => {
      let s = `HTTP/1.1 ${code} ${msg ?? ''}\r\n`;
      for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
      return s + '\r\n';
    };
    up.on('upgrade', (ures, usock: net.Socket, uhead) => {
      this.track(usock);
      usock.on('error', () => socket.destroy());
      socket.on('close', () => usock.destroy());
      usock.on('close', () => socket.destroy());
      socket.write(statusLine(ures.statusCode, ures.statusMessage, ures.rawHeaders));
      if (uhead.length) socket.write(uhead);
      if (head.length) usock.write(head);
      usock.pipe(socket).pipe(usock);
    });
    up.on('response', (ures) => {
      // The upgrade was refused (401/404/429…): pass the answer on.
      socket.write(statusLine(ures.statusCode, ures.statusMessage, ures.rawHeaders));
      ures.pipe(socket);
    });
    up.on('error', () => socket.destroy());
    up.end();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// Pods, the balancer and metric scraping.
// ---------------------------------------------------------------------------------------------

interface Pod {
  readonly name: 'A' | 'B';
  readonly server: RunningServer;
  /** The pod's public base URL (through the ingress); also its config publicUrl. */
  readonly publicUrl: string;
}

interface Placement {
  readonly pub: WeriftPublisher;
  readonly pod: Pod;
  readonly signaling: 'ws' | 'whip';
  /** Pods that refused this session first, and how. */
  readonly refusals: { pod: Pod['name']; why: string }[];
  run?: Promise<void>;
}

/** Round-robin over the pods; a session a pod refuses as full is retried on the next pod. */
class RoundRobinBalancer {
  private cursor = 0;
  constructor(private readonly pods: readonly Pod[], private readonly frames: readonly I420Picture[]) {}

  async publish(signaling: 'ws' | 'whip', opts: { startAt?: Pod['name'] } = {}): Promise<Placement> {
    const start = opts.startAt ? this.pods.findIndex((p) => p.name === opts.startAt) : this.cursor;
    const refusals: { pod: Pod['name']; why: string }[] = [];
    for (let k = 0; k < this.pods.length; k++) {
      const i = (start + k) % this.pods.length;
      const pod = this.pods[i]!;
      // totalFrames: far more than the test needs; close() ends the run.
      const pub = new WeriftPublisher({ url: pod.publicUrl, codec: 'vp8', frames: this.frames, fps: FPS, totalFrames: FPS * 600, signaling });
      try {
        await pub.connect(30_000);
        this.cursor = (i + 1) % this.pods.length;
        return { pub, pod, signaling, refusals };
      } catch (e) {
        await pub.close();
        const msg = (e as Error).message;
        // WebSocket: `server error server_full: …`; WHIP: `WHIP POST answered 503: …`.
        const full = /server_full|answered 503/.exec(msg);
        if (!full) throw e;
        refusals.push({ pod: pod.name, why: full[0] });
      }
    }
    throw new Error(`every pod refused the session: ${JSON.stringify(refusals)}`);
  }
}

/** One /metrics scrape, parsed by the Prometheus text parser the metrics test uses. */
interface Scrape {
  get(name: string, labels?: Record<string, string>): number;
}

async function scrape(baseUrl: string): Promise<Scrape> {
  const text = await (await fetch(baseUrl + '/metrics')).text();
  const parsed = parse(text) as unknown as { timeseries: { labels: { name: string; value: string }[]; samples: { value: number }[] }[] };
  // The parser skips lines it cannot read; every sample line must have become a sample, except
  // NaN/±Inf values, which it cannot read (prom-client writes NaN as "Nan": its default
  // nodejs_eventloop_lag_{mean,stddev}_seconds when two scrapes come within the lag monitor's
  // 10 ms resolution — Prometheus itself reads it, case-insensitively). None of those is read here.
  const sampleLines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const special = sampleLines.filter((l) => /\s[+-]?(?:nan|inf)$/i.test(l.trim()));
  expect(special.filter((l) => l.startsWith('maskstream_')), 'no NaN/Inf maskstream_* sample').to.deep.equal([]);
  expect(parsed.timeseries.reduce((n, ts) => n + ts.samples.length, 0), `every other sample line parsed (NaN/Inf: ${special.join(' | ') || 'none'})`).to.equal(sampleLines.length - special.length);
  const series = parsed.timeseries.map((ts) => ({ labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])), value: ts.samples[ts.samples.length - 1]!.value }));
  return {
    get(name, labels = {}) {
      const s = series.find((x) => x.labels.__metric_name === name && x.labels.__suffix === undefined && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      return s ? Number(s.value) : NaN;
    },
  };
}

/** Scrapes until `ok` holds (or the time is up); returns the last scrape either way. */
async function scrapeUntil(baseUrl: string, ok: (s: Scrape) => boolean, ms: number): Promise<Scrape> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await scrape(baseUrl);
    if (ok(s) || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const orZero = (n: number) => (Number.isNaN(n) ? 0 : n);
const median = (xs: number[]) => {
  const s = xs.filter((x) => x >= 0).sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
};

describe('scale-out rehearsal: two instances, sessions spread, per-pod load', function () {
  this.timeout(300_000);
  const ingress = new PrefixIngress();
  const pods: Pod[] = [];
  const placements: Placement[] = [];
  let balancer: RoundRobinBalancer;
  let A: Pod;
  let B: Pod;

  before(async () => {
    const { frames } = await generateClip({ frames: 30, width: WIDTH, height: HEIGHT, fps: FPS, speedPxPerFrame: 3, seed: 21 });
    await ingress.listen();
    for (const name of ['A', 'B'] as const) {
      const prefix = `pod-${name.toLowerCase()}`;
      const publicUrl = `${ingress.url}/${prefix}`;
      const server = await startServer({
        port: 0, host: '127.0.0.1', logLevel: 'warn',
        maxSessions: MAX_SESSIONS, inferenceWorkers: 1, temporal: 'none', admissionMaxLoad: 0,
        publicUrl,
      });
      ingress.routes.set(prefix, { host: '127.0.0.1', port: server.port });
      pods.push({ name, server, publicUrl });
    }
    [A, B] = pods as [Pod, Pod];
    balancer = new RoundRobinBalancer(pods, frames);
  });

  after(async () => {
    for (const p of placements) await p.pub.close().catch(() => undefined);
    for (const p of pods) await p.server.close();
    await ingress.close();
  });

  it('spreads 3 sessions round-robin (A, B, A); WHIP Location names the pod that answered; masks reach every publisher', async () => {
    for (const signaling of ['whip', 'whip', 'ws'] as const) {
      const p = await balancer.publish(signaling);
      p.run = p.pub.run();
      placements.push(p);
    }
    expect(placements.map((p) => p.pod.name), 'placement').to.deep.equal(['A', 'B', 'A']);
    expect(placements.every((p) => p.refusals.length === 0), 'no refusals while there is room').to.equal(true);

    for (const p of placements.filter((x) => x.signaling === 'whip')) {
      const other = p.pod === A ? B : A;
      // Absolute, under this pod's publicUrl: a relative Location would have resolved to <ingress>/whip/sessions/….
      expect(p.pub.whip!.location, `Location of a session on ${p.pod.name}`).to.equal(`${p.pod.publicUrl}/whip/sessions/${p.pub.sessionId}`);
      expect(p.pub.whip!.location.startsWith(other.publicUrl), 'not the other pod').to.equal(false);
    }
    for (const p of placements) {
      const other = p.pod === A ? B : A;
      expect(p.pod.server.registry.get(p.pub.sessionId!), `session lives on ${p.pod.name}`).to.not.equal(undefined);
      expect(other.server.registry.get(p.pub.sessionId!), `and not on ${other.name}`).to.equal(undefined);
    }
    // The pinning in practice: the session's URL on the other pod is unknown there (404), and nothing is ended.
    const wrongPod = await fetch(`${B.publicUrl}/whip/sessions/${placements[0]!.pub.sessionId}`, { method: 'DELETE' });
    expect(wrongPod.status, 'DELETE of an A session at B').to.equal(404);
    expect(A.server.registry.size).to.equal(2);

    const ok = await waitFor(() => placements.every((p) => p.pub.masksReceived >= MIN_MASKS), LOADED_MS);
    console.log(`      masks so far: ${placements.map((p) => `${p.pod.name}/${p.signaling} ${p.pub.masksReceived} (${p.pub.framesSent} sent)`).join(', ')}`);
    expect(ok, `every publisher got ≥ ${MIN_MASKS} masks`).to.equal(true);
    for (const p of placements) {
      expect(p.pub.errors, `${p.pod.name}/${p.signaling} errors`).to.deep.equal([]);
      expect(p.pub.masks.some((m) => m.frameIndex >= 0), 'masks matched to sent frames').to.equal(true);
      for (const m of p.pub.masks) expect(m.msg.width).to.equal(p.pod.server.engineInfo.maskWidth);
    }
  });

  it('each pod\'s /metrics and /readyz reflect its own sessions: A 2/2 (load 1, not ready), B 1/2 (load ≥ ½, < A, ready)', async () => {
    // The load gauges are sampled once a second: scrape until they show the sessions (or time out and fail below).
    const a = await scrapeUntil(A.server.url, (s) => s.get('maskstream_sessions_active') === 2 && s.get('maskstream_load_ratio') >= 1, LOADED_MS);
    const b = await scrapeUntil(B.server.url, (s) => s.get('maskstream_sessions_active') === 1 && s.get('maskstream_load_ratio') >= 0.5, LOADED_MS);
    for (const [pod, s] of [[A, a], [B, b]] as const) {
      console.log(`      pod ${pod.name}: sessions ${s.get('maskstream_sessions_active')}/${s.get('maskstream_sessions_limit')}, load ratio ${s.get('maskstream_load_ratio').toFixed(3)}, utilization ${s.get('maskstream_inference_utilization_ratio').toFixed(3)}, started ws ${s.get('maskstream_sessions_started_total', { signaling: 'ws' })} whip ${s.get('maskstream_sessions_started_total', { signaling: 'whip' })}, frames processed ${s.get('maskstream_frames_processed_total')}, subscribers ${s.get('maskstream_mask_subscribers')}`);
    }
    expect(a.get('maskstream_sessions_active'), 'A sessions_active').to.equal(2);
    expect(b.get('maskstream_sessions_active'), 'B sessions_active').to.equal(1);
    expect(a.get('maskstream_sessions_limit')).to.equal(MAX_SESSIONS);
    expect(b.get('maskstream_sessions_limit')).to.equal(MAX_SESSIONS);
    expect(a.get('maskstream_sessions_started_total', { signaling: 'whip' }), 'A started by WHIP').to.equal(1);
    expect(a.get('maskstream_sessions_started_total', { signaling: 'ws' }), 'A started by WS').to.equal(1);
    expect(b.get('maskstream_sessions_started_total', { signaling: 'whip' }), 'B started by WHIP').to.equal(1);
    expect(orZero(b.get('maskstream_sessions_started_total', { signaling: 'ws' })), 'B started by WS').to.equal(0);
    expect(a.get('maskstream_mask_subscribers'), 'A: the WHIP session\'s subscriber').to.equal(1);
    expect(b.get('maskstream_mask_subscribers'), 'B: the WHIP session\'s subscriber').to.equal(1);
    expect(a.get('maskstream_frames_processed_total')).to.be.greaterThan(0);
    expect(b.get('maskstream_frames_processed_total')).to.be.greaterThan(0);

    // load_ratio = min(1, max(sessions active / limit, utilization)).
    const [loadA, loadB] = [a.get('maskstream_load_ratio'), b.get('maskstream_load_ratio')];
    expect(loadA, 'A load ≥ 2/2').to.be.at.least(2 / MAX_SESSIONS).and.at.most(1);
    expect(loadB, 'B load ≥ 1/2').to.be.at.least(1 / MAX_SESSIONS);
    expect(loadB, 'B load < A load').to.be.lessThan(loadA);
    expect(a.get('maskstream_inference_utilization_ratio')).to.be.within(0, 1);
    expect(b.get('maskstream_inference_utilization_ratio')).to.be.within(0, 1);

    const [readyA, readyB] = await Promise.all([fetch(A.server.url + '/readyz'), fetch(B.server.url + '/readyz')]);
    const [bodyA, bodyB] = [await readyA.json() as Record<string, unknown>, await readyB.json() as Record<string, unknown>];
    console.log(`      /readyz: A ${readyA.status} ${JSON.stringify(bodyA)}, B ${readyB.status} ${JSON.stringify(bodyB)}`);
    expect(readyA.status, 'A /readyz (full)').to.equal(503);
    expect(bodyA).to.include({ ready: false, draining: false, sessions: 2 });
    expect(readyB.status, 'B /readyz').to.equal(200);
    expect(bodyB).to.include({ ready: true, sessions: 1 });
  });

  it('refuses a 4th session at A (WHIP 503 + Retry-After, WS server_full + retryAfterMs); the balancer\'s retry lands on B', async () => {
    // What a client sees at the full pod, through its public URL, on both signaling paths.
    const offer = await deadOffer();
    const whip = await fetch(A.publicUrl + '/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    const whipBody = await whip.text();
    const sc = await SignalClient.open(A.publicUrl);
    sc.send({ type: 'offer', sdp: offer });
    const wsAnswer = await sc.next((m) => m.type === 'error' || m.type === 'answer', LOADED_MS);
    sc.close();
    console.log(`      full pod A: WHIP ${whip.status} Retry-After ${whip.headers.get('retry-after')} (${whipBody.trim()}); WS ${JSON.stringify(wsAnswer)}`);
    expect(whip.status, 'WHIP POST at A').to.equal(503);
    expect(Number(whip.headers.get('retry-after')), 'Retry-After, s').to.be.at.least(1);
    expect(wsAnswer.type).to.equal('error');
    expect(wsAnswer.type === 'error' && wsAnswer.code).to.equal('server_full');
    expect(wsAnswer.type === 'error' ? wsAnswer.retryAfterMs : undefined, 'retryAfterMs').to.be.at.least(1000);

    // The balancer offers the 4th session to A (as a balancer unaware of A's state would) and retries on B.
    const p = await balancer.publish('ws', { startAt: 'A' });
    p.run = p.pub.run();
    placements.push(p);
    console.log(`      4th session: refused by ${p.refusals.map((r) => `${r.pod} (${r.why})`).join(', ')}, placed on ${p.pod.name}`);
    expect(p.refusals).to.deep.equal([{ pod: 'A', why: 'server_full' }]);
    expect(p.pod.name).to.equal('B');
    expect(B.server.registry.get(p.pub.sessionId!)).to.not.equal(undefined);
    expect([A.server.registry.size, B.server.registry.size], 'sessions A, B').to.deep.equal([2, 2]);
    expect(await waitFor(() => p.pub.masksReceived >= MIN_MASKS, LOADED_MS), `4th publisher got ≥ ${MIN_MASKS} masks (got ${p.pub.masksReceived})`).to.equal(true);
    expect(p.pub.errors).to.deep.equal([]);

    const a = await scrape(A.server.url);
    const b = await scrapeUntil(B.server.url, (s) => s.get('maskstream_sessions_active') === 2 && s.get('maskstream_load_ratio') >= 1, LOADED_MS);
    console.log(`      after the retry: A sessions ${a.get('maskstream_sessions_active')} load ${a.get('maskstream_load_ratio').toFixed(3)} refused(server_full) ${a.get('maskstream_sessions_refused_total', { reason: 'server_full' })}; B sessions ${b.get('maskstream_sessions_active')} load ${b.get('maskstream_load_ratio').toFixed(3)} refused(server_full) ${orZero(b.get('maskstream_sessions_refused_total', { reason: 'server_full' }))}`);
    expect(a.get('maskstream_sessions_refused_total', { reason: 'server_full' }), 'A refusals: WHIP probe, WS probe, the balancer\'s first try').to.equal(3);
    expect(orZero(b.get('maskstream_sessions_refused_total', { reason: 'server_full' })), 'B refused nothing').to.equal(0);
    expect(a.get('maskstream_sessions_active')).to.equal(2);
    expect(b.get('maskstream_sessions_active')).to.equal(2);
    expect(b.get('maskstream_load_ratio'), 'B load now 2/2').to.equal(1);
    expect((await fetch(B.server.url + '/readyz')).status, 'B /readyz now full').to.equal(503);
  });

  it('after every publisher leaves, both pods are back to 0 sessions and the load ratio falls back (to utilization, then 0)', async () => {
    for (const p of placements) {
      await p.pub.close();
      await p.run;
    }
    for (const p of placements) {
      expect(p.pub.errors, `${p.pod.name}/${p.signaling} errors`).to.deep.equal([]);
      if (p.signaling === 'whip') expect(p.pub.whip!.deleteStatus, `DELETE via Location reached ${p.pod.name}`).to.equal(200);
    }
    console.log(`      masks received: ${placements.map((p) => `${p.pod.name}/${p.signaling} ${p.pub.masksReceived}/${p.pub.framesSent} (e2e median ${median(p.pub.masks.map((m) => m.e2eMs)).toFixed(0)} ms)`).join(', ')}`);
    expect(await waitFor(() => A.server.registry.size === 0 && B.server.registry.size === 0, LOADED_MS), 'registries empty').to.equal(true);

    const t0 = Date.now();
    // Sessions part gone: the next sample sets load = utilization (of the last 10 s).
    const sessionsGone = (s: Scrape) => s.get('maskstream_sessions_active') === 0 && Math.abs(s.get('maskstream_load_ratio') - s.get('maskstream_inference_utilization_ratio')) < 1e-9;
    const [a1, b1] = await Promise.all([scrapeUntil(A.server.url, sessionsGone, LOADED_MS), scrapeUntil(B.server.url, sessionsGone, LOADED_MS)]);
    console.log(`      just after: A load ${a1.get('maskstream_load_ratio').toFixed(3)} (utilization ${a1.get('maskstream_inference_utilization_ratio').toFixed(3)}), B load ${b1.get('maskstream_load_ratio').toFixed(3)} (utilization ${b1.get('maskstream_inference_utilization_ratio').toFixed(3)}) after ${Date.now() - t0} ms`);
    for (const [pod, s] of [[A, a1], [B, b1]] as const) {
      expect(s.get('maskstream_sessions_active'), `${pod.name} sessions_active`).to.equal(0);
      expect(s.get('maskstream_load_ratio'), `${pod.name} load = utilization (sessions part 0)`).to.be.closeTo(s.get('maskstream_inference_utilization_ratio'), 1e-9);
      expect(s.get('maskstream_load_ratio'), `${pod.name} load below its full value`).to.be.lessThan(1);
    }
    // The utilization window is 10 s: with no frames, the load ratio reaches 0.
    const zero = (s: Scrape) => s.get('maskstream_load_ratio') === 0;
    const [a2, b2] = await Promise.all([scrapeUntil(A.server.url, zero, 30_000), scrapeUntil(B.server.url, zero, 30_000)]);
    console.log(`      load ratio A ${a2.get('maskstream_load_ratio')}, B ${b2.get('maskstream_load_ratio')} after ${Date.now() - t0} ms`);
    expect(a2.get('maskstream_load_ratio'), 'A load ratio').to.equal(0);
    expect(b2.get('maskstream_load_ratio'), 'B load ratio').to.equal(0);
    expect(a2.get('maskstream_sessions_active')).to.equal(0);
    expect(b2.get('maskstream_sessions_active')).to.equal(0);
    expect((await fetch(A.server.url + '/readyz')).status, 'A ready again').to.equal(200);
    expect((await fetch(B.server.url + '/readyz')).status, 'B ready again').to.equal(200);
    console.log(`      ingress requests forwarded: ${JSON.stringify(Object.fromEntries(ingress.forwarded))}`);
  });
});
