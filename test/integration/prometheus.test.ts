/**
 * Monitoring proven on a real Prometheus (Debian's `prometheus` binary, 2.42 here): it scrapes a
 * running maskstream while a WHIP publisher streams and acknowledges its masks, with the
 * recording and alert rules of k8s/monitoring/prometheusrule.yaml loaded. Then, through the HTTP
 * API as Grafana would ask:
 *  - every PromQL expression of k8s/monitoring/grafana-dashboard.json (and its namespace variable,
 *    and the autoscaler's prometheus-adapter query) returns series with finite values for a
 *    moment while the stream was live, and no query errors;
 *  - every recording rule's expression does too, and so does each recorded series;
 *  - every rule evaluates with health "ok" in Prometheus' own rule manager;
 *  - the latency quantiles Prometheus computes from the histograms agree with the per-frame
 *    figures the client received (stage times in each mask message, its own end-to-end times).
 *
 * The scrape is the PodMonitor's: same path (/metrics), and the target labels the Prometheus
 * Operator gives a PodMonitor's targets (namespace, pod, container, endpoint, job =
 * <namespace>/<PodMonitor name>) set by relabeling, as the operator does from Kubernetes
 * metadata. Time is scaled down: scrape and rule evaluation every 1 s (15 s and 30 s in the
 * manifests). Grafana's variables get the values Grafana would give them here: $namespace =
 * "maskstream" (the one value its label_values query returns), $__rate_interval = 4 s (Grafana:
 * max($__interval + scrape interval, 4 × scrape interval), and $__interval is at least the data
 * source's 1 s scrape interval).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify, parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/main.js';
import { projectRoot } from '../../src/paths.js';
import { WeriftPublisher } from '../../src/testing/weriftPublisher.js';
import { generateClip } from '../../src/testing/synthClip.js';
import { DROP_REASONS, e2eBuckets, LATENCY_BUCKETS, type Stage } from '../../src/observability/metrics.js';
import { PrometheusServer, prometheusVersion, type PromSample } from '../helpers/prometheusServer.js';

const TOKEN = 'prometheus-test-token-0123456789';
const FPS = 30;
/** Seconds the publisher streams. */
const STREAM_S = 8;
/** Scrape and rule evaluation interval, s (the PodMonitor's 15 s and the rules' 30 s, scaled down). */
const SCRAPE_S = 1;
/** Grafana's $__rate_interval for that scrape interval, s. */
const RATE_INTERVAL_S = 4 * SCRAPE_S;
const NAMESPACE = 'maskstream';
const QUANTILES = [0.5, 0.95, 0.99] as const;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface RulesModule {
  readonly RULES_MANIFEST: string;
  ruleGroups(text: string): { name: string; interval?: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The dashboard's queries as Grafana sends them: variables replaced. */
function dashboardQueries(): { panel: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(path.join(projectRoot(), 'k8s', 'monitoring', 'grafana-dashboard.json'), 'utf8')) as Obj;
  return (dash.panels as Obj[]).filter((p) => p.type !== 'row').flatMap((p) => (p.targets as Obj[]).map((t) => ({
    panel: p.title as string,
    expr: (t.expr as string).replaceAll('$__rate_interval', `${RATE_INTERVAL_S}s`).replaceAll('$namespace', NAMESPACE),
  })));
}

/** The prometheus-adapter query behind the HPA, filled as the adapter fills it for one pod. */
function adapterQuery(): string {
  const values = parse(readFileSync(path.join(projectRoot(), 'k8s', 'autoscaling', 'prometheus-adapter-values.yaml'), 'utf8')) as Obj;
  const rule = (values.rules.custom as Obj[])[0]!;
  return (rule.metricsQuery as string).replaceAll('<<.Series>>', 'maskstream_load_ratio')
    .replaceAll('<<.LabelMatchers>>', `namespace="${NAMESPACE}",pod=~"maskstream-.*"`).replaceAll('<<.GroupBy>>', 'pod');
}

/** The k-th smallest of `values` with k = ceil(q·n): the observation histogram_quantile's bucket must hold. */
function empiricalQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** The histogram bucket (lower, upper], seconds, that holds `v` seconds. */
function bucketOf(bounds: readonly number[], v: number): [number, number] {
  let lower = 0;
  for (const b of bounds) {
    if (v <= b) return [lower, b];
    lower = b;
  }
  return [lower, Infinity];
}

describe('monitoring on a real Prometheus: dashboard queries, recording rules, latency quantiles', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let prom: PrometheusServer | undefined;
  let pub: WeriftPublisher | undefined;
  /** A moment while the stream was live, with enough scrapes in the rate window, unix s. */
  let liveAt = 0;
  /** The scrape after the last acknowledgement was counted, unix s. */
  let endAt = 0;
  let groups: Awaited<ReturnType<RulesModule['ruleGroups']>>;

  before(async () => {
    const version = prometheusVersion(); // fails (with the apt-get line) when it is not installed
    const rules = (await import(pathToFileURL(path.join(projectRoot(), 'scripts', 'prometheus-rules.mjs')).href)) as RulesModule;
    groups = rules.ruleGroups(readFileSync(rules.RULES_MANIFEST, 'utf8'));
    server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn', whipToken: TOKEN, maxSessions: 3 });
    // The PodMonitor's endpoint as a static target. Relabeling sets the target labels the
    // operator derives from the pod (namespace, container, pod; job from the PodMonitor's
    // namespace/name; endpoint from the port name).
    const relabel = Object.entries({ namespace: NAMESPACE, container: 'maskstream', pod: 'maskstream-0', job: 'maskstream/maskstream', endpoint: 'http' })
      .map(([target_label, replacement]) => ({ target_label, replacement }));
    const config = stringify({
      global: { scrape_interval: `${SCRAPE_S}s`, evaluation_interval: `${SCRAPE_S}s` },
      rule_files: ['maskstream.rules.yaml'],
      scrape_configs: [{
        job_name: 'podMonitor/maskstream/maskstream/0',
        metrics_path: '/metrics',
        scrape_interval: `${SCRAPE_S}s`,
        scrape_timeout: `${SCRAPE_S}s`,
        static_configs: [{ targets: [new URL(server.url).host] }],
        relabel_configs: relabel,
      }],
    });
    // The manifest's rules; group intervals scaled down like the scrape (30 s → 1 s).
    const scaled = stringify({ groups: groups.map((g) => ({ ...g, interval: `${SCRAPE_S}s` })) });
    prom = await PrometheusServer.start(config, { 'maskstream.rules.yaml': scaled });
    console.log(`      ${version}, scraping ${server.url}/metrics every ${SCRAPE_S} s`);
    // Prometheus' first scrape comes up to ~5 s after it is ready (target discovery updates are
    // batched). The stream starts only after two scrapes: every counter's first sample is then its
    // value before the stream (0), so rate() extrapolates all of them alike. (When the first sample
    // already counts observations, rate() extrapolates each series toward its own zero point and
    // the SLO error ratio 1 - rate(bucket)/rate(count) can leave 0..1: seen at -0.15 here.)
    const scraped = Date.now() + 60_000;
    for (;;) {
      const [n] = await prom.query(`count_over_time(up{job="maskstream/maskstream"}[1m])`, Date.now() / 1000);
      if (n && Number(n.value[1]) >= 2) break;
      if (Date.now() > scraped) throw new Error(`Prometheus did not scrape ${server.url}/metrics twice within 60 s:\n${prom.log}`);
      await sleep(250);
    }

    // A live stream: a WHIP publisher whose mask subscriber acknowledges every mask with its
    // end-to-end latency (the e2e histogram), VP8 at 30 fps.
    const clip = await generateClip({ frames: 60, width: 640, height: 480, fps: FPS, speedPxPerFrame: 4, seed: 9 });
    pub = new WeriftPublisher({ url: server.url, codec: 'vp8', frames: clip.frames, fps: FPS, totalFrames: FPS * STREAM_S, signaling: 'whip', token: TOKEN });
    await pub.connect();
    const started = Date.now() / 1000;
    await pub.run();
    const stopped = Date.now() / 1000;
    // Every frame's mask in (or given up on), then quiet for a second: nothing in flight when the
    // publisher DELETEs, so the client's figures are exactly what the server observed.
    await waitFor(() => pub!.masks.length >= pub!.framesSent - 2, 5000);
    for (let n = -1; n !== pub.masks.length;) {
      n = pub.masks.length;
      await sleep(1000);
    }
    await pub.close(); // DELETE
    const acked = pub.masks.filter((m) => m.e2eMs >= 0).length;

    // Wait (polling, no fixed sleep) for the scrape that saw every acknowledgement and the session gone.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = Date.now() / 1000;
      const [count] = await prom.query('maskstream_end_to_end_latency_seconds_count', now);
      const [active] = await prom.query('maskstream_sessions_active', now);
      if (count && Number(count.value[1]) === acked && active && Number(active.value[1]) === 0) {
        endAt = count.value[0];
        break;
      }
      if (Date.now() > deadline) throw new Error(`Prometheus never scraped ${acked} acknowledgements (last: ${count?.value[1]}):\n${prom.log}`);
      await sleep(250);
    }
    // A live moment: the first second, from 5 s into the stream, whose rate window holds at least
    // three scrapes (a busy machine may delay one).
    for (let t = Math.ceil(started) + 5; t <= Math.floor(stopped); t++) {
      const [n] = await prom.query(`count_over_time(up{job="maskstream/maskstream"}[${RATE_INTERVAL_S}s])`, t);
      if (n && Number(n.value[1]) >= 3) {
        liveAt = t;
        break;
      }
    }
    expect(liveAt, `a second of the ${STREAM_S} s stream with ≥ 3 scrapes in ${RATE_INTERVAL_S} s`).to.be.greaterThan(0);
    console.log(`      stream ${started.toFixed(0)}–${stopped.toFixed(0)} s, ${pub.masks.length} masks, ${acked} acknowledged; live moment ${liveAt}, final scrape ${endAt}`);
  });

  after(async () => {
    await pub?.close();
    await prom?.stop();
    await server?.close();
  });

  /** Instant query that must return ≥ 1 series, every value finite; returns them. */
  async function mustHaveData(expr: string, time: number, what: string): Promise<PromSample[]> {
    const result = await prom!.query(expr, time);
    expect(result.length, `${what}: ${expr} returned no series at ${time}`).to.be.greaterThan(0);
    for (const s of result) expect(Number.isFinite(Number(s.value[1])), `${what}: ${expr} ${JSON.stringify(s.metric)} = ${s.value[1]}`).to.equal(true);
    return result;
  }

  it('scrapes the server as the PodMonitor would: path /metrics, the operator\'s target labels, up', async () => {
    const targets = await prom!.api<{ activeTargets: Obj[] }>('targets', { state: 'active' });
    expect(targets.activeTargets.length).to.equal(1);
    const t = targets.activeTargets[0]!;
    expect(t.health, String(t.lastError)).to.equal('up');
    expect(new URL(t.scrapeUrl as string).pathname).to.equal('/metrics');
    expect(t.labels).to.include({ namespace: NAMESPACE, pod: 'maskstream-0', container: 'maskstream', endpoint: 'http', job: 'maskstream/maskstream' });
    const [up] = await mustHaveData('up{job="maskstream/maskstream"}', liveAt, 'target');
    expect(up!.value[1]).to.equal('1');
  });

  it('returns series for every dashboard query while the stream is live (the drops panel: exactly the reasons that dropped)', async () => {
    const queries = dashboardQueries();
    const listed: string[] = [];
    // Grafana's namespace variable: label_values(maskstream_backend_info, namespace).
    const ns = await prom!.api<string[]>('label/namespace/values', { 'match[]': 'maskstream_backend_info', start: String(liveAt - 60), end: String(liveAt) });
    expect(ns).to.deep.equal([NAMESPACE]);
    for (const { panel, expr } of queries) {
      if (expr.endsWith(' > 0')) {
        // "Frames dropped per second, by reason" hides reasons at 0 (`> 0`), so on a healthy stream
        // it may legitimately return nothing. Its unfiltered expression must return every reason
        // (the counters exist at 0 from start-up), and the panel exactly those above 0.
        const unfiltered = await mustHaveData(expr.slice(0, -4), liveAt, panel);
        const filtered = await prom!.query(expr, liveAt);
        expect(unfiltered.length, `${panel}: one series per drop reason`).to.equal(DROP_REASONS.length);
        const positive = unfiltered.filter((s) => Number(s.value[1]) > 0).map((s) => s.metric.reason).sort();
        expect(filtered.map((s) => s.metric.reason).sort(), panel).to.deep.equal(positive);
        listed.push(`${filtered.length}/${unfiltered.length} series  ${expr}`);
        continue;
      }
      const result = await mustHaveData(expr, liveAt, `panel "${panel}"`);
      listed.push(`${result.length} series  ${expr}`);
    }
    const adapter = adapterQuery();
    const hpa = await mustHaveData(adapter, liveAt, 'prometheus-adapter (HPA)');
    expect(hpa.map((s) => s.metric.pod)).to.deep.equal(['maskstream-0']);
    listed.push(`${hpa.length} series  ${adapter}   (prometheus-adapter)`);
    console.log(`      ${queries.length} dashboard queries + the namespace variable + the adapter query, at ${liveAt}:\n${listed.map((l) => '        ' + l).join('\n')}`);
    expect(queries.length).to.be.at.least(25);
  });

  it('returns series for every recording rule, evaluated by hand and as recorded by Prometheus', async () => {
    const recording = groups.flatMap((g) => g.rules).filter((r) => r.record);
    expect(recording.length).to.equal(7);
    for (const r of recording) {
      const byHand = await mustHaveData(r.expr, liveAt, `recording rule ${r.record}`);
      expect(byHand.map((s) => s.metric), r.record).to.deep.equal([{ namespace: NAMESPACE }]);
      const recorded = await mustHaveData(r.record!, liveAt, `recorded ${r.record}`);
      expect(recorded[0]!.metric).to.deep.equal({ __name__: r.record, namespace: NAMESPACE });
      // The error ratio is a share: 0..1.
      expect(Number(recorded[0]!.value[1]), r.record).to.be.within(0, 1);
    }
    console.log(`      ${recording.length} recording rules: ${recording.map((r) => r.record!.split(':').pop()).join(', ')}`);
  });

  it('evaluates every recording and alert rule without error in Prometheus\' rule manager', async () => {
    const data = await prom!.api<{ groups: { name: string; rules: Obj[] }[] }>('rules');
    const loaded = data.groups.flatMap((g) => g.rules);
    expect(loaded.length).to.equal(groups.reduce((n, g) => n + g.rules.length, 0));
    for (const r of loaded) {
      expect(r.health, `${r.name}: ${String(r.lastError)}`).to.equal('ok');
      expect(new Date(r.lastEvaluation as string).getTime(), `${r.name} evaluated`).to.be.greaterThan(0);
    }
  });

  it('computes latency quantiles that agree with the per-frame figures the client received (same histogram bucket)', async () => {
    const masks = pub!.masks;
    const stageOf: [Stage, (t: (typeof masks)[number]['msg']['timings']) => number][] = [
      ['preprocess', (t) => t.preprocessMs], ['inference', (t) => t.inferenceMs], ['temporal', (t) => t.temporalMs],
      ['encode', (t) => t.encodeMs], ['server', (t) => t.serverMs],
    ];
    const cases: { name: string; selector: string; bounds: readonly number[]; values: number[] }[] = [
      // The client's own measure (frame sent → mask received), which it acknowledged.
      { name: 'end to end', selector: 'maskstream_end_to_end_latency_seconds_bucket', bounds: e2eBuckets(server.config.latencySloMs / 1000), values: masks.filter((m) => m.e2eMs >= 0).map((m) => m.e2eMs / 1000) },
      // Stage times carried in every mask message (f32 ms), observed once per mask sent.
      ...stageOf.map(([stage, get]) => ({ name: stage, selector: `maskstream_stage_duration_seconds_bucket{stage="${stage}"}`, bounds: LATENCY_BUCKETS, values: masks.map((m) => get(m.msg.timings) / 1000) })),
    ];
    const rows: string[] = [];
    for (const c of cases) {
      // The histogram since start-up, at the scrape after the last acknowledgement: this fresh
      // server's only stream, so Prometheus and the client count the same frames.
      const [count] = await mustHaveData(`sum(${c.selector.replace('_bucket', '_count')})`, endAt, c.name);
      expect(Number(count!.value[1]), `${c.name}: observations in Prometheus = figures at the client`).to.equal(c.values.length);
      for (const q of QUANTILES) {
        const [r] = await mustHaveData(`histogram_quantile(${q}, sum by (le) (${c.selector}))`, endAt, `${c.name} p${q * 100}`);
        const fromPrometheus = Number(r!.value[1]);
        const fromClient = empiricalQuantile(c.values, q);
        const [lo, hi] = bucketOf(c.bounds, fromPrometheus);
        rows.push(`${c.name} p${q * 100}: Prometheus ${(fromPrometheus * 1000).toFixed(2)} ms, client ${(fromClient * 1000).toFixed(2)} ms, bucket (${lo * 1000}, ${hi * 1000}] ms`);
        // histogram_quantile interpolates inside the bucket where the rank falls; the client's
        // observation of that rank must lie in the same bucket (its width is the tolerance).
        const inBucket = (lo === 0 ? fromClient >= 0 : fromClient > lo) && fromClient <= hi;
        expect(inBucket, `${c.name} p${q * 100}: client ${fromClient} s outside Prometheus' bucket (${lo}, ${hi}] (estimate ${fromPrometheus})`).to.equal(true);
      }
    }
    console.log(rows.map((r) => '      ' + r).join('\n'));
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(50);
}
