/**
 * Load benchmark: `npm run bench:load -- [--backend auto|tensorflow-gpu|…] [--model meet|selfie] --streams 2 --seconds 30 --resolution 640x480 --fps 30
 * [--temporal attention] [--roi on|off] [--roi-detector movenet-multipose|none] [--roi-second-model selfie|none] [--ort-threads 1] [--workers 0] [--max-batch 0] [--batch-window-ms 4] [--warmup 5]
 * [--baseline naive|none] [--ceiling yes|no] [--clip synth|vtest] [--sample-every 1] [--label x]
 * [--encoder ffmpeg|webcodecs] [--capacity-fps 28] [--capacity-p99-ms 80]`
 *
 * Each scenario runs in a fresh child process (so RSS, heap and JIT state never carry over from
 * one scenario to the next) that starts the real server (its event loop is that process's main
 * thread) and N publishers, each in its own child process (src/bench/loadPublisher.ts: werift + a
 * live VP8 encoder on its own event loop and core time, so publishers do not run on the server's
 * event loop; they still share the machine's cores, which the report states). Each publisher loops a
 * clip of a real photographed person (or opencv's vtest.avi), encoded live with VP8 at `fps`,
 * starting at a random phase. `--streams 1,2,3` runs each count in turn and reports the
 * capacity (streams kept at ≥ 28 fps each with server p99 ≤ 80 ms; --capacity-fps, --capacity-p99-ms).
 *
 * Per stream and in total: processed fps, drop rate, server latency (frame complete → mask
 * sent, from the mask message) p50/p95/p99, end-to-end latency (publisher send → mask received,
 * publisher clock) p50/p95/p99, publisher CPU; for the server process: CPU, RSS, event-loop
 * lag (perf_hooks.monitorEventLoopDelay), frames waiting, drops by reason, tensor counts over
 * time. Unless `--baseline none`, the same scenario runs again with pipelineMode `naive` (one
 * thread, FIFO, no dropping); unless `--ceiling no`, the same engine runs in a tight loop in a
 * child process (the inference-only ceiling). Markdown on stdout; JSON and Markdown under
 * artifacts/bench-load/. Load-based admission is off here: the benchmark measures past capacity.
 */
import { fork, spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { startServer, type RunningServer } from '../main.js';
import { DEFAULTS } from '../config.js';
import { type BackendName, type ModelName } from '../inference/types.js';
import { TEMPORAL_MODES, type TemporalMode } from '../temporal/temporalConfig.js';
import { AUTO_ORDER as BACKENDS } from '../inference/backend.js';

import { writeClipY4m } from '../testing/synthClip.js';
import { rng } from '../shared/random.js';
import { EventLoopLag, type LagSnapshot } from '../observability/eventLoopLag.js';
import { projectRoot } from '../paths.js';
import type { CeilingResult } from './ceiling.js';
import type { FromPublisher, PublisherResult, ToPublisher } from './loadProtocol.js';
import { latencyBySecond, pooledStats, streamStats, streamTable, type Sample, type StreamStats } from './loadReport.js';
import { fmt } from './stats.js';

const MODELS: readonly ModelName[] = ['meet', 'selfie'];

class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface Options {
  readonly backend: 'auto' | BackendName;
  readonly model: ModelName;
  readonly streams: number[];
  readonly seconds: number;
  readonly warmup: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly temporal: TemporalMode;
  /** Region of interest and its person detector (the server's --roi, --roi-detector). */
  readonly roi: 'on' | 'off';
  readonly roiDetector: 'movenet-multipose' | 'none';
  readonly roiSecondModel: 'selfie' | 'none';
  /** ONNX Runtime intra-op threads per worker on the CPU provider (the server's --ort-threads). */
  readonly ortThreads: number;
  readonly workers: number;
  readonly maxBatch: number;
  readonly batchWindowMs: number;
  readonly baseline: 'naive' | 'none';
  readonly ceiling: boolean;
  readonly clip: 'synth' | 'vtest';
  readonly bitrate: number;
  readonly sampleEvery: number;
  readonly label: string;
  readonly out: string;
  /** Publishers' live VP8 encoder. */
  readonly encoder: 'ffmpeg' | 'webcodecs';
  /** Capacity: every stream at ≥ this many fps … */
  readonly capacityFps: number;
  /** … with server p99 ≤ this, ms. */
  readonly capacityP99Ms: number;
  /** The naive run stops early when this many frames wait (each holds a decoded frame). */
  readonly naiveMaxWaiting: number;
}

function parseArgs(argv: readonly string[]): Options {
  const a = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (!k.startsWith('--')) throw new UsageError(`unexpected argument "${k}"`);
    const eq = k.indexOf('=');
    if (eq > 0) a.set(k.slice(2, eq), k.slice(eq + 1));
    else a.set(k.slice(2), argv[++i] ?? '');
  }
  const known = ['backend', 'model', 'streams', 'seconds', 'warmup', 'resolution', 'fps', 'temporal', 'workers', 'max-batch', 'batch-window-ms', 'baseline', 'ceiling', 'clip', 'bitrate', 'sample-every', 'label', 'out', 'naive-max-waiting', 'capacity-fps', 'capacity-p99-ms', 'encoder', 'roi', 'roi-detector', 'roi-second-model', 'ort-threads'];
  for (const k of a.keys()) if (!known.includes(k)) throw new UsageError(`unknown flag --${k} (known: ${known.map((x) => '--' + x).join(' ')})`);
  const num = (k: string, def: number, min: number, max: number) => {
    const v = a.has(k) ? Number(a.get(k)) : def;
    if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${k} must be a number in [${min}, ${max}], got "${a.get(k)}"`);
    return v;
  };
  const streams = (a.get('streams') ?? '1').split(',').map((s) => Number(s.trim()));
  if (streams.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) throw new UsageError(`--streams must be a count (1-64) or a list like 1,2,3, got "${a.get('streams')}"`);
  const res = /^(\d+)x(\d+)$/.exec(a.get('resolution') ?? '640x480');
  if (!res || Number(res[1]) % 2 || Number(res[2]) % 2) throw new UsageError('--resolution must be WxH with even numbers, e.g. 640x480');
  const temporal = (a.get('temporal') ?? DEFAULTS.temporal) as TemporalMode;
  if (!(TEMPORAL_MODES as readonly string[]).includes(temporal)) throw new UsageError(`--temporal must be one of ${TEMPORAL_MODES.join(', ')}`);
  const backend = a.get('backend') ?? DEFAULTS.backend;
  if (!(['auto', ...BACKENDS] as string[]).includes(backend)) throw new UsageError(`--backend must be auto or one of ${BACKENDS.join(', ')}`);
  const model = a.get('model') ?? DEFAULTS.model;
  if (!(MODELS as readonly string[]).includes(model)) throw new UsageError(`--model must be one of ${MODELS.join(', ')}`);
  const baseline = a.get('baseline') ?? 'naive';
  if (baseline !== 'naive' && baseline !== 'none') throw new UsageError('--baseline must be naive or none');
  const encoder = a.get('encoder') ?? 'ffmpeg';
  if (encoder !== 'ffmpeg' && encoder !== 'webcodecs') throw new UsageError('--encoder must be ffmpeg or webcodecs');
  const roi = a.get('roi') ?? DEFAULTS.roi;
  if (roi !== 'on' && roi !== 'off') throw new UsageError('--roi must be on or off');
  const roiDetector = a.get('roi-detector') ?? DEFAULTS.roiDetector;
  if (roiDetector !== 'movenet-multipose' && roiDetector !== 'none') throw new UsageError('--roi-detector must be movenet-multipose or none');
  const roiSecondModel = a.get('roi-second-model') ?? DEFAULTS.roiSecondModel;
  if (roiSecondModel !== 'selfie' && roiSecondModel !== 'none') throw new UsageError('--roi-second-model must be selfie or none');
  const clip = a.get('clip') ?? 'synth';
  if (clip !== 'synth' && clip !== 'vtest') throw new UsageError('--clip must be synth or vtest');
  return {
    backend: backend as Options['backend'],
    model: model as ModelName,
    streams,
    seconds: num('seconds', 30, 1, 7200),
    warmup: num('warmup', 5, 0, 600),
    width: Number(res[1]),
    height: Number(res[2]),
    fps: num('fps', 30, 1, 120),
    temporal,
    roi,
    roiDetector,
    roiSecondModel,
    ortThreads: num('ort-threads', DEFAULTS.ortThreads, 0, 64),
    workers: num('workers', 0, 0, 64),
    maxBatch: num('max-batch', 0, 0, 64),
    batchWindowMs: num('batch-window-ms', DEFAULTS.batchWindowMs, 0, 100),
    baseline,
    ceiling: (a.get('ceiling') ?? 'yes') !== 'no',
    clip,
    bitrate: num('bitrate', 800_000, 50_000, 20_000_000),
    sampleEvery: num('sample-every', 1, 1, 600),
    label: a.get('label') ?? '',
    encoder: encoder as Options['encoder'],
    capacityFps: num('capacity-fps', 28, 1, 120),
    capacityP99Ms: num('capacity-p99-ms', 80, 1, 10_000),
    out: a.get('out') ?? path.join(projectRoot(), 'artifacts', 'bench-load'),
    naiveMaxWaiting: num('naive-max-waiting', 1500, 10, 100_000),
  };
}

/** The clip every publisher loops, as .y4m at the benchmark resolution (written once). */
async function prepareClip(o: Options, dir: string): Promise<string> {
  const file = path.join(dir, `clip-${o.clip}-${o.width}x${o.height}-${o.fps}.y4m`);
  if (existsSync(file)) return file;
  if (o.clip === 'synth') {
    await writeClipY4m(file, { frames: 150, width: o.width, height: o.height, fps: o.fps, speedPxPerFrame: 4, seed: 1 });
    return file;
  }
  const src = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
  if (!existsSync(src)) throw new UsageError(`--clip vtest needs ${src} (apt-get install opencv-doc)`);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', src, '-vf', `scale=${o.width}:${o.height},fps=${o.fps}`, '-frames:v', '300', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', file]);
  if (r.status !== 0) throw new Error(`ffmpeg could not convert ${src}: ${r.stderr?.toString().trim() ?? r.error?.message}`);
  return file;
}

interface ScenarioSpec {
  readonly mode: 'pool' | 'naive';
  readonly streams: number;
}

export interface ScenarioResult {
  readonly mode: 'pool' | 'naive';
  readonly streams: number;
  readonly workers: number;
  readonly maxBatch: number;
  readonly temporal: TemporalMode;
  readonly backend: string;
  readonly provider: string;
  readonly phasesMs: number[];
  readonly perStream: StreamStats[];
  readonly all: StreamStats;
  readonly server: {
    /** Process CPU (main thread, inference workers, FFmpeg decoder threads, GC), % of one core. */
    readonly cpuPct: number;
    /** Main thread busy (event-loop utilization: WebRTC, decode hand-off, mask send), %. */
    readonly mainThreadBusyPct: number;
    /** Inference workers computing (maskstream_inference_busy_seconds_total), % of one core. */
    readonly inferenceBusyPct: number;
    /** Garbage-collection pauses of the main thread in the window: count, longest and total, ms. */
    readonly gc: { readonly count: number; readonly maxMs: number; readonly totalMs: number };
    readonly rssStartMB: number;
    readonly rssEndMB: number;
    readonly rssMaxMB: number;
    readonly eventLoopLagMs: LagSnapshot;
    readonly waitingMax: number;
    readonly waitingEnd: number;
    readonly dropsByReason: Record<string, number>;
    readonly tensorsStart?: number;
    readonly tensorsEnd?: number;
  };
  readonly machine: { readonly load1Start: number; readonly load1End: number; readonly cpuBusyPct: number };
  readonly publishers: { readonly cpuPct: number; readonly keyframeRequests: number; readonly errors: string[] };
  readonly samples: Sample[];
  readonly latencyBySecond: { t: number; masks: number; serverP50Ms: number }[];
  /** Set when the naive run was stopped before its end because its queue passed the limit, s. */
  readonly stoppedEarlyAtS?: number;
}

function machineBusy(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

async function inferenceBusySeconds(server: RunningServer): Promise<number> {
  const m = (await server.metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'maskstream_inference_busy_seconds_total');
  return m?.values[0]?.value ?? 0;
}

async function dropsByReason(server: RunningServer): Promise<Record<string, number>> {
  const m = (await server.metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'maskstream_frames_dropped_total');
  return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels['reason']), v.value]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runScenario(o: Options, spec: ScenarioSpec, clipPath: string): Promise<ScenarioResult> {
  const server = await startServer({
    port: 0, host: '127.0.0.1', logLevel: 'warn',
    backend: o.backend, model: o.model, temporal: o.temporal, roi: o.roi, roiDetector: o.roiDetector, roiSecondModel: o.roiSecondModel, ortThreads: o.ortThreads, inferenceWorkers: o.workers, maxBatch: o.maxBatch, batchWindowMs: o.batchWindowMs,
    pipelineMode: spec.mode, maxSessions: Math.max(4, spec.streams), admissionMaxLoad: 0,
  });
  const children: ReturnType<typeof fork>[] = [];
  const results: (PublisherResult | undefined)[] = [];
  try {
    const warmupFrames = Math.round(o.warmup * o.fps);
    const measuredFrames = Math.round(o.seconds * o.fps);
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'loadPublisher.js');
    const connected: Promise<void>[] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < spec.streams; i++) {
      const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      // A send racing the child's exit fails with EPIPE as an 'error' event: its exit is handled below.
      child.on('error', (e) => console.error(`bench:load: publisher ${i + 1}: ${e.message}`));
      children.push(child);
      let onConnected!: () => void;
      let onFailed!: (e: Error) => void;
      connected.push(new Promise<void>((resolve, reject) => {
        onConnected = resolve;
        onFailed = reject;
      }));
      done.push(new Promise<void>((resolve, reject) => {
        child.on('message', (m: FromPublisher) => {
          if (m.type === 'connected') onConnected();
          else if (m.type === 'failed') {
            onFailed(new Error(`publisher ${i + 1}: ${m.error}`));
            reject(new Error(`publisher ${i + 1}: ${m.error}`));
          } else if (m.type === 'result') {
            results[i] = m;
            resolve();
          }
        });
        child.on('exit', (code) => (results[i] ? resolve() : reject(new Error(`publisher ${i + 1} exited with code ${code} before reporting`))));
      }));
      const cfg: ToPublisher = { type: 'config', url: server.url, clipPath, fps: o.fps, totalFrames: warmupFrames + measuredFrames, warmupFrames, bitrate: o.bitrate, encoder: o.encoder };
      child.send(cfg);
    }
    // Unhandled until awaited below; attach no-op catches so an early failure is reported once.
    for (const p of done) p.catch(() => undefined);
    await Promise.all(connected);

    // Independent cameras run at unrelated phases: each starts at a random offset within one frame period.
    const rand = rng(17 + spec.streams);
    const phasesMs = children.map(() => Math.round(rand() * (1000 / o.fps) * 10) / 10);
    const startEpoch = Date.now() + 500;
    children.forEach((c, i) => c.send({ type: 'start', atEpochMs: startEpoch + phasesMs[i]! } satisfies ToPublisher));
    await sleep(startEpoch - Date.now() + o.warmup * 1000);

    // Measured window.
    const lag = new EventLoopLag(10).start();
    const perSecond = new EventLoopLag(10).start();
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const mach0 = machineBusy();
    const load1Start = os.loadavg()[0]!;
    const drops0 = await dropsByReason(server);
    const busy0 = await inferenceBusySeconds(server);
    const elu0 = performance.eventLoopUtilization();
    const gc = { count: 0, maxMs: 0, totalMs: 0 };
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gc.count++;
        gc.maxMs = Math.max(gc.maxMs, e.duration);
        gc.totalMs += e.duration;
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const samples: Sample[] = [];
    let lastCpu = process.cpuUsage();
    let lastWall = wall0;
    let tensorsStart: number | undefined;
    let stoppedEarlyAtS: number | undefined;
    const tensorSample = async () => (await server.inference.memory()).numTensors;
    tensorsStart = await tensorSample();
    for (let s = 1; s <= o.seconds; s++) {
      await sleep(wall0 + s * 1000 - performance.now());
      const c = process.cpuUsage(lastCpu);
      const now = performance.now();
      const l = perSecond.snapshot(true);
      const sample: Sample = {
        t: s,
        rssMB: process.memoryUsage().rss / 2 ** 20,
        waitingFrames: server.inference.waitingFrames,
        cpuPct: ((c.user + c.system) / 1000 / (now - lastWall)) * 100,
        lagP99Ms: l.p99Ms,
        lagMaxMs: l.maxMs,
        load1: os.loadavg()[0]!,
        ...(s % o.sampleEvery === 0 ? { tensors: await tensorSample() } : {}),
      };
      samples.push(sample);
      lastCpu = process.cpuUsage();
      lastWall = now;
      if (spec.mode === 'naive' && sample.waitingFrames > o.naiveMaxWaiting) {
        stoppedEarlyAtS = s;
        break;
      }
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - wall0;
    const mach1 = machineBusy();
    const lagWindow = lag.snapshot();
    lag.stop();
    perSecond.stop();
    const elu = performance.eventLoopUtilization(elu0);
    gcObserver.disconnect();
    const busy1 = await inferenceBusySeconds(server);
    const drops1 = await dropsByReason(server);
    const tensorsEnd = await tensorSample();
    const waitingEnd = server.inference.waitingFrames;
    const load1End = os.loadavg()[0]!;

    if (stoppedEarlyAtS !== undefined) {
      for (const c of children) if (c.connected) c.send({ type: 'stop' } satisfies ToPublisher);
    }
    // Publishers report after their last frame (+1.5 s for masks on the way).
    await Promise.race([Promise.all(done), sleep(stoppedEarlyAtS !== undefined ? 5000 : (o.seconds + 30) * 1000)]);
    const measuredSeconds = stoppedEarlyAtS ?? o.seconds;
    const from = warmupFrames;
    const to = warmupFrames + Math.round(measuredSeconds * o.fps);
    const perStream = results.map((r, i) => {
      if (!r) throw new Error(`publisher ${i + 1} sent no result`);
      const pubCpu = r.measuredWallMs > 0 ? (100 * r.measuredCpuMs) / r.measuredWallMs : NaN;
      return streamStats(i + 1, r.masks, from, to, measuredSeconds, pubCpu);
    });
    const pubCpuTotal = perStream.reduce((a, s) => a + s.publisherCpuPct, 0);
    const all = pooledStats(results as PublisherResult[], from, to, measuredSeconds, pubCpuTotal);
    const dropDelta = Object.fromEntries(Object.entries(drops1).map(([k, v]) => [k, v - (drops0[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
    const rss = samples.map((s) => s.rssMB);
    return {
      mode: spec.mode,
      streams: spec.streams,
      workers: server.inference.workers,
      maxBatch: server.inference.maxBatch,
      temporal: o.temporal,
      backend: server.engineInfo.backend,
      provider: server.engineInfo.provider,
      phasesMs,
      perStream,
      all,
      server: {
        cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
        mainThreadBusyPct: elu.utilization * 100,
        inferenceBusyPct: ((busy1 - busy0) * 1000 * 100) / wall,
        gc,
        rssStartMB: rss[0] ?? NaN,
        rssEndMB: rss[rss.length - 1] ?? NaN,
        rssMaxMB: Math.max(...rss),
        eventLoopLagMs: lagWindow,
        waitingMax: Math.max(...samples.map((s) => s.waitingFrames)),
        waitingEnd,
        dropsByReason: dropDelta,
        tensorsStart,
        tensorsEnd,
      },
      machine: { load1Start, load1End, cpuBusyPct: 100 * (1 - (mach1.idle - mach0.idle) / Math.max(1, mach1.total - mach0.total)) },
      publishers: {
        cpuPct: pubCpuTotal,
        keyframeRequests: results.reduce((a, r) => a + (r?.keyframeRequests ?? 0), 0),
        errors: results.flatMap((r) => r?.errors ?? []),
      },
      samples,
      latencyBySecond: latencyBySecond(results as PublisherResult[], from, o.fps, measuredSeconds),
      ...(stoppedEarlyAtS !== undefined ? { stoppedEarlyAtS } : {}),
    };
  } finally {
    for (const c of children) {
      if (c.connected) c.send({ type: 'stop' } satisfies ToPublisher);
    }
    await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        c.kill('SIGKILL');
        resolve();
      }, 10_000);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    }))));
    await server.close();
  }
}

/** Runs one scenario in a fresh child process (this script with --scenario-child). */
function runScenarioInChild(o: Options, spec: ScenarioSpec, clipPath: string): Promise<ScenarioResult> {
  const self = fileURLToPath(import.meta.url);
  const child = fork(self, ['--scenario-child', JSON.stringify({ o, spec, clipPath })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: ScenarioResult | undefined;
    child.on('message', (m: { type: string; result?: ScenarioResult; error?: string }) => {
      if (m.type === 'scenario-result') result = m.result;
      else if (m.type === 'scenario-failed') reject(new Error(m.error));
    });
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`scenario process exited with code ${code} without a result`))));
  });
}

async function scenarioChild(arg: string): Promise<void> {
  const { o, spec, clipPath } = JSON.parse(arg) as { o: Options; spec: ScenarioSpec; clipPath: string };
  try {
    const result = await runScenario(o, spec, clipPath);
    await new Promise<void>((resolve) => process.send!({ type: 'scenario-result', result }, () => resolve()));
  } catch (e) {
    await new Promise<void>((resolve) => process.send!({ type: 'scenario-failed', error: (e as Error).stack ?? String(e) }, () => resolve()));
  }
  process.disconnect?.();
  // Publishers and the server are closed; nothing else should keep the process alive.
  setTimeout(() => process.exit(0), 2000).unref();
}

async function runCeiling(o: Options): Promise<CeilingResult> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ceiling.js');
  const out = execFileSync(process.execPath, [script, JSON.stringify({ model: o.model, backend: o.backend, temporal: o.temporal, ringSize: DEFAULTS.ringSize, width: o.width, height: o.height, frames: 300 })], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as CeilingResult;
}

function scenarioMarkdown(o: Options, r: ScenarioResult): string {
  const pipeline = r.mode === 'pool' ? `pool: ${r.workers} worker${r.workers > 1 ? 's' : ''}, max batch ${r.maxBatch}` : 'naive: main thread, FIFO, no dropping';
  const s = r.server;
  const lines = [
    `### ${r.streams} stream${r.streams > 1 ? 's' : ''}, ${r.mode === 'pool' ? 'this design' : 'naive baseline'} (${pipeline})`,
    '',
    `${o.width}×${o.height} VP8 @ ${o.fps} fps, model ${o.model} on ${r.backend} (${r.provider}), temporal ${r.temporal}, roi ${o.roi}${o.roi === 'on' ? ` (detector ${o.roiDetector}${o.roiSecondModel !== 'none' ? `, second model ${o.roiSecondModel}` : ''})` : ''}; ${r.stoppedEarlyAtS ?? o.seconds} s measured after ${o.warmup} s warm-up${r.stoppedEarlyAtS !== undefined ? ` (stopped early: ${s.waitingMax} frames queued)` : ''}.`,
    '',
    streamTable(r.perStream, r.all),
    '',
    `Server process (server + inference workers): CPU ${fmt(s.cpuPct, 0)} % of one core (main thread busy ${fmt(s.mainThreadBusyPct, 0)} %, inference workers computing ${fmt(s.inferenceBusyPct, 0)} %); RSS ${fmt(s.rssStartMB, 0)} → ${fmt(s.rssEndMB, 0)} MB (max ${fmt(s.rssMaxMB, 0)}); ` +
      `event-loop lag p50 / p99 / max ${fmt(s.eventLoopLagMs.p50Ms, 2)} / ${fmt(s.eventLoopLagMs.p99Ms, 2)} / ${fmt(s.eventLoopLagMs.maxMs, 1)} ms ` +
      `(main-thread GC: ${s.gc.count} pauses, longest ${fmt(s.gc.maxMs, 1)} ms, ${fmt((100 * s.gc.totalMs) / ((r.stoppedEarlyAtS ?? o.seconds) * 1000), 1)} % of the time); ` +
      `frames waiting for inference max ${s.waitingMax}, at the end ${s.waitingEnd}; tensors ${s.tensorsStart} → ${s.tensorsEnd}; ` +
      `drops by reason: ${Object.entries(s.dropsByReason).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}.`,
    `Publishers (${r.streams} processes): CPU ${fmt(r.publishers.cpuPct, 0)} % of one core in all; keyframe requests ${r.publishers.keyframeRequests}. ` +
      `Machine: load average (1 min) ${fmt(r.machine.load1Start, 2)} → ${fmt(r.machine.load1End, 2)}, all cores ${fmt(r.machine.cpuBusyPct, 0)} % busy (every process, other users included).`,
  ];
  if (r.mode === 'naive') {
    const pick = r.latencyBySecond.filter((_, i, a) => i === 0 || i === a.length - 1 || (i + 1) % Math.max(1, Math.round(a.length / 6)) === 0);
    lines.push('', `Naive queue over time: ${r.samples.filter((_, i, a) => i === 0 || i === a.length - 1 || (i + 1) % Math.max(1, Math.round(a.length / 6)) === 0).map((x) => `${x.t} s: ${x.waitingFrames}`).join(', ')} frames waiting; ` +
      `server latency p50 of the frames sent in second ${pick.map((x) => `${x.t + 1}: ${fmt(x.serverP50Ms, 0)} ms`).join(', ')}.`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  const clipPath = await prepareClip(o, o.out);
  const cpuModel = os.cpus()[0]?.model ?? 'cpu';
  const machine = `${os.availableParallelism()} × ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
  const started = new Date();
  const md: string[] = [
    `## Load benchmark${o.label ? ` — ${o.label}` : ''}`,
    '',
    `\`npm run bench:load -- ${process.argv.slice(2).join(' ')}\` — ${started.toISOString()}`,
    '',
    `Machine: ${machine}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}. Server and inference workers in one process, each publisher in its own process (same machine).`,
  ];
  const log = (s: string) => {
    md.push('', s);
    console.log('\n' + s);
  };
  console.log(md.join('\n'));

  let ceiling: CeilingResult | undefined;
  if (o.ceiling) {
    ceiling = await runCeiling(o);
    const c = ceiling;
    log([
      `### Inference-only ceiling (same engine, one thread, tight loop, frames already at model size)`,
      '',
      `| measure | p50 ms | p95 ms | p99 ms | mean ms |`,
      `|---|---:|---:|---:|---:|`,
      `| backbone + temporal ${c.temporal} (engine.process) | ${fmt(c.engineMs.p50, 2)} | ${fmt(c.engineMs.p95, 2)} | ${fmt(c.engineMs.p99, 2)} | ${fmt(c.engineMs.mean, 2)} |`,
      `| backbone only | ${fmt(c.backboneMs.p50, 2)} | ${fmt(c.backboneMs.p95, 2)} | ${fmt(c.backboneMs.p99, 2)} | ${fmt(c.backboneMs.mean, 2)} |`,
      `| preprocess ${o.width}×${o.height} I420 → model RGB | ${fmt(c.preprocessMs.p50, 2)} | ${fmt(c.preprocessMs.p95, 2)} | ${fmt(c.preprocessMs.p99, 2)} | ${fmt(c.preprocessMs.mean, 2)} |`,
      '',
      `One thread sustains ${fmt(c.engineFps)} frames/s of backbone + temporal. Two sessions' frames as one batch: ${fmt(c.batchOf2PerFrameMs, 2)} ms per frame, one after the other: ${fmt(c.twoSinglesPerFrameMs, 2)} ms per frame (${c.backend}).`,
    ].join('\n'));
  }

  const runs: ScenarioResult[] = [];
  for (const n of o.streams) {
    const design = await runScenarioInChild(o, { mode: 'pool', streams: n }, clipPath);
    runs.push(design);
    log(scenarioMarkdown(o, design));
    if (o.baseline === 'naive') {
      const naive = await runScenarioInChild(o, { mode: 'naive', streams: n }, clipPath);
      runs.push(naive);
      log(scenarioMarkdown(o, naive));
      const ratio = (k: 'p50' | 'p99') => naive.all.serverMs[k] / design.all.serverMs[k];
      const grow = naive.samples.length > 1 ? (naive.samples[naive.samples.length - 1]!.waitingFrames - naive.samples[0]!.waitingFrames) / (naive.samples[naive.samples.length - 1]!.t - naive.samples[0]!.t) : 0;
      const latency = naive.all.masks > 0
        ? `server latency p99 ${fmt(naive.all.serverMs.p99, 0)} vs ${fmt(design.all.serverMs.p99, 1)} ms (× ${fmt(ratio('p99'), 1)}), p50 × ${fmt(ratio('p50'), 1)}`
        : `server latency: no naive mask came back for the measured frames before the run was stopped (> ${fmt(naive.stoppedEarlyAtS ?? o.seconds, 0)} s behind) vs p99 ${fmt(design.all.serverMs.p99, 1)} ms`;
      log(`**Naive vs this design, ${n} stream${n > 1 ? 's' : ''}:** ${latency}; processed ${fmt(naive.all.fps)} vs ${fmt(design.all.fps)} masks/s in all; naive queue grew ${fmt(grow, 1)} frames/s (max ${naive.server.waitingMax}) while the design held at most ${design.server.waitingMax} waiting frame(s).`);
    }
  }

  const designs = runs.filter((r) => r.mode === 'pool');
  const ok = (r: ScenarioResult) => r.perStream.every((s) => s.fps >= o.capacityFps) && r.all.serverMs.p99 <= o.capacityP99Ms;
  if (designs.length > 1 || o.streams.length > 1) {
    const passing = designs.filter(ok).map((r) => r.streams);
    log(`**Capacity:** ${designs.map((r) => `${r.streams}: ${ok(r) ? 'kept' : 'not kept'} (min ${fmt(Math.min(...r.perStream.map((s) => s.fps)))} fps, p99 ${fmt(r.all.serverMs.p99, 0)} ms)`).join('; ')} → ${passing.length ? Math.max(...passing) : 0} stream(s) at ≥ ${o.capacityFps} fps each with server p99 ≤ ${o.capacityP99Ms} ms.`);
  }
  const one = designs.find((r) => r.streams === 1);
  if (one && ceiling) {
    log(`**Overhead, 1 stream:** server latency p50 ${fmt(one.all.serverMs.p50, 1)} ms vs inference-only p50 ${fmt(ceiling.engineMs.p50, 1)} ms (× ${fmt(one.all.serverMs.p50 / ceiling.engineMs.p50, 2)}).`);
  }

  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const base = path.join(o.out, `${stamp}${o.label ? '-' + o.label.replace(/[^A-Za-z0-9_-]+/g, '_') : ''}`);
  writeFileSync(base + '.json', JSON.stringify({ command: `npm run bench:load -- ${process.argv.slice(2).join(' ')}`, started: started.toISOString(), machine, options: o, ceiling, runs }, null, 1));
  writeFileSync(base + '.md', md.join('\n') + '\n');
  console.log(`\nwritten: ${base}.json, ${base}.md`);
}

const childAt = process.argv.indexOf('--scenario-child');
(childAt >= 0 ? scenarioChild(process.argv[childAt + 1] ?? '{}') : main()).catch((e: Error) => {
  console.error(e.name === 'UsageError' ? `bench:load: ${e.message}` : e);
  process.exit(1);
});
