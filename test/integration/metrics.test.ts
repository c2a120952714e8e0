/**
 * /metrics during a live session (werift publisher, masks acknowledged), parsed with a
 * Prometheus text-format parser from npm (@platformatic/promotel's `parse`, which returns
 * remote-write time series; parse-prometheus-text-format was tried first and collapses every
 * labelled histogram into one, so it cannot check per-stage histograms): every metric
 * documented in docs/operations.md exists with its documented type and only its documented
 * label values, histograms are internally consistent, and nothing looks like a per-session label.
 */
import { expect } from 'chai';
import { MetricType, parse } from '@platformatic/promotel';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/main.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { e2eBuckets, LATENCY_BUCKETS, METRIC_CATALOG } from '../../src/observability/metrics.js';
import { documentedMetrics } from '../helpers/operationsDoc.js';
import { LOADED_MS } from '../helpers/waitFor.js';
import { awaitAccounted, dropCounts, total, type DropCounts } from '../helpers/frameAccounting.js';

const FPS = 30;
const SLO_MS = 120; // not the default: the SLO bucket must follow the config
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;


/** One series of a family: its own labels, and its value (histograms: buckets by le, sum, count). */
interface Series {
  readonly labels: Record<string, string>;
  value?: number;
  readonly buckets: Map<number, number>;
  sum?: number;
  count?: number;
}
interface Family {
  readonly name: string;
  readonly type: string;
  readonly series: Series[];
}

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MetricType).map(([k, v]) => [v, k.toLowerCase()]));

/** Scrapes /metrics and groups the parser's time series into families (histogram parts joined by label set). */
async function scrape(url: string): Promise<Map<string, Family>> {
  const res = await fetch(url + '/metrics');
  expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  // The parser's result follows the remote-write protobuf types (every field optional); it always fills these.
  const parsed = parse(text) as unknown as {
    timeseries: { labels: { name: string; value: string }[]; samples: { value: number }[] }[];
    metadata: { metric_family_name: string; type: number }[];
  };
  // The parser skips lines it cannot read; every sample line must have become a sample, except
  // NaN/±Inf values it cannot read (prom-client writes NaN as "Nan" for its default
  // nodejs_eventloop_lag_{mean,stddev}_seconds when two scrapes come within 10 ms; Prometheus
  // reads it). No maskstream_* sample may be one of them.
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const special = lines.filter((l) => /\s[+-]?(?:nan|inf)$/i.test(l.trim()));
  expect(special.filter((l) => l.startsWith('maskstream_')), 'no NaN/Inf maskstream_* sample').to.deep.equal([]);
  expect(parsed.timeseries.reduce((n, ts) => n + ts.samples.length, 0), 'every other sample line parsed').to.equal(lines.length - special.length);
  const families = new Map<string, Family>();
  for (const md of parsed.metadata) families.set(md.metric_family_name, { name: md.metric_family_name, type: TYPE_NAMES[md.type] ?? 'unknown', series: [] });
  for (const ts of parsed.timeseries) {
    const all = Object.fromEntries(ts.labels.map((l) => [l.name, l.value]));
    const { __metric_name: fam, __suffix: suffix, le, ...labels } = all;
    const f = families.get(fam!)!;
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = f.series.find((x) => JSON.stringify(Object.entries(x.labels).sort()) === key);
    if (!s) f.series.push((s = { labels, buckets: new Map() }));
    const v = ts.samples[ts.samples.length - 1]!.value;
    if (suffix === 'bucket') s.buckets.set(le === '+Inf' ? Infinity : Number(le), v);
    else if (suffix === 'sum') s.sum = v;
    else if (suffix === 'count') s.count = v;
    else s.value = v;
  }
  return families;
}

function value(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const s = fams.get(name)?.series.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  return Number(s?.value ?? s?.count ?? NaN);
}

describe('Prometheus metrics during a live session', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let pub: WeriftPublisher;
  let subscriber: WebSocket;
  let during: Map<string, Family>;
  /** Frames dropped while the session ran, by reason (all reasons listed). */
  let drops: Partial<DropCounts>;

  before(async () => {
    const clip = await generateClip({ frames: 60, width: 640, height: 480, fps: FPS, speedPxPerFrame: 4, seed: 3 });
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn', latencySloMs: SLO_MS, maxSessions: 3 });
    const before = await dropCounts(server.url);
    pub = new WeriftPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: FPS, totalFrames: FPS * 5 });
    await pub.connect(LOADED_MS);
    // A subscriber as well, so the per-receiver series move too.
    subscriber = new WebSocket(`${server.url.replace(/^http/, 'ws')}/sessions/${pub.sessionId}/masks`);
    await new Promise((resolve, reject) => subscriber.once('open', resolve).once('error', reject));
    await pub.run();
    // Every frame sent is a mask or a counted drop (however many a busy machine superseded);
    // the session stays open for the scrape.
    drops = await awaitAccounted(server.url, before, pub.framesSent, () => pub.masks.length);
    await new Promise((r) => setTimeout(r, 1200)); // let the 1 s load sampler run with work done
    during = await scrape(server.url);
  });

  after(async () => {
    subscriber?.terminate();
    await pub?.close();
    await server?.close();
  });

  it('documents exactly the metrics the server defines (docs/operations.md ≡ METRIC_CATALOG)', () => {
    const docs = documentedMetrics();
    expect(docs.map((d) => d.name).sort()).to.deep.equal(METRIC_CATALOG.map((m) => m.name).sort());
    for (const d of docs) {
      const c = METRIC_CATALOG.find((m) => m.name === d.name)!;
      expect(d.type, d.name).to.equal(c.type);
      expect(d.labels, d.name).to.deep.equal(Object.fromEntries(Object.entries(c.labels).map(([k, v]) => [k, [...v]])));
    }
  });

  it('exposes every documented metric with its documented type and only documented label values', () => {
    for (const d of documentedMetrics()) {
      const f = during.get(d.name);
      expect(f, `${d.name} is exposed`).to.not.equal(undefined);
      expect(f!.type, `${d.name} type`).to.equal(d.type);
      // Series with two labels (WHIP method × code) appear with their first request; the rest exist from start-up.
      if (Object.keys(d.labels).length < 2) expect(f!.series.length, `${d.name} has samples`).to.be.greaterThan(0);
      for (const s of f!.series) {
        const labels = s.labels;
        expect(Object.keys(labels).sort(), `${d.name} label names`).to.satisfy((ks: string[]) => ks.every((k) => k in d.labels));
        for (const [k, v] of Object.entries(labels)) expect(d.labels[k], `${d.name}{${k}}`).to.include(v);
      }
    }
  });

  it('has no label value that looks like a session id, on any metric', () => {
    for (const f of during.values()) {
      for (const s of f.series) {
        for (const [k, v] of Object.entries(s.labels)) {
          expect(UUID.test(v), `${f.name}{${k}="${v}"}`).to.equal(false);
          expect(v).to.not.equal(pub.sessionId);
        }
      }
    }
  });

  it('keeps histograms consistent: cumulative monotonic buckets, +Inf = _count, the configured bounds, SLO bucket exact', () => {
    const expectedBounds: Record<string, number[]> = {
      maskstream_stage_duration_seconds: LATENCY_BUCKETS,
      maskstream_end_to_end_latency_seconds: e2eBuckets(SLO_MS / 1000),
      maskstream_inference_queue_wait_seconds: LATENCY_BUCKETS,
    };
    let histograms = 0;
    for (const f of during.values()) {
      if (f.type !== 'histogram') continue;
      for (const s of f.series) {
        histograms++;
        const where = `${f.name}${JSON.stringify(s.labels)}`;
        const entries = [...s.buckets.entries()].sort((a, b) => a[0] - b[0]);
        expect(entries.length, where).to.be.greaterThan(1);
        expect(entries[entries.length - 1]![0], `${where} has +Inf`).to.equal(Infinity);
        for (let i = 1; i < entries.length; i++) expect(entries[i]![1], `${where} le=${entries[i]![0]}`).to.be.at.least(entries[i - 1]![1]);
        expect(entries[entries.length - 1]![1], `${where} +Inf = _count`).to.equal(Number(s.count));
        expect(Number(s.sum), `${where} _sum`).to.be.at.least(0);
        const bounds = expectedBounds[f.name];
        if (bounds) expect(entries.slice(0, -1).map((e) => e[0]), `${where} bounds`).to.deep.equal(bounds);
      }
    }
    expect(histograms, 'histogram series checked (8 stages + e2e + queue wait + nodejs gc)').to.be.at.least(10);
    const e2e = during.get('maskstream_end_to_end_latency_seconds')!.series[0]!;
    expect([...e2e.buckets.keys()], 'a bucket exactly at the SLO').to.include(SLO_MS / 1000);
    expect(Number(e2e.count), 'acks recorded').to.be.greaterThan(0);
  });

  it('counts the server stage once per processed frame, and the per-stage counts agree', () => {
    const processed = value(during, 'maskstream_frames_processed_total');
    // Counted by events, not by speed: every mask the publisher got was one processed frame,
    // and every frame sent is a mask or a drop.
    expect(processed, `processed vs masks received (${pub.framesSent} frames sent, drops ${JSON.stringify(drops)})`).to.equal(pub.masks.length);
    expect(processed + total(drops), 'processed + dropped = frames sent').to.equal(pub.framesSent);
    expect(pub.masks.at(-1)?.frameIndex, 'the last frame (never superseded) was processed').to.equal(pub.framesSent - 1);
    expect(value(during, 'maskstream_stage_duration_seconds', { stage: 'server' }), 'server stage _count').to.equal(processed);
    expect(value(during, 'maskstream_stage_duration_seconds', { stage: 'encode' }), 'encode stage _count').to.equal(processed);
    expect(value(during, 'maskstream_frames_received_total')).to.be.at.least(processed);
    expect(value(during, 'maskstream_inference_queue_wait_seconds')).to.be.at.least(processed);
  });

  it('counts what the backbone saw: the whole picture first, then crops around the person (region of interest on by default)', () => {
    const processed = value(during, 'maskstream_frames_processed_total');
    const crop = value(during, 'maskstream_roi_frames_total', { region: 'crop' });
    const whole = value(during, 'maskstream_roi_frames_total', { region: 'whole' });
    expect(crop + whole, 'every segmented frame counted once').to.be.at.least(processed);
    expect(whole, 'the first frame, then one in 30').to.be.at.least(1);
    // The clip's person is a head-and-shoulders photo well inside the frame: mostly crops.
    expect(crop, JSON.stringify({ crop, whole })).to.be.greaterThan(whole);
  });

  it('reports load, utilization, busy time, sessions, SLO and backend while the session is live', () => {
    expect(value(during, 'maskstream_sessions_active')).to.equal(1);
    expect(value(during, 'maskstream_sessions_limit')).to.equal(3);
    expect(value(during, 'maskstream_sessions_started_total', { signaling: 'ws' })).to.equal(1);
    expect(value(during, 'maskstream_mask_subscribers')).to.equal(1);
    expect(value(during, 'maskstream_latency_slo_seconds')).to.equal(SLO_MS / 1000);
    expect(value(during, 'maskstream_draining')).to.equal(0);
    const busy = value(during, 'maskstream_inference_busy_seconds_total');
    const util = value(during, 'maskstream_inference_utilization_ratio');
    const load = value(during, 'maskstream_load_ratio');
    console.log(`      busy ${busy.toFixed(2)} s, utilization ${util.toFixed(2)}, load ratio ${load.toFixed(2)}, temporal ${value(during, 'maskstream_temporal_memory_bytes')} B`);
    expect(busy).to.be.greaterThan(0);
    expect(util).to.be.within(0.01, 1);
    expect(load).to.be.within(1 / 3, 1); // at least sessions/limit
    expect(load).to.be.at.least(util);
    expect(value(during, 'maskstream_temporal_memory_bytes')).to.be.at.least(0);
    expect(value(during, 'maskstream_backend_info', { backend: server.engineInfo.backend, model: server.engineInfo.model })).to.equal(1);
    // Masks went to the data channel and to the subscriber: bytes count both receivers.
    expect(value(during, 'maskstream_mask_bytes_sent_total')).to.be.greaterThan(0);
  });
});
