/**
 * Offline validation of k8s/ (no cluster, no kubectl here). Every YAML document parses (yaml) and
 * is validated against the OpenAPI/JSON schema of its apiVersion and kind from kubernetes-models
 * (Kubernetes' own OpenAPI spec) and its CRD packages @kubernetes-models/prometheus-operator and
 * @kubernetes-models/gateway-api — types, enums, patterns and required fields, plus unknown fields
 * as `kubectl apply --validate=strict` rejects them; a kind without a published schema must be
 * listed in NO_SCHEMA with the reason. On top of that: cross-references resolve (selectors,
 * Secrets, Services, Gateway hierarchy), the ConfigMap passes the server's own config parser,
 * drain fits in the grace period, and every metric name in the PromQL of the alert rules, the
 * Grafana dashboard and the autoscaler exists in METRIC_CATALOG with documented labels — parsed
 * with Prometheus' own PromQL grammar (@prometheus-io/lezer-promql), so a renamed metric fails here.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { projectRoot } from '../../../src/paths.js';
import { DEFAULTS, describeConfig, loadConfig } from '../../../src/config.js';
import { METRIC_CATALOG } from '../../../src/observability/metrics.js';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { GatewayClass } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GatewayClass';

const K8S = path.join(projectRoot(), 'k8s');
/** Labels Prometheus adds to every scraped series (target labels), usable in any selector. */
const TARGET_LABELS = new Set(['namespace', 'pod', 'container', 'job', 'instance', 'endpoint', 'service']);
/** Series Prometheus itself produces. */
const EXTERNAL_METRICS = new Set(['up']);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A kubernetes-models class: its statics name the kind, its validate() runs the schema's validator. */
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(): void };
}
/** The schema for each `apiVersion kind` used in k8s/ (a document of any other kind fails unless in NO_SCHEMA). */
const SCHEMAS = new Map<string, ModelClass>(
  [Namespace, ConfigMap, Secret, Service, Deployment, PodDisruptionBudget, HorizontalPodAutoscaler, PodMonitor, PrometheusRule, GatewayClass, Gateway]
    .map((m): [string, ModelClass] => [`${m.apiVersion} ${m.kind}`, m]),
);
/** Kinds in k8s/ that no maintained npm package publishes a schema for; their content is checked by the hand-written tests below. */
const NO_SCHEMA = new Map<string, string>([
  ['kustomize.config.k8s.io/v1beta1 Kustomization', 'a kustomize build file, not an API object: not in the Kubernetes OpenAPI spec, and no maintained npm package ships a schema for it (listed files are checked to exist below)'],
  ['stunner.l7mp.io/v1 GatewayConfig', 'STUNner CRD: its schema ships only in the STUNner operator\'s Helm chart, no npm package has it (wiring checked below)'],
  ['stunner.l7mp.io/v1 UDPRoute', 'STUNner\'s own UDPRoute CRD (not Gateway API\'s gateway.networking.k8s.io UDPRoute): no npm package has its schema (wiring checked below)'],
]);

/**
 * Schema errors of `obj`, empty when it is valid. kubernetes-models' validators (ajv, compiled from
 * the OpenAPI schemas) check types, enums, patterns and required fields but let through properties
 * the schema does not declare, which `kubectl apply` (--validate=strict, its default) rejects. So the
 * validator runs on a Proxy that records what it looks up: an object whose declared properties it
 * looked up one by one and whose keys it never listed (it lists them for maps: additionalProperties)
 * must have no other key. Objects it looked nothing up in (free-form ones) are not judged, nor are
 * keys named `description`: the package's generator strips that JSON Schema keyword and with it every
 * property of that name (GatewayClass spec.description, PriorityClass description), unchecked there.
 */
function schemaErrors(model: ModelClass, obj: Obj): string[] {
  const seen = new WeakMap<object, { read: Set<string>; listed: boolean }>();
  const proxies = new WeakMap<object, object>();
  const wrap = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    const cached = proxies.get(v);
    if (cached) return cached;
    const t = { read: new Set<string>(), listed: false };
    seen.set(v, t);
    const p = new Proxy(v, {
      get: (o, k) => {
        if (typeof k === 'string') t.read.add(k);
        return wrap(Reflect.get(o, k));
      },
      has: (o, k) => {
        if (typeof k === 'string') t.read.add(k);
        return Reflect.has(o, k);
      },
      ownKeys: (o) => {
        t.listed = true;
        return Reflect.ownKeys(o);
      },
    });
    proxies.set(v, p);
    return p;
  };
  // The document as an instance of the model (own keys unchanged): some model packages
  // (@kubernetes-models/base 4, under gateway-api 0.5) find the schema through the prototype and
  // validate nothing on a plain object.
  const doc = Object.assign(Object.create(model.prototype) as Obj, obj);
  const errors: string[] = [];
  try {
    model.prototype.validate.call(wrap(doc));
  } catch (e) {
    errors.push((e as Error).message);
  }
  const unknown = (v: unknown, at: string): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach((x, i) => unknown(x, `${at}/${i}`));
    const t = seen.get(v);
    for (const [k, x] of Object.entries(v)) {
      if (t && !t.listed && t.read.size > 0 && !t.read.has(k) && k !== 'description') errors.push(`data${at}/${k} is not a field of the schema`);
      else unknown(x, `${at}/${k}`);
    }
  };
  unknown(doc, '');
  return errors;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

interface Doc {
  readonly file: string;
  readonly obj: Obj;
}

function loadDocs(): { manifests: Doc[]; values: Doc[] } {
  const manifests: Doc[] = [];
  const values: Doc[] = [];
  for (const file of walk(K8S).filter((f) => f.endsWith('.yaml'))) {
    const rel = path.relative(projectRoot(), file);
    // promtool unit tests of the alert rules, not manifests (test/unit/ops/alertRules.test.ts runs them).
    if (rel.startsWith(path.join('k8s', 'monitoring', 'tests') + path.sep)) continue;
    for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
      expect(d.errors.map((e) => e.message), `${rel} parses`).to.deep.equal([]);
      const obj = d.toJS() as Obj | null;
      if (obj === null) continue;
      (rel.endsWith('-values.yaml') ? values : manifests).push({ file: rel, obj });
    }
  }
  return { manifests, values };
}

/** Every metric name and its equality label matchers in a PromQL expression; fails on syntax errors. */
function promqlSelectors(expr: string, where: string): { name: string; matchers: { label: string; op: string; value: string }[] }[] {
  const tree = promql.parse(expr);
  const out: { name: string; matchers: { label: string; op: string; value: string }[] }[] = [];
  const c = tree.cursor();
  const errors: string[] = [];
  do {
    if (c.type.isError) errors.push(`syntax error at ${c.from}: "${expr.slice(Math.max(0, c.from - 20), c.from + 20)}"`);
    if (c.name === 'VectorSelector') {
      const node = c.node;
      const id = node.getChild('Identifier');
      const matchers: { label: string; op: string; value: string }[] = [];
      const list = node.getChild('LabelMatchers');
      for (const m of list?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = m.getChild('LabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChild('StringLiteral');
        if (label && op && value) matchers.push({ label: expr.slice(label.from, label.to), op: expr.slice(op.from, op.to), value: JSON.parse(expr.slice(value.from, value.to)) as string });
      }
      if (id) out.push({ name: expr.slice(id.from, id.to), matchers });
    }
  } while (c.next());
  expect(errors, `${where}: ${expr}`).to.deep.equal([]);
  return out;
}

/** Checks every selector of `expr` against METRIC_CATALOG (or the recording rules); returns the metric names used. */
function checkPromql(expr: string, where: string, recorded: Set<string>): string[] {
  const names: string[] = [];
  for (const sel of promqlSelectors(expr, where)) {
    names.push(sel.name);
    if (recorded.has(sel.name) || EXTERNAL_METRICS.has(sel.name)) continue;
    const base = sel.name.replace(/_(bucket|sum|count)$/, '');
    const doc = METRIC_CATALOG.find((m) => m.name === sel.name) ?? METRIC_CATALOG.find((m) => m.name === base && m.type === 'histogram');
    expect(doc, `${where}: metric ${sel.name} is not in METRIC_CATALOG (src/observability/metrics.ts)`).to.not.equal(undefined);
    for (const m of sel.matchers) {
      if (TARGET_LABELS.has(m.label)) continue;
      if (m.label === 'le') {
        expect(sel.name.endsWith('_bucket'), `${where}: le on ${sel.name}`).to.equal(true);
        continue;
      }
      const allowed = doc!.labels[m.label];
      expect(allowed, `${where}: ${sel.name} has no label "${m.label}"`).to.not.equal(undefined);
      if (m.op === '=' || m.op === '!=') expect(allowed, `${where}: ${sel.name}{${m.label}="${m.value}"}`).to.include(m.value);
      else for (const alt of m.value.split('|')) expect(allowed, `${where}: ${sel.name}{${m.label}=~"…${alt}…"}`).to.include(alt);
    }
  }
  return names;
}

describe('k8s manifests, alert rules, dashboard and autoscaler (offline)', () => {
  const { manifests, values } = loadDocs();
  const byKind = (kind: string) => manifests.filter((d) => d.obj.kind === kind);
  const one = (kind: string, name?: string) => {
    const found = byKind(kind).filter((d) => name === undefined || d.obj.metadata.name === name);
    expect(found.length, `${kind} ${name ?? ''}`).to.equal(1);
    return found[0]!.obj;
  };
  const rules = byKind('PrometheusRule').flatMap((d) => (d.obj.spec.groups as Obj[]).flatMap((g) => g.rules as Obj[]));
  const recorded = new Set(rules.filter((r) => r.record).map((r) => r.record as string));

  it('parses every document, each with apiVersion, kind and metadata.name', () => {
    expect(manifests.length).to.be.greaterThan(15);
    for (const { file, obj } of manifests) {
      expect(obj.apiVersion, `${file}: apiVersion`).to.be.a('string');
      expect(obj.kind, `${file}: kind`).to.be.a('string');
      if (obj.kind !== 'Kustomization') expect(obj.metadata?.name, `${file} ${obj.kind}: metadata.name`).to.be.a('string');
    }
    const kinds = new Set(manifests.map((d) => `${d.obj.apiVersion} ${d.obj.kind}`));
    for (const k of [
      'apps/v1 Deployment', 'v1 Service', 'v1 ConfigMap', 'policy/v1 PodDisruptionBudget', 'autoscaling/v2 HorizontalPodAutoscaler',
      'monitoring.coreos.com/v1 PodMonitor', 'monitoring.coreos.com/v1 PrometheusRule', 'gateway.networking.k8s.io/v1 GatewayClass',
      'stunner.l7mp.io/v1 GatewayConfig', 'gateway.networking.k8s.io/v1 Gateway', 'stunner.l7mp.io/v1 UDPRoute',
    ]) expect([...kinds], k).to.include(k);
  });

  it('validates every document against the schema of its apiVersion and kind, or says why there is none', () => {
    const failures: string[] = [];
    const validated = new Set<string>();
    for (const { file, obj } of manifests) {
      const key = `${obj.apiVersion} ${obj.kind}`;
      const model = SCHEMAS.get(key);
      if (model === undefined) {
        expect(NO_SCHEMA.has(key), `${file}: no schema for ${key}: add its kubernetes-models class to SCHEMAS, or the kind to NO_SCHEMA with the reason`).to.equal(true);
        continue;
      }
      validated.add(key);
      for (const e of schemaErrors(model, obj)) failures.push(`${file} ${key} ${obj.metadata?.name}: ${e}`);
    }
    expect(failures).to.deep.equal([]);
    expect([...validated].sort(), 'every schema in SCHEMAS is used').to.deep.equal([...SCHEMAS.keys()].sort());
    const present = manifests.map((d) => `${d.obj.apiVersion} ${d.obj.kind}`);
    for (const k of NO_SCHEMA.keys()) expect(present, `NO_SCHEMA lists ${k}, which k8s/ no longer has`).to.include(k);
  });

  it('rejects broken documents: wrong types, missing required fields, unknown fields, bad CRD values', () => {
    const dep = structuredClone(one('Deployment', 'maskstream'));
    dep.spec.replicas = 'two';
    delete dep.spec.template.spec.containers[0].name;
    const errors = schemaErrors(Deployment, dep).join('\n');
    expect(errors).to.match(/data\/spec\/replicas must be integer/);
    expect(errors).to.match(/data\/spec\/template\/spec\/containers\/0 must have required property '?name'?/);

    // Typos kubectl --validate=strict rejects; keys of maps (labels, resources) stay free.
    const typo = structuredClone(one('Deployment', 'maskstream'));
    typo.spec.replica = 3;
    typo.spec.template.spec.containers[0].readinessprobe = typo.spec.template.spec.containers[0].readinessProbe;
    typo.spec.template.metadata.labels['example.com/any-label'] = 'x';
    typo.spec.template.spec.containers[0].resources.limits['example.com/any-device'] = 1;
    expect(schemaErrors(Deployment, typo)).to.have.members([
      'data/spec/replica is not a field of the schema',
      'data/spec/template/spec/containers/0/readinessprobe is not a field of the schema',
    ]);

    // CRD schemas: Prometheus Operator and Gateway API.
    const rule = structuredClone(one('PrometheusRule'));
    rule.spec.groups[1].rules[0].for = 'ten minutes';
    expect(schemaErrors(PrometheusRule, rule).join('\n')).to.match(/data\/spec\/groups\/1\/rules\/0\/for must match pattern/);
    const gw = structuredClone(one('Gateway'));
    delete gw.spec.listeners[0].port;
    expect(schemaErrors(Gateway, gw).join('\n')).to.match(/data\/spec\/listeners\/0 must have required property '?port'?/);
    const gwTypo = structuredClone(one('Gateway'));
    gwTypo.spec.listeners[0].prot = gwTypo.spec.listeners[0].protocol;
    expect(schemaErrors(Gateway, gwTypo)).to.deep.equal(['data/spec/listeners/0/prot is not a field of the schema']);
    // Every schema judges: a document of each kind with a wrong-typed metadata fails.
    for (const model of SCHEMAS.values()) {
      expect(schemaErrors(model, { apiVersion: model.apiVersion, kind: model.kind, metadata: 'x' }), `${model.apiVersion} ${model.kind}`).to.not.deep.equal([]);
    }
  });

  it('lists only existing files in each kustomization', () => {
    for (const { file, obj } of manifests.filter((d) => d.obj.kind === 'Kustomization')) {
      const dir = path.dirname(path.join(projectRoot(), file));
      const listed = [...(obj.resources ?? []), ...((obj.configMapGenerator ?? []) as Obj[]).flatMap((g) => g.files as string[])];
      for (const r of listed) expect(walk(dir).map((f) => path.relative(dir, f)), `${file}: ${r}`).to.include(r);
    }
  });

  it('has a ConfigMap the server accepts, and a Deployment that wires it correctly', () => {
    const cm = one('ConfigMap', 'maskstream-config');
    const known = new Set(describeConfig().map((r) => r.env));
    for (const k of Object.keys(cm.data)) expect(known, `ConfigMap key ${k} is a MASKSTREAM_* setting`).to.include(k);
    const config = loadConfig({ env: cm.data as NodeJS.ProcessEnv }); // throws ConfigError on any bad value
    expect(config.port).to.equal(8080);

    const dep = one('Deployment', 'maskstream');
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    const labels = dep.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(dep.spec.selector.matchLabels)) expect(labels[k], `selector ${k}`).to.equal(v);
    expect(c.image).to.match(/:.+-gpu$/);
    expect(c.ports.find((p: Obj) => p.name === 'http').containerPort).to.equal(config.port);
    expect(c.readinessProbe.httpGet.path).to.equal('/readyz');
    expect(c.livenessProbe.httpGet.path).to.equal('/healthz');
    expect(c.resources.limits['nvidia.com/gpu']).to.equal(1);
    expect(c.resources.requests.memory).to.be.a('string');
    expect(pod.tolerations.map((t: Obj) => t.key)).to.include('nvidia.com/gpu');
    expect(pod.nodeSelector).to.be.an('object');
    expect(pod.securityContext.runAsNonRoot).to.equal(true);
    for (const e of c.env as Obj[]) if (e.name.startsWith('MASKSTREAM_')) expect(known, `env ${e.name}`).to.include(e.name);
    expect(c.envFrom[0].configMapRef.name).to.equal(cm.metadata.name);
    // Drain fits: preStop sleep + drainTimeoutMs < terminationGracePeriodSeconds.
    const preStopS = Number(c.lifecycle.preStop.exec.command[1]);
    expect(pod.terminationGracePeriodSeconds * 1000, 'grace period covers preStop + drain + 10 s').to.be.at.least(preStopS * 1000 + config.drainTimeoutMs + 10_000);
    // Secrets referenced exist as (example) Secrets with those keys.
    const secret = one('Secret', 'maskstream-secrets');
    for (const e of (c.env as Obj[]).filter((x) => x.valueFrom?.secretKeyRef)) {
      expect(e.valueFrom.secretKeyRef.name).to.equal('maskstream-secrets');
      expect(Object.keys(secret.stringData)).to.include(e.valueFrom.secretKeyRef.key);
    }
    expect(() => loadConfig({ env: secret.stringData as NodeJS.ProcessEnv }), 'example secret values are valid settings').to.not.throw();
    expect(c.env.find((e: Obj) => e.name === 'MASKSTREAM_PUBLIC_URL').value).to.contain('$(POD_IP)');
    // The SLO bucket in the rules is the configured SLO.
    expect(config.latencySloMs).to.equal(DEFAULTS.latencySloMs);
    for (const r of rules.filter((x) => /end_to_end_latency_seconds_bucket/.test(x.expr))) expect(r.expr).to.contain(`le="${config.latencySloMs / 1000}"`);
  });

  it('selects the Deployment\'s pods from the Services, PDB and PodMonitor; the HPA targets the Deployment', () => {
    const dep = one('Deployment', 'maskstream');
    const labels = dep.spec.template.metadata.labels;
    const matches = (sel: Obj) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    for (const s of byKind('Service').filter((d) => d.obj.metadata.namespace === 'maskstream')) expect(matches(s.obj.spec.selector), s.obj.metadata.name).to.equal(true);
    expect(matches(one('PodDisruptionBudget').spec.selector.matchLabels)).to.equal(true);
    const pm = one('PodMonitor');
    expect(matches(pm.spec.selector.matchLabels)).to.equal(true);
    expect(dep.spec.template.spec.containers[0].ports.map((p: Obj) => p.name)).to.include(pm.spec.podMetricsEndpoints[0].port);
    expect(pm.spec.podMetricsEndpoints[0].path).to.equal('/metrics');
    const media = one('Service', 'maskstream-media');
    expect(media.spec.publishNotReadyAddresses, 'draining pods keep their media path').to.equal(true);

    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).to.include({ kind: 'Deployment', name: dep.metadata.name });
    expect(hpa.spec.metrics.some((m: Obj) => m.type === 'Resource'), 'not CPU alone').to.equal(false);
    const metricName = hpa.spec.metrics[0].pods.metric.name as string;
    expect(METRIC_CATALOG.map((m) => m.name)).to.include(metricName);
    const adapter = values.find((v) => v.file.endsWith('prometheus-adapter-values.yaml'))!.obj;
    expect(adapter.rules.custom.map((r: Obj) => r.name.as)).to.include(metricName);
  });

  it('wires the STUNner gateway hierarchy to the maskstream media Service', () => {
    const cfg = one('GatewayConfig');
    const cls = one('GatewayClass');
    expect(cls.spec.controllerName).to.equal('stunner.l7mp.io/gateway-operator');
    expect(cls.spec.parametersRef).to.include({ kind: 'GatewayConfig', name: cfg.metadata.name, namespace: cfg.metadata.namespace });
    const gw = one('Gateway');
    expect(gw.spec.gatewayClassName).to.equal(cls.metadata.name);
    expect(gw.spec.listeners[0].protocol).to.match(/^TURN-(UDP|TCP|TLS|DTLS)$/);
    const route = one('UDPRoute');
    expect(route.spec.parentRefs[0].name).to.equal(gw.metadata.name);
    const backend = route.spec.rules[0].backendRefs[0];
    const svc = one('Service', backend.name);
    expect(svc.metadata.namespace).to.equal(backend.namespace);
    const auth = one('Secret', cfg.spec.authRef.name);
    expect(auth.stringData.type).to.equal('static');
    const cm = one('ConfigMap', 'maskstream-config');
    expect(auth.stringData.username, 'TURN user offered to WHIP clients').to.equal(cm.data.MASKSTREAM_CLIENT_ICE_USERNAME);
    expect(cm.data.MASKSTREAM_CLIENT_ICE_SERVERS).to.match(new RegExp(`:${gw.spec.listeners[0].port}\\b`));
    expect(cm.data.MASKSTREAM_ICE_SERVERS, 'asymmetric ICE: the server uses no STUN/TURN').to.equal('');
  });

  it('gives every alert a severity and a summary, and only known metrics and label values in the rules', () => {
    const alerts = rules.filter((r) => r.alert);
    expect(alerts.map((a) => a.alert)).to.include.members([
      'MaskstreamLatencySLOBurnFast', 'MaskstreamLatencySLOBurnSlow', 'MaskstreamFrameDropsHigh', 'MaskstreamNoFramesProcessed',
      'MaskstreamInferenceWorkerRestarts',
    ]);
    for (const a of alerts) {
      expect(a.labels?.severity, a.alert).to.be.oneOf(['critical', 'warning', 'info']);
      expect(a.annotations?.summary, a.alert).to.be.a('string');
    }
    const used = new Set<string>();
    for (const r of rules) for (const n of checkPromql(r.expr as string, `rule ${r.alert ?? r.record}`, recorded)) used.add(n);
    for (const name of recorded) expect(name, 'recording rule name: level:metric:operations').to.match(/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
    // The burn-rate alerts read the recorded SLO error ratios, which read the SLO bucket.
    expect([...used]).to.include('maskstream_end_to_end_latency_seconds_bucket');
    expect([...used]).to.include('maskstream_inference_worker_restarts_total');
  });

  it('uses only known metrics in the Grafana dashboard, with per-stage quantiles and every required panel', () => {
    const dash = JSON.parse(readFileSync(path.join(K8S, 'monitoring', 'grafana-dashboard.json'), 'utf8')) as Obj;
    const panels = (dash.panels as Obj[]).filter((p) => p.type !== 'row');
    const exprs = panels.flatMap((p) => (p.targets as Obj[]).map((t) => ({ panel: p.title as string, expr: t.expr as string })));
    const used = new Set<string>();
    for (const { panel, expr } of exprs) {
      // Grafana variables are not PromQL: give them concrete values first.
      const concrete = expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', 'maskstream');
      for (const n of checkPromql(concrete, `dashboard "${panel}"`, recorded)) used.add(n);
    }
    for (const q of ['0.5', '0.95', '0.99']) {
      expect(exprs.some((e) => e.expr.includes(`histogram_quantile(${q}, sum by (le, stage) (rate(maskstream_stage_duration_seconds_bucket`)), `per-stage p${q}`).to.equal(true);
    }
    for (const m of ['maskstream_end_to_end_latency_seconds_bucket', 'maskstream_frames_processed_total', 'maskstream_frames_dropped_total',
      'maskstream_sessions_active', 'maskstream_sessions_refused_total', 'maskstream_load_ratio', 'maskstream_backend_info']) {
      expect([...used], `dashboard shows ${m}`).to.include(m);
    }
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size, 'unique panel ids').to.equal(ids.length);
  });

  it('serves the autoscaling metric through prometheus-adapter with a valid query', () => {
    const adapter = values.find((v) => v.file.endsWith('prometheus-adapter-values.yaml'))!.obj;
    for (const r of adapter.rules.custom as Obj[]) {
      const series = checkPromql(r.seriesQuery, 'adapter seriesQuery', recorded);
      expect(series.length).to.equal(1);
      // The adapter's Go templates, filled the way it fills them for one pod.
      const query = (r.metricsQuery as string).replaceAll('<<.Series>>', series[0]!).replaceAll('<<.LabelMatchers>>', 'namespace="maskstream",pod=~"maskstream-.*"').replaceAll('<<.GroupBy>>', 'pod');
      checkPromql(query, 'adapter metricsQuery', recorded);
      expect(r.resources.overrides.pod.resource).to.equal('pod');
    }
  });
});
