/**
 * Picks what runs the backbone in this thread (each inference worker does this once) and loads
 * the model on it: ONNX Runtime with a GPU provider (CUDA, WebGPU), TF.js with libtensorflow
 * on a GPU, ONNX Runtime on the CPU, then the TF.js CPU backends. Never downloads anything: the
 * ONNX model is translated locally from the npm package's weights, the native libraries are npm
 * packages that are installed or not, and the wasm binaries are read from the installed package.
 *
 * The thread's tf engine is used by the temporal stages too: with an ONNX Runtime backbone it
 * is set to tf's 'cpu' backend (the stages then compute on arrays).
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type BackendAttempt, type BackendName, type ModelName, type TfBackendName } from './types.js';
import type { Backbone } from './backbone.js';
import type { ModelStore } from './modelStore.js';
import { TfjsBackbone } from './tfjsBackbone.js';
import { OrtBackbone } from './ortBackbone.js';
import { cudaProviderInstalled, ortBinDir, type OrtProvider } from './onnx/ortSession.js';

/** Order tried by 'auto': GPUs first, then CPUs, fastest first (README, "Run on a GPU"). */
export const AUTO_ORDER: readonly BackendName[] = ['ort-cuda', 'ort-webgpu', 'tensorflow-gpu', 'ort-cpu', 'tensorflow', 'wasm', 'cpu'];

/** The TF.js backends, in the order 'auto' tries them when only TF.js is wanted (tests, tools). */
export const TF_AUTO_ORDER: readonly TfBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const ORT_PROVIDER: Partial<Record<BackendName, OrtProvider>> = { 'ort-cpu': 'cpu', 'ort-webgpu': 'webgpu', 'ort-cuda': 'cuda' };

export interface BackendSelection {
  /** The backend now active in this thread's tf engine. */
  readonly backend: TfBackendName;
  /** Every backend tried, in order, with why it failed (for logs and /healthz). */
  readonly attempts: readonly BackendAttempt[];
}

export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  constructor(
    message: string,
    readonly attempts: readonly BackendAttempt[],
  ) {
    super(message);
  }
}

/** What a user can do about each backend being unavailable (shown in the error). */
const REMEDY: Record<BackendName, string> = {
  'ort-cpu': 'reinstall onnxruntime-node (npm install) or use --backend wasm',
  'ort-webgpu': 'needs a GPU with a Vulkan driver and Debian\'s libvulkan1 (README, "Run on a GPU"); or use --backend auto',
  'ort-cuda': 'install ONNX Runtime\'s CUDA 12 provider (README, "Run on a GPU") on a host with CUDA 12 and cuDNN 9; or use --backend auto',
  'tensorflow-gpu': 'install the optional dependency @tensorflow/tfjs-node-gpu (needs CUDA 11.2 + cuDNN 8.1) or use --backend auto',
  tensorflow: 'install @tensorflow/tfjs-node or use --backend auto',
  wasm: 'reinstall @tensorflow/tfjs-backend-wasm (npm install) or use --backend cpu',
  cpu: 'reinstall @tensorflow/tfjs (npm install)',
};

/**
 * Activates the TF.js backend `pref` (or, for 'auto', the first of TF_AUTO_ORDER that
 * initialises) in this thread's tf engine, for code that runs TF.js models itself (RVM,
 * training, tests). An explicit choice that fails throws BackendUnavailableError.
 */
export async function selectBackend(pref: 'auto' | TfBackendName): Promise<BackendSelection> {
  const order = pref === 'auto' ? TF_AUTO_ORDER : [pref];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    const reason = await tryBackend(name);
    attempts.push(reason === undefined ? { backend: name, ok: true } : { backend: name, ok: false, reason });
    if (reason === undefined) return { backend: name, attempts };
  }
  throw unavailable(pref, attempts);
}

function unavailable(pref: 'auto' | BackendName, attempts: readonly BackendAttempt[]): BackendUnavailableError {
  const detail = attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ');
  if (pref === 'auto') return new BackendUnavailableError(`no inference backend could be initialised (${detail})`, attempts);
  return new BackendUnavailableError(`backend "${pref}" is not available here: ${attempts[0]?.reason}. Fix: ${REMEDY[pref]}`, attempts);
}

export interface OpenBackboneOptions {
  readonly store: ModelStore;
  /** Largest cross-session batch for a backend (resolves EngineOptions.maxBatch 0 = auto). */
  readonly maxBatch: (backend: BackendName) => number;
  /** ONNX Runtime intra-op threads on the CPU provider (0 = one per core). */
  readonly ortThreads: number;
  /** What 'auto' tries, in order (default AUTO_ORDER; tests of the fallback paths). */
  readonly autoOrder?: readonly BackendName[];
}

/**
 * Loads `model` on `pref`, or for 'auto' on the first backend of AUTO_ORDER that works here.
 * A backend that cannot start is recorded with its reason and the next is tried; an error that
 * is not about the backend (a corrupt model file, say) is thrown at once.
 */
export async function openBackbone(pref: 'auto' | BackendName, model: ModelName, opts: OpenBackboneOptions): Promise<{ backbone: Backbone; attempts: readonly BackendAttempt[] }> {
  const order = pref === 'auto' ? (opts.autoOrder ?? AUTO_ORDER) : [pref];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    const provider = ORT_PROVIDER[name];
    const skip = pref === 'auto' ? autoSkipReason(name) : provider === 'cuda' && !cudaProviderInstalled() ? cudaMissing() : undefined;
    if (skip) {
      attempts.push({ backend: name, ok: false, reason: skip, skipped: true });
      continue;
    }
    if (provider) {
      let backbone: Backbone;
      try {
        backbone = OrtBackbone.load(model, { provider, threads: provider === 'cpu' ? opts.ortThreads : 0, store: opts.store, maxBatch: opts.maxBatch(name) });
      } catch (e) {
        if (!isProviderFailure(e)) throw e;
        attempts.push({ backend: name, ok: false, reason: ortReason(e) });
        continue;
      }
      // The temporal stages' occasional tensor op runs on tf's plain CPU backend. Production
      // mode: no per-op debug checks, and no "install tfjs-node" banner on its first tensor.
      tf.enableProdMode();
      if (!(await tf.setBackend('cpu'))) {
        backbone.dispose();
        throw new BackendUnavailableError('tf.setBackend("cpu") failed; reinstall @tensorflow/tfjs', attempts);
      }
      attempts.push({ backend: name, ok: true });
      return { backbone, attempts };
    }
    const reason = await tryBackend(name as TfBackendName);
    if (reason !== undefined) {
      // An optional package that is simply absent was not tried (logged at debug, not as a failure).
      attempts.push({ backend: name, ok: false, reason, ...(/ is not installed$/.test(reason) ? { skipped: true } : {}) });
      continue;
    }
    attempts.push({ backend: name, ok: true });
    return { backbone: await TfjsBackbone.load(model, { store: opts.store, maxBatch: opts.maxBatch(name), backend: name }), attempts };
  }
  throw unavailable(pref, attempts);
}

function cudaMissing(): string {
  return `the CUDA provider library is not installed in ${ortBinDir()} (README, "Run on a GPU")`;
}

/**
 * In 'auto', GPU providers are only tried where a GPU device exists: on a machine without one
 * the WebGPU provider would spend ≈ 0.3 s failing (and print Vulkan loader noise), or worse,
 * accept a software Vulkan driver and run the model on an emulated GPU.
 */
function autoSkipReason(name: BackendName): string | undefined {
  if (name === 'ort-cuda') return cudaProviderInstalled() ? (hasNvidiaGpu() ? undefined : 'no NVIDIA GPU device (/dev/nvidia0)') : cudaMissing();
  if (name === 'ort-webgpu') return hasGpuDevice() ? undefined : 'no GPU device (/dev/nvidia0 or /dev/dri/renderD*)';
  return undefined;
}

function hasNvidiaGpu(): boolean {
  return existsSync('/dev/nvidia0');
}

function hasGpuDevice(): boolean {
  if (hasNvidiaGpu()) return true;
  try {
    return readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false; // no /dev/dri at all
  }
}

/** Errors from ORT session creation (provider start), as opposed to our own (model file, shapes). */
function isProviderFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return true;
  return !['ModelIntegrityError', 'ManifestError', 'ModelShapeError', 'GraphModelFormatError', 'UnsupportedOpError'].includes(e.name);
}

/** ORT's message without its source path and function signature: "… was false. Failed to get a WebGPU adapter: …". */
function ortReason(e: unknown): string {
  let m = describe(e).trim();
  const cut = m.lastIndexOf(' was false. ');
  if (cut >= 0) m = m.slice(cut + ' was false. '.length);
  m = m.replace(/^\/onnxruntime_src\/\S+:\d+ /, '');
  return m.length > 240 ? `${m.slice(0, 240)}…` : m;
}

/** undefined when `name` is now the active backend, else the reason it is not. */
async function tryBackend(name: TfBackendName): Promise<string | undefined> {
  try {
    const tfName = await register(name);
    // setBackend resolves false (with a console warning) when the backend's init fails.
    const ok = await tf.setBackend(tfName);
    if (!ok) return `tf.setBackend("${tfName}") failed to initialise`;
    await tf.ready();
    if (tf.getBackend() !== tfName) return `tf reports backend "${tf.getBackend()}" after selecting "${tfName}"`;
    return undefined;
  } catch (e) {
    return describe(e);
  }
}

/** Loads the module that registers `name` with tf; returns the tf backend name to select. */
async function register(name: TfBackendName): Promise<string> {
  switch (name) {
    case 'tensorflow-gpu':
      // Both native packages register the tf backend named "tensorflow".
      await importOptional('@tensorflow/tfjs-node-gpu');
      return 'tensorflow';
    case 'tensorflow':
      await importOptional('@tensorflow/tfjs-node');
      return 'tensorflow';
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Point at the .wasm files inside the installed package (absolute dir, trailing slash
      // required) so nothing is fetched from a CDN.
      const pkgJson = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
      wasm.setWasmPaths(path.join(path.dirname(pkgJson), 'dist') + path.sep);
      return 'wasm';
    }
    case 'cpu':
      return 'cpu'; // bundled with @tensorflow/tfjs
  }
}

/** import() of a package that may not be installed; the specifier is a variable so tsc does not require its types. */
async function importOptional(specifier: string): Promise<void> {
  try {
    await import(specifier);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    // Only "not installed" when the package itself is missing, not one of its own imports.
    if (notFound && describe(e).includes(`'${specifier}'`)) throw new Error(`${specifier} is not installed`);
    throw new Error(`${specifier} failed to load: ${describe(e)}`);
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}
