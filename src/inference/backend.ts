/**
 * Picks the TF.js backend for this thread (the tf engine is per thread: the inference worker
 * calls this once before loading a model). Never downloads anything: the native backends are
 * optional npm dependencies that are either installed or not, and the wasm binaries are read
 * from the installed @tensorflow/tfjs-backend-wasm package on disk.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendAttempt, BackendName } from './types.js';

/** Order tried by 'auto': fastest first. */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendSelection {
  /** The backend now active in this thread's tf engine. */
  readonly backend: BackendName;
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
  'tensorflow-gpu': 'install the optional dependency @tensorflow/tfjs-node-gpu (needs CUDA + cuDNN) or use --backend auto',
  tensorflow: 'install @tensorflow/tfjs-node or use --backend auto',
  wasm: 'reinstall @tensorflow/tfjs-backend-wasm (npm install) or use --backend cpu',
  cpu: 'reinstall @tensorflow/tfjs (npm install)',
};

/**
 * Activates `pref` (or, for 'auto', the first of AUTO_ORDER that initialises). An explicit
 * choice that fails throws BackendUnavailableError naming the reason and the remedy.
 */
export async function selectBackend(pref: 'auto' | BackendName): Promise<BackendSelection> {
  const order = pref === 'auto' ? AUTO_ORDER : [pref];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    const reason = await tryBackend(name);
    attempts.push(reason === undefined ? { backend: name, ok: true } : { backend: name, ok: false, reason });
    if (reason === undefined) return { backend: name, attempts };
  }
  const detail = attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ');
  if (pref === 'auto') throw new BackendUnavailableError(`no TF.js backend could be initialised (${detail})`, attempts);
  throw new BackendUnavailableError(`backend "${pref}" is not available here: ${attempts[0]?.reason}. Fix: ${REMEDY[pref]}`, attempts);
}

/** undefined when `name` is now the active backend, else the reason it is not. */
async function tryBackend(name: BackendName): Promise<string | undefined> {
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
async function register(name: BackendName): Promise<string> {
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
