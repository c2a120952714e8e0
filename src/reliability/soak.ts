/**
 * `npm run soak -- [--minutes 30] [--streams 2] [--interval-s 60] [--codec vp8] [--temporal mode]
 *                  [--width 640] [--height 480] [--fps 30] [--no-gc] [--out artifacts/soak.json]`
 *
 * Long run of the real server on 127.0.0.1 with N werift publishers, each in its own child
 * process (the load benchmark's publisher, src/bench/loadPublisher.ts: a clip of a person,
 * encoded live with libvpx in realtime mode) and one session for the whole run, so the memory
 * figures are the server's alone. Every interval it prints and records: RSS and heap of the
 * server process (with its inference worker threads), the inference
 * worker's tensors, libuv handles (UDP sockets), open fds, sessions, masks/s per stream and the
 * end-to-end latency percentiles (frame sent → mask received) of the interval, and the load
 * average. Before each sample a full GC runs (one pause a minute; `--no-gc` skips it), so
 * memory figures compare live data, not how much garbage happened to be waiting. At the end: a summary (RSS growth and slope after warm-up, fps, latency) and, after
 * the publishers leave, whether sessions, tensors, UDP sockets and fds are back to baseline.
 * The JSON report goes to --out.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startServer } from '../main.js';
import { writeClipY4m } from '../testing/synthClip.js';
import { TEMPORAL_MODES, type TemporalMode } from '../temporal/temporalConfig.js';
import type { FromPublisher, MaskRecord, ToPublisher } from '../bench/loadProtocol.js';
import { percentile } from '../bench/stats.js';
import { projectRoot } from '../paths.js';
import { fullGc, grownHandles, settle, snapshot } from './resources.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

interface Sample {
  readonly tMin: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  /** ArrayBuffers/Buffers (RSS outside the V8 heap that JS can see), MiB. */
  readonly buffersMiB: number;
  readonly tensors: number;
  readonly handles: number;
  readonly udpSockets: number;
  readonly fds: number;
  readonly sessions: number;
  /** Masks per second of each stream over the interval. */
  readonly fps: number[];
  readonly e2eP50: number;
  readonly e2eP95: number;
  readonly e2eP99: number;
  readonly load1: number;
}

const MiB = 1024 * 1024;
const r1 = (v: number) => Math.round(v * 10) / 10;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : NaN;
}

async function main(): Promise<void> {
  const minutes = Number(arg('minutes', '30'));
  const streams = Number(arg('streams', '2'));
  const intervalS = Number(arg('interval-s', minutes >= 10 ? '60' : '10'));
  const codec = arg('codec', 'vp8') as 'vp8' | 'h264';
  const width = Number(arg('width', '640'));
  const height = Number(arg('height', '480'));
  const fps = Number(arg('fps', '30'));
  const out = path.resolve(projectRoot(), arg('out', 'artifacts/soak.json'));
  const gc = !process.argv.includes('--no-gc');
  const temporalArg = arg('temporal', '');
  if (temporalArg && !(TEMPORAL_MODES as readonly string[]).includes(temporalArg)) throw new Error(`--temporal must be one of ${TEMPORAL_MODES.join(', ')}`);
  const temporal = temporalArg as TemporalMode | '';
  if (!(minutes > 0) || !(streams >= 1) || !(intervalS >= 1)) throw new Error('--minutes > 0, --streams ≥ 1, --interval-s ≥ 1');

  if (codec !== 'vp8') throw new Error('the soak publishers send VP8 (libvpx realtime in ffmpeg)');
  const clipDir = path.join(projectRoot(), '.cache', 'soak');
  mkdirSync(clipDir, { recursive: true });
  const clipPath = path.join(clipDir, `clip-synth-${width}x${height}-${fps}.y4m`);
  if (!existsSync(clipPath)) await writeClipY4m(clipPath, { frames: 150, width, height, fps, speedPxPerFrame: 4, seed: 5 });
  const server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'warn', ...(temporal ? { temporal } : {}), maxSessions: Math.max(4, streams), ipMaxSessions: 0, ipSessionsPerMinute: 0 });
  fullGc();
  const base = { ...snapshot(), tensors: (await server.inference.memory()).numTensors };
  console.log(`soak: ${streams} × ${codec.toUpperCase()} ${width}×${height} @ ${fps} fps for ${minutes} min, sample every ${intervalS} s${gc ? ' after a full GC' : ''}; backend ${server.engineInfo.backend}, model ${server.engineInfo.model}, temporal ${server.config.temporal}; ${os.cpus().length} CPUs, Node ${process.version}; publishers in ${streams} child processes`);
  console.log(`baseline: rss ${r1(base.rssBytes / MiB)} MiB, tensors ${base.tensors}, handles ${JSON.stringify(base.handles)}, fds ${base.fds}`);

  const totalFrames = Math.round(minutes * 60 * fps);
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'loadPublisher.js');
  /** Masks received per stream since the last sample. */
  const pending: MaskRecord[][] = Array.from({ length: streams }, () => []);
  const sentBy = new Array<number>(streams).fill(0);
  const errors: string[] = [];
  const children = Array.from({ length: streams }, () => fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const connected: Promise<void>[] = [];
  const finished: Promise<void>[] = [];
  children.forEach((child, i) => {
    let onConnected!: () => void;
    let onFailed!: (e: Error) => void;
    connected.push(new Promise<void>((resolve, reject) => {
      onConnected = resolve;
      onFailed = reject;
    }));
    finished.push(new Promise<void>((resolve) => {
      child.on('message', (m: FromPublisher) => {
        if (m.type === 'connected') onConnected();
        else if (m.type === 'progress') {
          for (const r of m.masks) pending[i]!.push(r);
          sentBy[i] = m.framesSent;
        } else if (m.type === 'result') {
          for (const r of m.masks) pending[i]!.push(r);
          sentBy[i] = m.framesSent;
          errors.push(...m.errors.map((e) => `publisher ${i + 1}: ${e}`));
          resolve();
        } else if (m.type === 'failed') {
          errors.push(`publisher ${i + 1}: ${m.error}`);
          onFailed(new Error(`publisher ${i + 1}: ${m.error}`));
          resolve();
        }
      });
      child.on('exit', (code) => {
        if (code) errors.push(`publisher ${i + 1} exited with code ${code}`);
        onFailed(new Error(`publisher ${i + 1} exited with code ${code}`));
        resolve();
      });
    }));
    child.send({ type: 'config', url: server.url, clipPath, fps, totalFrames, warmupFrames: 0, bitrate: 800_000, encoder: 'ffmpeg', progressEveryMs: 2000 } satisfies ToPublisher);
  });
  await Promise.all(connected);
  const startEpoch = Date.now() + 300;
  children.forEach((c, i) => c.send({ type: 'start', atEpochMs: startEpoch + i * 11 } satisfies ToPublisher));
  const started = performance.now();
  const samples: Sample[] = [];
  const allE2e: number[] = [];
  let totalMasks = 0;
  console.log('| t min | rss MiB | heap MiB | buffers MiB | tensors | handles | UDP | fds | sessions | masks/s per stream | e2e p50 / p95 / p99 ms | load 1m |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|');
  let last = started;
  const deadline = started + minutes * 60_000;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(intervalS * 1000, Math.max(0, deadline - performance.now()))));
    const now = performance.now();
    const dt = (now - last) / 1000;
    last = now;
    const e2e: number[] = [];
    const rates: number[] = [];
    for (let i = 0; i < streams; i++) {
      const got = pending[i]!.splice(0);
      totalMasks += got.length;
      rates.push(r1(got.length / dt));
      for (const m of got) if (m[1] >= 0) e2e.push(m[1]);
    }
    for (const v of e2e) allE2e.push(v);
    if (gc) fullGc();
    const snap = snapshot();
    const s: Sample = {
      tMin: r1((now - started) / 60_000),
      rssMiB: r1(snap.rssBytes / MiB),
      heapMiB: r1(snap.heapUsedBytes / MiB),
      buffersMiB: r1(snap.arrayBuffersBytes / MiB),
      tensors: (await server.inference.memory()).numTensors,
      handles: Object.values(snap.handles).reduce((a, b) => a + b, 0),
      udpSockets: snap.handles.UDPWrap ?? 0,
      fds: snap.fds,
      sessions: server.registry.size,
      fps: rates,
      e2eP50: r1(percentile(e2e, 50)),
      e2eP95: r1(percentile(e2e, 95)),
      e2eP99: r1(percentile(e2e, 99)),
      load1: Math.round(os.loadavg()[0]! * 100) / 100,
    };
    samples.push(s);
    console.log(`| ${s.tMin} | ${s.rssMiB} | ${s.heapMiB} | ${s.buffersMiB} | ${s.tensors} | ${s.handles} | ${s.udpSockets} | ${s.fds} | ${s.sessions} | ${s.fps.join(' / ')} | ${s.e2eP50} / ${s.e2eP95} / ${s.e2eP99} | ${s.load1} |`);
  }
  // The publishers have sent their last frame; they report, then leave on `stop`.
  let giveUp: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(finished), new Promise((r) => (giveUp = setTimeout(r, 20_000)))]);
  clearTimeout(giveUp);
  for (const p of pending) totalMasks += p.splice(0).length;
  const sent = sentBy.reduce((a, b) => a + b, 0);
  for (const c of children) if (c.connected) c.send({ type: 'stop' } satisfies ToPublisher);
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));

  // After the publishers leave: back to baseline?
  const sessionsGone = await settle(() => server.registry.size === 0, 10_000);
  await settle(async () => (await server.inference.memory()).numTensors === base.tensors, 5000);
  await settle(() => Object.keys(grownHandles(base.handles, snapshot().handles)).length === 0, 10_000);
  fullGc();
  const end = { ...snapshot(), tensors: (await server.inference.memory()).numTensors };

  // RSS trend after warm-up (the first 20 % of the run, at least one sample, is excluded).
  const warm = samples.slice(Math.max(1, Math.floor(samples.length * 0.2)));
  const rssSlopeMiBPerHour = r1(slope(warm.map((s) => s.tMin), warm.map((s) => s.rssMiB)) * 60);
  const allFps = samples.flatMap((s) => s.fps);
  const summary = {
    minutes, streams, codec, width, height, fps, temporal: server.config.temporal, publishers: 'child processes', backend: server.engineInfo.backend, model: server.engineInfo.model,
    cpus: os.cpus().length, loadAvgAtEnd: os.loadavg().map((v) => Math.round(v * 100) / 100),
    framesSent: sent, masks: totalMasks, maskRatio: r1((100 * totalMasks) / Math.max(1, sent)),
    fpsPerStream: { mean: r1(allFps.reduce((a, b) => a + b, 0) / Math.max(1, allFps.length)), min: Math.min(...allFps), max: Math.max(...allFps) },
    e2eMs: { p50: r1(percentile(allE2e, 50)), p95: r1(percentile(allE2e, 95)), p99: r1(percentile(allE2e, 99)) },
    heapMiB: { first: samples[0]?.heapMiB, max: Math.max(...samples.map((s) => s.heapMiB)), last: samples.at(-1)?.heapMiB },
    buffersMiB: { first: samples[0]?.buffersMiB, max: Math.max(...samples.map((s) => s.buffersMiB)), last: samples.at(-1)?.buffersMiB },
    rssMiB: { baseline: r1(base.rssBytes / MiB), firstSample: samples[0]?.rssMiB, max: Math.max(...samples.map((s) => s.rssMiB)), lastSample: samples.at(-1)?.rssMiB, afterClose: r1(end.rssBytes / MiB), slopeAfterWarmupMiBPerHour: rssSlopeMiBPerHour },
    tensors: { baseline: base.tensors, min: Math.min(...samples.map((s) => s.tensors)), max: Math.max(...samples.map((s) => s.tensors)), afterClose: end.tensors },
    handles: { baseline: base.handles, afterClose: end.handles, grown: grownHandles(base.handles, end.handles) },
    fds: { baseline: base.fds, max: Math.max(...samples.map((s) => s.fds)), afterClose: end.fds },
    sessionsAfterClose: server.registry.size, sessionsGone,
    publisherErrors: errors.slice(0, 10),
  };
  await server.close();
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ summary, samples }, null, 2) + '\n');
  console.log('\nsummary:', JSON.stringify(summary, null, 2));
  console.log(`report: ${out}`);
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e);
  process.exit(1);
});
