/**
 * `npm run bench:gpu -- [--streams 8,16,24] [--seconds 15] [--runs 40] [--load yes|no] [--encoder ffmpeg|webcodecs]`
 *
 * The GPU check, for a machine with an NVIDIA GPU and no network (scripts/gpu-check.sh sets up a
 * carried Node binary and Vulkan loader, then runs this). In one run, in at most ≈ 6 minutes:
 *  1. what is there: nvidia-smi's GPU list, the Vulkan ICDs, the ONNX Runtime version and its
 *     bundled providers, which providers start (ort-cuda, ort-webgpu, ort-cpu) and, for WebGPU,
 *     the adapter Dawn picked (from ORT's verbose log of a session creation in a child process);
 *  2. backbone time per frame at batch 1, 4, 8, 16 for meet and selfie on every provider that
 *     starts (the GPU ones and ort-cpu, same run): upload + run + both outputs back in CPU memory;
 *  3. `bench:load` on the first GPU provider that starts, with `--streams` publishers, its
 *     capacity line (every stream ≥ 28 fps, server p99 ≤ 80 ms).
 * Markdown on stdout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrtBackbone } from '../inference/ortBackbone.js';
import { cudaProviderInstalled, ortVersion, PROVIDER_NAMES, type OrtProvider } from '../inference/onnx/ortSession.js';
import { loadOnnxModel } from '../inference/onnx/onnxModels.js';
import { ModelStore } from '../inference/modelStore.js';
import type { ModelName } from '../inference/types.js';
import { fmt, summarize } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const BATCHES = [1, 4, 8, 16];
const MODELS: readonly ModelName[] = ['meet', 'selfie'];

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `(${cmd}: ${r.error.message})`;
  return (r.stdout + r.stderr).trim();
}

function vulkanIcds(): string[] {
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];
  const env = process.env['VK_DRIVER_FILES'] ?? process.env['VK_ICD_FILENAMES'];
  const files = env ? env.split(':') : [];
  for (const d of dirs) if (existsSync(d)) for (const f of readdirSync(d)) files.push(path.join(d, f));
  return files;
}

/** Creates a session on `provider` in a child process with ORT's verbose log; returns whether it started and the log lines about the device. */
function probeInChild(provider: OrtProvider): { ok: boolean; reason: string; device: string[] } {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--probe', provider], { encoding: 'utf8', timeout: 60_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  const ok = /^probe: ok$/m.test(r.stdout);
  const reason = /^probe: failed: (.*)$/m.exec(r.stdout)?.[1] ?? (ok ? '' : `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}`);
  const device = out
    .split('\n')
    .filter((l) => /adapter|OrtHardwareDevice|architecture|Vulkan|driver/i.test(l) && !/^probe:|ParseEpConfig|ParseWebGpuContextConfig/.test(l))
    .map((l) => l.replace(/^\S+ \S+ \[[A-Z]:onnxruntime:[^\]]*\] /, '').trim().slice(0, 240));
  return { ok, reason, device: [...new Set(device)].slice(0, 12) };
}

async function probeMain(provider: OrtProvider): Promise<void> {
  const { default: ort } = await import('onnxruntime-node');
  ort.env.logLevel = 'verbose';
  try {
    const bytes = loadOnnxModel(ModelStore.open(), 'meet').bytes;
    const s = await ort.InferenceSession.create(bytes, { executionProviders: [provider], logSeverityLevel: 0, logVerbosityLevel: 1 });
    await s.release();
    console.log('probe: ok');
  } catch (e) {
    console.log(`probe: failed: ${((e as Error).message ?? String(e)).split('\n')[0]}`);
  }
}

function timeBatches(provider: OrtProvider, model: ModelName, runs: number): { batch: number; perBatchMs: number; perFrameMs: number; p95Ms: number }[] {
  const bb = OrtBackbone.load(model, { provider, threads: provider === 'cpu' ? 1 : 0, maxBatch: Math.max(...BATCHES) });
  try {
    const { inputWidth: w, inputHeight: h } = bb.info;
    return BATCHES.map((n) => {
      const frames = Array.from({ length: n }, (_, i) => Uint8Array.from({ length: w * h * 3 }, (_, j) => (j * 7 + i * 31) & 255));
      for (let i = 0; i < 5; i++) bb.runBatch(frames); // warm-up (kernel compilation on GPUs)
      const ms: number[] = [];
      const budget = performance.now() + 20_000;
      for (let i = 0; i < runs && performance.now() < budget; i++) {
        const t0 = performance.now();
        bb.runBatch(frames);
        ms.push(performance.now() - t0);
      }
      const s = summarize(ms);
      return { batch: n, perBatchMs: s.p50, perFrameMs: s.p50 / n, p95Ms: s.p95 };
    });
  } finally {
    bb.dispose();
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const runs = Number(arg('runs', '40'));
  const streams = arg('streams', '8,16,24');
  const seconds = arg('seconds', '15');
  console.log(`# maskstream GPU check (${new Date().toISOString()})\n`);
  console.log(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, onnxruntime-node ${ortVersion()}\n`);
  console.log('## Devices\n');
  console.log('```');
  console.log(`nvidia-smi -L: ${sh('nvidia-smi', ['-L'])}`);
  console.log(`nvidia-smi driver: ${sh('nvidia-smi', ['--query-gpu=driver_version,memory.total', '--format=csv,noheader'])}`);
  console.log(`Vulkan ICDs: ${vulkanIcds().join(', ') || 'none found'}`);
  console.log(`CUDA provider library installed: ${cudaProviderInstalled()}`);
  console.log('```\n');

  console.log('## Providers\n');
  const started: OrtProvider[] = [];
  for (const p of ['cuda', 'webgpu', 'cpu'] as OrtProvider[]) {
    if (p === 'cuda' && !cudaProviderInstalled()) {
      console.log(`- ort-cuda (${PROVIDER_NAMES.cuda}): not installed (README, "Run on a GPU")`);
      continue;
    }
    const r = probeInChild(p);
    console.log(`- ort-${p} (${PROVIDER_NAMES[p]}): ${r.ok ? 'starts' : `does not start: ${r.reason}`}`);
    for (const d of r.device) console.log(`  - ${d}`);
    if (r.ok) started.push(p);
  }

  console.log('\n## Backbone per frame (upload + run + logits and features back), median of up to ' + runs + ' runs\n');
  console.log('| model | provider | batch | ms per batch | ms per frame | p95 ms per batch |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const model of MODELS) {
    for (const p of started) {
      try {
        for (const r of timeBatches(p, model, runs)) console.log(`| ${model} | ort-${p} | ${r.batch} | ${fmt(r.perBatchMs, 2)} | ${fmt(r.perFrameMs, 2)} | ${fmt(r.p95Ms, 2)} |`);
      } catch (e) {
        console.log(`| ${model} | ort-${p} | – | failed: ${(e as Error).message.split('\n')[0]} | | |`);
      }
    }
  }

  const gpu = started.find((p) => p !== 'cpu');
  if (arg('load', 'yes') === 'yes') {
    console.log(`\n## Load (${gpu ? `ort-${gpu}` : 'no GPU provider started: ort-cpu'}), ${streams} streams\n`);
    const self = path.dirname(fileURLToPath(import.meta.url));
    // No ffmpeg on the GPU machine: WebCodecs' libvpx encodes, and the clip comes carried (gpu-check.sh).
    const encoder = arg('encoder', spawnSync('ffmpeg', ['-version']).status === 0 ? 'ffmpeg' : 'webcodecs');
    console.log(`Publishers' encoder: ${encoder}.\n`);
    const r = spawnSync(process.execPath, [path.join(self, 'load.js'), '--backend', `ort-${gpu ?? 'cpu'}`, '--streams', streams, '--seconds', seconds, '--warmup', '3', '--baseline', 'none', '--ceiling', 'no', '--encoder', encoder], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
    console.log(r.stdout.trim());
    if (r.status !== 0) console.log(`bench:load exited ${r.status}${r.signal ? ` (${r.signal})` : ''}`);
  }
  console.log(`\nGPU check took ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
}

if (process.argv[2] === '--probe') void probeMain(process.argv[3] as OrtProvider);
else
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
