/**
 * Thin adapter over onnxruntime-node: one native inference session, run synchronously.
 *
 * The package's public InferenceSession.run() is the native binding's synchronous run() put
 * behind a setImmediate and a Promise (onnxruntime-node 1.30.0, dist/backend.js). The engine is
 * synchronous and runs in its own worker thread, so it calls the binding directly: one
 * macrotask less per frame and no change to the engine's contract. The version is pinned in
 * package.json; this file is the only one that knows the binding's shape, and the tests of
 * test/unit/inference/ort*.test.ts run through it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { existsSync } from 'node:fs';
import ort from 'onnxruntime-node';

/** Execution providers maskstream knows how to ask for. */
export type OrtProvider = 'cpu' | 'webgpu' | 'cuda';

export interface OrtSessionOptions {
  readonly provider: OrtProvider;
  /** Intra-op threads (CPU provider; 0 = ORT's default, one per core). */
  readonly threads: number;
}

interface BindingTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

interface BindingSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: readonly { name: string }[];
  readonly outputMetadata: readonly { name: string }[];
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, BindingTensor>;
  dispose(): void;
}

interface BindingModule {
  binding: { InferenceSession: new () => BindingSession; listSupportedBackends(): { name: string; bundled: boolean }[] };
  initOrt(): void;
}

const require = createRequire(import.meta.url);
let bindingModule: BindingModule | undefined;

function binding(): BindingModule {
  if (!bindingModule) {
    const m = require('onnxruntime-node/dist/binding.js') as Partial<BindingModule>;
    if (typeof m.initOrt !== 'function' || typeof m.binding?.InferenceSession !== 'function') {
      throw new Error('onnxruntime-node/dist/binding.js does not have the shape of onnxruntime-node 1.30.0 (initOrt, binding.InferenceSession); install the version package.json pins');
    }
    bindingModule = m as BindingModule;
  }
  return bindingModule;
}

/** The onnxruntime-node version installed. */
export function ortVersion(): string {
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}

/** Folder of the native libraries (where a CUDA provider library must be, if installed). */
export function ortBinDir(): string {
  return path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
}

/** Whether the CUDA provider's library was installed next to the runtime (see README, "Run on a GPU"). */
export function cudaProviderInstalled(): boolean {
  return existsSync(path.join(ortBinDir(), 'libonnxruntime_providers_cuda.so'));
}

/** Native sessions open in this thread (leak checks). */
let openSessions = 0;
export function openOrtSessions(): number {
  return openSessions;
}

/** ORT's provider names, for logs. */
export const PROVIDER_NAMES: Readonly<Record<OrtProvider, string>> = Object.freeze({ cpu: 'CPUExecutionProvider', webgpu: 'WebGpuExecutionProvider', cuda: 'CUDAExecutionProvider' });

export class OrtSession {
  private closed = false;

  private constructor(
    private readonly native: BindingSession,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  /** Creates the session; throws (with ORT's reason) when the provider cannot initialise. */
  static create(model: Uint8Array, opts: OrtSessionOptions): OrtSession {
    const b = binding();
    b.initOrt();
    const native = new b.binding.InferenceSession();
    const options = {
      executionProviders: [opts.provider],
      intraOpNumThreads: opts.threads,
      // One op at a time: the worker pool, not ORT, runs frames in parallel.
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Errors only: a provider that fails to start is reported once, by the caller.
      logSeverityLevel: 3,
    };
    const copy = new Uint8Array(model); // the binding reads the buffer during loadModel only; a private copy keeps that true
    native.loadModel(copy.buffer, copy.byteOffset, copy.byteLength, options);
    openSessions++;
    return new OrtSession(native, native.inputMetadata.map((m) => m.name), native.outputMetadata.map((m) => m.name));
  }

  /** Runs the graph: feeds by input name; returns every output's data and dims. */
  run(feeds: Readonly<Record<string, { type: 'uint8' | 'float32'; data: Uint8Array | Float32Array; dims: readonly number[] }>>): Record<string, { data: Float32Array; dims: readonly number[] }> {
    if (this.closed) throw new Error('ONNX Runtime session used after dispose()');
    const tensors: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(feeds)) tensors[k] = new ort.Tensor(v.type, v.data, [...v.dims]);
    const fetches: Record<string, null> = {};
    for (const n of this.outputNames) fetches[n] = null;
    const out = this.native.run(tensors, fetches, {});
    const result: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
    for (const n of this.outputNames) {
      const t = out[n];
      if (!t || !(t.data instanceof Float32Array)) throw new Error(`ONNX Runtime returned no float32 output "${n}"`);
      result[n] = { data: t.data, dims: t.dims };
    }
    return result;
  }

  /** Frees the native session. Idempotent. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    openSessions--;
    this.native.dispose();
  }
}
