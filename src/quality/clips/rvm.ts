/**
 * Robust Video Matting (models/rvm.*, GPL-3.0, fetched as an optional model) run on a still
 * photo to cut a person out once. Its alpha then DEFINES the ground truth of the quality clips,
 * so it only has to look right, not be "correct".
 *
 * RVM is recurrent: on the first pass over a frame its state is empty and the alpha is rough;
 * feeding the same image again with the returned state lets it converge. Measured on messi5,
 * the portrait and the walker: mean |Δalpha| per pixel between passes 1→2 is 0.7–1.0 levels
 * of 255, 3→4 is 0.1–0.24, 4→5 is 0.08–0.17; 4 passes are used.
 *
 * ModelStore.ioHandler() is typed for the engine's models only, so the graph is loaded here
 * from the sha256-verified files directly. Uses the tf backend selected by the caller
 * (default: selects wasm, which needs no native library).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../inference/backend.js';
import { ModelStore } from '../../inference/modelStore.js';
import { projectRoot } from '../../paths.js';
import type { TfBackendName } from '../../inference/types.js';
import { sha256Hex } from './imageIo.js';

/** The matting model could not be loaded or returned something unexpected. */
export class MattingError extends Error {
  override readonly name = 'MattingError';
}

export interface Matte {
  readonly width: number;
  readonly height: number;
  /** Coverage 0..255, width × height. */
  readonly alpha: Uint8Array;
  /**
   * RVM's foreground colour estimate, RGB: the person's colour with the original background
   * removed from semi-transparent pixels (hair), so it composites onto a new background
   * without a halo of the old one.
   */
  readonly fgr: Uint8Array;
}

export interface MatteOptions {
  /** Passes over the same image, feeding the recurrent state back (default 4). */
  readonly iterations?: number;
  /**
   * Resolution of RVM's coarse pass relative to the input (default 0.5). Lower for large
   * inputs: RVM's README recommends a downsampled size of about 256–512 px.
   */
  readonly downsampleRatio?: number;
}

interface GraphJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  signature?: object;
}

/** Output nodes, in the order executeAsync returns them: fgr, pha, r1o..r4o. */
const OUTPUTS = ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0', 'Identity_4:0', 'Identity_5:0'];

export class RvmMatter {
  private disposed = false;

  private constructor(
    private readonly model: tf.GraphModel,
    /** sha256 of rvm.json + rvm.bin as read. */
    readonly modelSha: string,
  ) {}

  /**
   * Identity of the weights for cache keys, from the sha256s models/manifest.json pins (what
   * load() verifies): cached cut-outs stay usable without reading 4 MB, and even when the
   * optional model was not installed.
   */
  static manifestKey(manifestPath = path.join(projectRoot(), 'models', 'manifest.json')): string {
    let entries: { id: string; files: { dest: string; sha256: string }[] }[];
    try {
      entries = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { entries: typeof entries }).entries;
    } catch (e) {
      throw new MattingError(`cannot read ${manifestPath}: ${(e as Error).message}`);
    }
    const rvm = entries?.find((e) => e.id === 'rvm');
    if (!rvm) throw new MattingError(`${manifestPath} has no "rvm" entry`);
    return sha256Hex(rvm.files.map((f) => `${f.dest}:${f.sha256}`).join(','));
  }

  /**
   * Loads RVM. `backend`: the tf backend to select first (default 'wasm'), or 'current' to keep
   * whatever the caller already selected in this thread.
   */
  static async load(opts: { store?: ModelStore; backend?: TfBackendName | 'current' } = {}): Promise<RvmMatter> {
    const store = opts.store ?? ModelStore.open();
    const { json, weights, sha } = RvmMatter.readFiles(store);
    if ((opts.backend ?? 'wasm') !== 'current') await selectBackend((opts.backend ?? 'wasm') as TfBackendName);
    if (json.weightsManifest?.length !== 1) throw new MattingError(`rvm.json has ${json.weightsManifest?.length} weight groups; expected exactly 1 (rvm.bin)`);
    const model = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0]!.weights,
        // A Buffer may be a view into a larger pooled ArrayBuffer: copy out exactly the file.
        weightData: new Uint8Array(weights).buffer,
        format: json.format,
        signature: json.signature,
      }),
    );
    return new RvmMatter(model, sha);
  }

  private static readFiles(store: ModelStore): { json: GraphJson; weights: Buffer; sha: string } {
    // verifiedPath checks each file's sha256 against models/manifest.json (throws with the fix).
    const jsonPath = store.verifiedPath('rvm.json');
    const binPath = store.verifiedPath('rvm.bin');
    const jsonText = readFileSync(jsonPath, 'utf8');
    const weights = readFileSync(binPath);
    const sha = sha256Hex(sha256Hex(jsonText) + ':' + sha256Hex(weights));
    return { json: JSON.parse(jsonText) as GraphJson, weights, sha };
  }

  /** Mattes one RGB image (3 bytes/px). Leaves no tensors behind. */
  async matte(rgb: Uint8Array, width: number, height: number, o: MatteOptions = {}): Promise<Matte> {
    if (this.disposed) throw new MattingError('RvmMatter used after dispose()');
    if (rgb.length !== width * height * 3) throw new MattingError(`image has ${rgb.length} bytes, expected ${width}×${height}×3`);
    const iterations = o.iterations ?? 4;
    const src = tf.tidy(() => tf.tensor4d(rgb, [1, height, width, 3], 'int32').toFloat().div(255));
    const ratio = tf.scalar(o.downsampleRatio ?? 0.5);
    let state: tf.Tensor[] = [tf.scalar(0), tf.scalar(0), tf.scalar(0), tf.scalar(0)];
    let fgr: tf.Tensor | undefined;
    let pha: tf.Tensor | undefined;
    try {
      for (let i = 0; i < iterations; i++) {
        const [r1i, r2i, r3i, r4i] = state;
        const out = (await this.model.executeAsync({ src, r1i: r1i!, r2i: r2i!, r3i: r3i!, r4i: r4i!, downsample_ratio: ratio }, OUTPUTS)) as tf.Tensor[];
        tf.dispose([...state, fgr, pha].filter((t): t is tf.Tensor => t !== undefined));
        [fgr, pha] = out;
        state = out.slice(2);
      }
      if (!pha || !fgr || pha.shape.join() !== [1, height, width, 1].join() || fgr.shape.join() !== [1, height, width, 3].join()) {
        throw new MattingError(`rvm returned pha ${pha?.shape} and fgr ${fgr?.shape} for a ${width}×${height} input`);
      }
      const a = await pha.data();
      const f = await fgr.data();
      const alpha = new Uint8Array(width * height);
      const fg = new Uint8Array(width * height * 3);
      for (let i = 0; i < alpha.length; i++) alpha[i] = to8(a[i]!);
      for (let i = 0; i < fg.length; i++) fg[i] = to8(f[i]!);
      return { width, height, alpha, fgr: fg };
    } finally {
      tf.dispose([src, ratio, ...state, fgr, pha].filter((t): t is tf.Tensor => t !== undefined));
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

function to8(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
}
